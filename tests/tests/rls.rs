//! PostgreSQL row-level security, tested as a role that is not a superuser,
//! lacks BYPASSRLS and owns no table.
//!
//! PostgreSQL only, on purpose: MySQL/MariaDB has no row-level security, so
//! there the builders' tenant predicate is the only layer. The same suites
//! run on MySQL without it in isolation.rs (as a DML-only user), and the
//! cancellation harness checks its connections in cancellation.rs.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Executor as _, Row};
use tenant_core::prelude::*;
use tenant_tests::PgTestDb;
use tenant_tests::models::{self, Customer, Invoice, NewInvoice};
use tenant_tests::suites::*;

#[tokio::test]
async fn isolation_suite_with_rls() {
    let (_pg, db, _) = postgres_rls_db(4).await;
    assert!(db.uses_rls());
    isolation_suite(&db).await;
}

#[tokio::test]
async fn transaction_suite_with_rls() {
    transaction_suite(&postgres_rls_db(4).await.1).await;
}

#[tokio::test]
async fn global_models_and_column_types_with_rls() {
    global_and_types_suite(&postgres_rls_db(4).await.1).await;
}

#[tokio::test]
async fn paging_and_conditions_with_rls() {
    paging_suite(&postgres_rls_db(4).await.1).await;
}

async fn seed(db: &TenantDb) {
    for tenant in ["acme", "globex"] {
        let s = scope(tenant);
        for amount in [100, 200, 300] {
            Invoice::insert(
                &s,
                NewInvoice {
                    amount_cents: amount,
                    customer_email: format!("{tenant}@example.com"),
                },
            )
            .execute(db)
            .await
            .expect("seed");
        }
    }
}

