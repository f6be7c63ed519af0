//! MySQL/MariaDB on loopback: every workload with the framework and
//! hand-written sqlx (the framework's SQL text, same pool, binds in the same
//! order), and sea-orm (same data, its own pool).
//!
//! Runs in a throwaway database as a user with only SELECT, INSERT, UPDATE
//! and DELETE; the database and user are dropped at the end.
//! `TENANT_BENCH_MODE=paired` writes `mysql.jsonl`.

#[macro_use]
mod common;

use common::{Sqls, Workload};
use sqlx::mysql::MySqlPoolOptions;
use tenant_benches::{paired, results};
use tenant_core::{Backend, TenantDb};
use tenant_tests::MyTestDb;

fn main() {
    let rt = common::runtime();
    let mut c = common::criterion();
    let mut records = Vec::new();

    let mut test_db = rt.block_on(MyTestDb::create());
    rt.block_on(test_db.execute_script(tenant_benches::data::MYSQL_SCHEMA));
    let user = rt.block_on(test_db.create_app_user());
    let pool = rt
        .block_on(
            MySqlPoolOptions::new()
                .max_connections(2)
                .min_connections(1)
                .test_before_acquire(false)
                .connect_with(test_db.options_for(&user)),
        )
        .expect("connect as the application user");
    let db = TenantDb::mysql(pool.clone());
    let sqls = Sqls::for_backend(Backend::MySql);

    for w in Workload::selected() {
        let contenders = vec![common::framework(w, &db), sqlx_contender!(w, &pool, sqls)];
        paired::measure(&mut c, &rt, &mut records, "mysql", &w.name(), contenders);
    }
    results::save("mysql", &records);
    c.final_summary();
    rt.block_on(pool.close());
    drop(test_db);
}
