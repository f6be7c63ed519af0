//! Heap allocations per call of the builder-only work (see `builder.rs`),
//! counted with a counting global allocator (kept out of the timing benches,
//! where it would cost time). Writes `builder_allocs.jsonl`.

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tenant_benches::builders::{self, Backend, HandSql, Workload};
use tenant_benches::model::{READ_TENANT, scope};
use tenant_benches::results::{self, Record};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const CALLS: u64 = 1000;

fn count(mut f: impl FnMut(u64)) -> (f64, f64) {
    f(0); // first-call effects (lazy statics) are not per call
    let region = Region::new(GLOBAL);
    for k in 1..=CALLS {
        f(k);
    }
    let stats = region.change();
    (
        stats.allocations as f64 / CALLS as f64,
        stats.bytes_allocated as f64 / CALLS as f64,
    )
}

fn main() {
    let scope = scope(READ_TENANT);
    let sql = HandSql::new(&scope);
    let mut records = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        for w in Workload::ALL {
            let name = format!("{}_{}", w.name(), backend.name());
            let runs: [(&str, (f64, f64)); 2] = [
                (
                    "framework",
                    count(|k| builders::framework(w, backend, &scope, k)),
                ),
                (
                    "sqlx",
                    count(|k| builders::hand_written(w, backend, &sql, k)),
                ),
            ];
            for (contender, (allocs, bytes)) in runs {
                eprintln!(
                    "{name:<18} {contender:<10} {allocs:>5.1} allocations {bytes:>7.1} bytes per call"
                );
                records.push(Record {
                    suite: "allocs".into(),
                    workload: name.clone(),
                    contender: contender.into(),
                    median_ns: 0.0,
                    p25_ns: 0.0,
                    p75_ns: 0.0,
                    reference: "framework".into(),
                    ratio_to_reference: 0.0,
                    rounds: 1,
                    batch: CALLS,
                    extra: serde_json::json!({ "allocations": allocs, "bytes": bytes }),
                });
            }
        }
    }
    results::save("builder_allocs", &records);
}