/// A customer of the shared test models with key `id` and e-mail `email`.
fn customer(id: uuid::Uuid, email: &str) -> models::NewCustomer {
    models::NewCustomer {
        id,
        email: email.to_owned(),
        status: models::Status::Active,
        score: 0.5,
        active: true,
        note: None,
        metadata: serde_json::json!({}),
        visits: None,
    }
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

/// What an unscoped query on this pool sees: the setting and the rows.
async fn assert_no_leftover(pool: &PgPool, when: &str) {
    let mut conn = pool.acquire().await.expect("acquire");
    let setting: Option<String> =
        sqlx::query_scalar("SELECT current_setting('app.tenant_id', true)")
            .fetch_one(&mut *conn)
            .await
            .expect("current_setting");
    assert!(
        setting.as_deref().unwrap_or("").is_empty(),
        "{when}: app.tenant_id survived on the pooled connection: {setting:?}"
    );
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    assert_eq!(visible, 0, "{when}: an unscoped query saw rows");
}

async fn assert_only(db: &TenantDb, tenant: &str, when: &str) {
    let rows = Invoice::query(&scope(tenant))
        .fetch_all(db)
        .await
        .expect("list");
    assert!(!rows.is_empty(), "{when}: {tenant} sees none of its rows");
    assert!(
        rows.iter().all(|r| r.tenant_id.as_str() == tenant),
        "{when}: {tenant} saw {rows:?}"
    );
}

#[tokio::test]
async fn raw_sql_is_confined_by_the_policies() {
    let (pg, db, role) = postgres_rls_db(2).await;
    seed(&db).await;
    let raw = pg.pool_as(&role, 1).await;

    // No tenant set: nothing, from every tenant table, and no error.
    assert_eq!(count(&raw, "SELECT count(*) FROM invoices").await, 0);
    assert_eq!(count(&raw, "SELECT count(*) FROM customers").await, 0);
    // '' (the value a setting falls back to after a transaction), or junk:
    // nothing, and no error.
    for junk in ["", "not-a-tenant", "' OR 1=1 --"] {
        let mut conn = raw.acquire().await.expect("acquire");
        sqlx::query("SELECT set_config('app.tenant_id', $1, false)")
            .bind(junk)
            .execute(&mut *conn)
            .await
            .expect("set");
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices")
            .fetch_one(&mut *conn)
            .await
            .expect("count");
        assert_eq!(n, 0, "setting {junk:?} showed rows");
        conn.close()
            .await
            .expect("close the session-level setting away");
    }

    // Tenant A set: only A's rows; writes for B are rejected or touch nothing.
    let mut tx = raw.begin().await.expect("begin");
    tx.execute("SELECT set_config('app.tenant_id', 'acme', true)")
        .await
        .expect("set");
    let tenants: Vec<String> = sqlx::query_scalar("SELECT DISTINCT tenant_id FROM invoices")
        .fetch_all(&mut *tx)
        .await
        .expect("select");
    assert_eq!(tenants, ["acme"]);
    let updated = sqlx::query("UPDATE invoices SET amount_cents = 0 WHERE tenant_id = 'globex'")
        .execute(&mut *tx)
        .await
        .expect("update")
        .rows_affected();
    assert_eq!(updated, 0);
    let deleted = sqlx::query("DELETE FROM invoices WHERE tenant_id = 'globex'")
        .execute(&mut *tx)
        .await
        .expect("delete")
        .rows_affected();
    assert_eq!(deleted, 0);
    let sp = sqlx::query("SAVEPOINT s").execute(&mut *tx).await;
    sp.expect("savepoint");
    let insert = sqlx::query(
        "INSERT INTO invoices (tenant_id, amount_cents, customer_email) VALUES ('globex', 1, 'x')",
    )
    .execute(&mut *tx)
    .await;
    let err = insert.expect_err("insert for another tenant must be rejected");
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.execute("ROLLBACK TO SAVEPOINT s")
        .await
        .expect("rollback to");
    let moved = sqlx::query("UPDATE invoices SET tenant_id = 'globex' WHERE tenant_id = 'acme'")
        .execute(&mut *tx)
        .await;
    let err = moved.expect_err("moving a row to another tenant must be rejected");
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.expect("rollback");

    // Nothing changed for B.
    assert_eq!(
        Invoice::query(&scope("globex"))
            .count(&db)
            .await
            .expect("count"),
        3
    );
}

/// A pool of one connection: whatever tenant A's work does to it, tenant B
/// and an unscoped query on the same connection see no A rows afterwards.
#[tokio::test]
async fn no_tenant_setting_survives_on_a_pooled_connection() {
    let (pg, _, role) = postgres_rls_db(1).await;
    let pool = pg.pool_as(&role, 1).await;
    let db = TenantDb::postgres_with_rls(pool.clone());
    seed(&db).await;
    let a = scope("acme");

    // commit
    let mut tx = db.begin(&a).await.expect("begin");
    Invoice::query(&a).fetch_all(&mut tx).await.expect("read");
    tx.commit().await.expect("commit");
    assert_no_leftover(&pool, "after commit").await;
    assert_only(&db, "globex", "after commit").await;

    // rollback
    let mut tx = db.begin(&a).await.expect("begin");
    Invoice::update(&a)
        .set(Invoice::AMOUNT_CENTS, 1)
        .execute(&mut tx)
        .await
        .expect("update");
    tx.rollback().await.expect("rollback");
    assert_no_leftover(&pool, "after rollback").await;
    assert_only(&db, "globex", "after rollback").await;

    // an error inside the transaction, then the transaction dropped: two
    // customers of A, the second renamed to the first's e-mail (unique per
    // tenant)
    let second = uuid::Uuid::from_u128(2);
    for (id, email) in [(1, "first@acme.example"), (2, "second@acme.example")] {
        Customer::insert(&a, customer(uuid::Uuid::from_u128(id), email))
            .execute(&db)
            .await
            .expect("customer");
    }
    let mut tx = db.begin(&a).await.expect("begin");
    let failed = Customer::query(&a)
        .filter(Customer::ID.eq(uuid::Uuid::nil()))
        .fetch_one(&mut tx)
        .await;
    assert!(matches!(failed, Err(Error::NotFound)));
    let broken = Customer::update(&a)
        .set(Customer::EMAIL, "first@acme.example") // duplicate key (acme, email)
        .filter(Customer::ID.eq(second))
        .execute(&mut tx)
        .await;
    assert!(broken.is_err(), "{broken:?}");
    drop(tx);
    assert_no_leftover(&pool, "after an error").await;
    assert_only(&db, "globex", "after an error").await;

    // one-statement reads and writes that fail
    let dup = Customer::update(&a)
        .set(Customer::EMAIL, "first@acme.example")
        .filter(Customer::ID.eq(second))
        .execute(&db)
        .await;
    assert!(dup.is_err(), "{dup:?}");
    assert_no_leftover(&pool, "after a failed write").await;

    // futures dropped mid-query: the owner holds a lock the query waits for
    for in_transaction in [false, true] {
        let mut lock = pg.owner.begin().await.expect("owner tx");
        lock.execute("LOCK TABLE invoices IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");
        let work = async {
            if in_transaction {
                let mut tx = db.begin(&a).await?;
                Invoice::query(&a).fetch_all(&mut tx).await?;
                tx.commit().await
            } else {
                Invoice::query(&a).fetch_all(&db).await.map(drop)
            }
        };
        let timed_out = tokio::time::timeout(Duration::from_millis(300), work).await;
        assert!(timed_out.is_err(), "the query should have been blocked");
        lock.rollback().await.expect("release");
        let when = if in_transaction {
            "after a dropped transaction"
        } else {
            "after a dropped read"
        };
        assert_no_leftover(&pool, when).await;
        assert_only(&db, "globex", when).await;
    }

    // a freshly opened connection
    let fresh = pg.pool_as(&role, 1).await;
    assert_no_leftover(&fresh, "on a fresh connection").await;
}

/// 2 000 interleaved operations from 8 tenants over 4 connections: every row
/// any of them gets back is its own.
#[tokio::test]
async fn concurrent_tenants_only_ever_see_their_own_rows() {
    let (_pg, db, _) = postgres_rls_db(4).await;
    let tenants: Vec<String> = (0..8).map(|i| format!("tenant-{i}")).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (t, tenant) in tenants.iter().enumerate() {
        let db = db.clone();
        let s = scope(tenant);
        tasks.spawn(async move {
            let mut rows_checked = 0usize;
            let mut mine = Vec::new();
            for op in 0..250usize {
                match (op + t) % 5 {
                    0 | 1 => {
                        let row = Invoice::insert(
                            &s,
                            NewInvoice {
                                amount_cents: op as i64,
                                customer_email: format!("{op}@{}", s.tenant_id()),
                            },
                        )
                        .fetch_one(&db)
                        .await
                        .expect("insert");
                        assert_eq!(&row.tenant_id, s.tenant_id());
                        mine.push(row.id);
                        rows_checked += 1;
                    }
                    2 => {
                        let rows = Invoice::query(&s)
                            .order_by(Invoice::ID.desc())
                            .limit(20)
                            .fetch_all(&db)
                            .await
                            .expect("list");
                        assert!(
                            rows.iter().all(|r| &r.tenant_id == s.tenant_id()),
                            "{rows:?}"
                        );
                        rows_checked += rows.len();
                    }
                    3 => {
                        if let Some(id) = mine.last() {
                            let row = Invoice::find(&s, *id)
                                .fetch_one(&db)
                                .await
                                .expect("find own");
                            assert_eq!(&row.tenant_id, s.tenant_id());
                            rows_checked += 1;
                        }
                    }
                    _ => {
                        let n = Invoice::update(&s)
                            .increment(Invoice::AMOUNT_CENTS, 1)
                            .filter(
                                Invoice::ID
                                    .is_in(mine.iter().rev().take(3).copied().collect::<Vec<_>>()),
                            )
                            .execute(&db)
                            .await
                            .expect("update");
                        assert!(n <= 3);
                    }
                }
            }
            let count = Invoice::query(&s).count(&db).await.expect("count");
            assert_eq!(count as usize, mine.len());
            rows_checked
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done.expect("task");
    }
    assert!(total > 2_000, "only {total} rows were checked");
}

async fn pool_with_plan_cache_mode(pg: &PgTestDb, role: &str, mode: &'static str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(format!("SET plan_cache_mode = {mode}")))
                    .await
                    .map(drop)
            })
        })
        .connect_with(pg.options_for(role))
        .await
        .expect("pool")
}

