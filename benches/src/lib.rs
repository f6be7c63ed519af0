//! Shared pieces of the benchmarks: the benchmark model, its schemas and seed
//! data, and the paired runner that measures contenders side by side.
//!
//! Every bench target (`benches/*.rs`) builds a list of [`Contender`]s per
//! workload (the same query written with this framework, hand-written sqlx,
//! sea-orm, rusqlite or tokio-postgres) and hands it either to criterion
//! (the default under `cargo bench`) or, with `TENANT_BENCH_MODE=paired`, to
//! [`paired::run`], which alternates the contenders round by round and writes
//! medians and paired ratios to a JSON-lines file that `bench-summary`
//! turns into the markdown table of `docs/benchmarks.md`.

pub mod builders;
pub mod data;
pub mod model;
pub mod paired;
pub mod results;

pub use paired::{Contender, Settings, contender};
