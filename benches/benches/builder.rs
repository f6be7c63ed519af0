//! Builder-only cost: building each workload's SQL and bound arguments
//! without running it, framework (`Prepare`) against the arguments that
//! hand-written `sqlx::query(..).bind(..)` collects, side by side, in ns per
//! call. `TENANT_BENCH_MODE=paired` writes `builder.jsonl`.

#[macro_use]
mod common;

use tenant_benches::builders::{self, Backend, HandSql, Workload};
use tenant_benches::model::{READ_TENANT, scope};
use tenant_benches::{contender, paired, results};

fn main() {
    let rt = common::runtime();
    let mut c = common::criterion();
    let mut records = Vec::new();
    let scope = scope(READ_TENANT);
    let sql = HandSql::new(&scope);
    for backend in [Backend::Sqlite, Backend::Postgres] {
        for w in Workload::ALL {
            let (scope, sql) = (&scope, &sql);
            let mut fk = common::Counter::new();
            let mut hk = common::Counter::new();
            let contenders = vec![
                contender("framework", move |n| {
                    for k in fk.take(n) {
                        builders::framework(w, backend, scope, k);
                    }
                    std::future::ready(())
                }),
                contender("sqlx", move |n| {
                    for k in hk.take(n) {
                        builders::hand_written(w, backend, sql, k);
                    }
                    std::future::ready(())
                }),
            ];
            let name = format!("{}_{}", w.name(), backend.name());
            paired::measure(&mut c, &rt, &mut records, "builder", &name, contenders);
        }
    }
    results::save("builder", &records);
    c.final_summary();
}