/// The one-statement read must run `set_config` before the scan under both
/// plan-cache modes; otherwise the policy sees no tenant and A's reads come
/// back empty.
#[tokio::test]
async fn one_statement_reads_hold_under_generic_and_custom_plans() {
    let (pg, db, role) = postgres_rls_db(1).await;
    seed(&db).await;
    for mode in ["force_generic_plan", "force_custom_plan"] {
        let db = TenantDb::postgres_with_rls(pool_with_plan_cache_mode(&pg, &role, mode).await);
        for round in 0..8 {
            for tenant in ["acme", "globex"] {
                let s = scope(tenant);
                let rows = Invoice::query(&s)
                    .filter(Invoice::AMOUNT_CENTS.ge(100))
                    .order_by(Invoice::AMOUNT_CENTS.desc())
                    .limit(50)
                    .fetch_all(&db)
                    .await
                    .expect("list");
                assert_eq!(rows.len(), 3, "{mode}, round {round}, {tenant}");
                assert!(rows.iter().all(|r| r.tenant_id.as_str() == tenant));
                let amounts: Vec<i64> = rows.iter().map(|r| r.amount_cents).collect();
                assert_eq!(amounts, [300, 200, 100], "ordering survives the wrapping");
                let one = Invoice::find(&s, rows[0].id)
                    .fetch_one(&db)
                    .await
                    .expect("find");
                assert_eq!(one, rows[0]);
                assert_eq!(Invoice::query(&s).count(&db).await.expect("count"), 3);
            }
        }
    }
}

