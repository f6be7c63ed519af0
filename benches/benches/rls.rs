//! Row-level-security mode against the explicit predicate alone, side by
//! side: the same non-owner role (no BYPASSRLS), the same data, in two
//! schemas of one throwaway database. `rls_on.invoices` has the policies of
//! `tenant_core::rls::policy_sql` and is queried through
//! `TenantDb::postgres_with_rls`; `rls_off.invoices` has none and is queried
//! through `TenantDb::postgres`. `TENANT_BENCH_MODE=paired` writes
//! `rls.jsonl` (ratio = RLS mode / plain).

#[macro_use]
mod common;

use common::Workload;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tenant_benches::model::{Invoice, READ_TENANT, scope};
use tenant_benches::{data, paired, results};
use tenant_core::TenantDb;
use tenant_tests::PgTestDb;

async fn pool(test_db: &PgTestDb, role: &str, schema: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .min_connections(1)
        .test_before_acquire(false)
        .connect_with(test_db.options_for(role).options([("search_path", schema)]))
        .await
        .expect("connect as the application role")
}

fn main() {
    let rt = common::runtime();
    let mut c = common::criterion();
    let mut records = Vec::new();

    let mut test_db = rt.block_on(PgTestDb::create());
    let policies = tenant_core::rls::policy_sql::<Invoice>();
    rt.block_on(test_db.execute_script(&format!(
        "CREATE SCHEMA rls_on; CREATE SCHEMA rls_off;
         SET search_path = rls_on; {schema} {policies}
         SET search_path = rls_off; {schema}
         RESET search_path;",
        schema = data::POSTGRES_SCHEMA,
    )));
    rt.block_on(test_db.execute_script("VACUUM ANALYZE rls_on.invoices, rls_off.invoices"));
    rt.block_on(test_db.execute_script(&data::no_fsync_wait(test_db.name())));
    let role = rt.block_on(test_db.create_app_role());
    rt.block_on(test_db.execute_script(&format!(
        "GRANT USAGE ON SCHEMA rls_on, rls_off TO \"{role}\";
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA rls_on, rls_off TO \"{role}\";
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA rls_on, rls_off TO \"{role}\";"
    )));
    let rls_pool = rt.block_on(pool(&test_db, &role, "rls_on"));
    let plain_pool = rt.block_on(pool(&test_db, &role, "rls_off"));
    let rls = TenantDb::postgres_with_rls(rls_pool.clone());
    let plain = TenantDb::postgres(plain_pool.clone());

    // The policies are really in force: without the tenant setting the
    // protected table shows nothing, with it the row is there.
    rt.block_on(async {
        let read = scope(READ_TENANT);
        let id = data::read_id(0);
        let unset = TenantDb::postgres(rls_pool.clone());
        let hidden = Invoice::find(&read, id).fetch_optional(&unset).await;
        assert!(hidden.expect("find").is_none(), "RLS is not in force");
        let seen = Invoice::find(&read, id).fetch_optional(&rls).await;
        assert!(seen.expect("find").is_some());
        let seen = Invoice::find(&read, id).fetch_optional(&plain).await;
        assert!(seen.expect("find").is_some());
    });

    {
        let read = scope(READ_TENANT);
        let list = Invoice::query(&read)
            .filter(Invoice::AMOUNT_CENTS.gt(tenant_benches::model::LIST_MIN_AMOUNT))
            .order_by(Invoice::ID.desc())
            .limit(50);
        eprintln!("RLS find:   {}", Invoice::find(&read, 1).to_rls_sql());
        eprintln!("RLS list50: {}", list.to_rls_sql());
        eprintln!(
            "RLS count:  {}",
            <Invoice as tenant_core::Model>::sql(tenant_core::Backend::Postgres).rls_count
        );
    }

    let workloads = [
        Workload::Find,
        Workload::List(50),
        Workload::Count,
        Workload::Insert,
        Workload::Update,
    ];
    let only = std::env::var("TENANT_BENCH_ONLY").ok();
    for w in workloads {
        if only
            .as_deref()
            .is_some_and(|only| !only.split(',').any(|name| name == w.name()))
        {
            continue;
        }
        let mut reference = common::framework(w, &plain);
        reference.name = "plain";
        let mut candidate = common::framework(w, &rls);
        candidate.name = "rls";
        paired::measure(
            &mut c,
            &rt,
            &mut records,
            "rls",
            &w.name(),
            vec![reference, candidate],
        );
    }
    results::save("rls", &records);
    c.final_summary();
    rt.block_on(rls_pool.close());
    rt.block_on(plain_pool.close());
    drop(test_db);
}