/// EXPLAIN of the find-by-id statement: the tenant comes from the LATERAL
/// source, the table is reached through an index on `tenant_id`, and the
/// policy's `current_setting` is an initplan, not a per-row call.
#[tokio::test]
async fn explain_shows_the_lateral_order_and_an_index_condition() {
    let (pg, db, role) = postgres_rls_db(1).await;
    seed(&db).await;
    pg.execute_script("ANALYZE invoices").await;
    let sql = Invoice::find(&scope("acme"), 1).to_rls_sql();
    for mode in ["force_generic_plan", "force_custom_plan"] {
        let pool = pool_with_plan_cache_mode(&pg, &role, mode).await;
        let mut conn = pool.acquire().await.expect("acquire");
        conn.execute("SET enable_seqscan = off").await.expect("set");
        conn.execute(sqlx::AssertSqlSafe(format!(
            "PREPARE find(text, bigint) AS {sql}"
        )))
        .await
        .expect("prepare");
        let plan: Vec<String> = sqlx::query("EXPLAIN (COSTS OFF, VERBOSE) EXECUTE find('acme', 1)")
            .fetch_all(&mut *conn)
            .await
            .expect("explain")
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        let text = plan.join("\n");
        println!("{mode}:\n{text}\n");
        // The nested loop runs its outer side first: the Result computing
        // set_config; the policy's initplan and the index scan sit on the
        // inner side and read the tenant through the nested-loop parameter.
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{mode}: no {needle:?} in\n{text}"))
        };
        assert!(
            text.trim_start().starts_with("Nested Loop"),
            "{mode}:\n{text}"
        );
        let set = at("Output: set_config('app.tenant_id'::text");
        let init = at("InitPlan");
        let policy = at("Output: current_setting('app.tenant_id'::text, true)");
        let index = at("Index Cond: ((invoices.tenant_id = ");
        assert!(
            set < init && init < policy && policy < index,
            "{mode}:\n{text}"
        );
        assert!(!text.contains("Seq Scan"), "{mode}:\n{text}");
    }
}

#[test]
fn policy_uses_the_setting_the_builders_set() {
    let ddl = models::postgres_policies();
    assert!(ddl.contains("current_setting('app.tenant_id', true)"));
    assert!(!ddl.contains("IS NULL"));
    let sql = Invoice::find(&scope("acme"), 1).to_rls_sql();
    assert!(
        sql.contains(&format!(
            "set_config('{}', $1, true)",
            tenant_core::rls::TENANT_SETTING
        )),
        "{sql}"
    );
}
