//! Result files: one JSON object per line, one file per bench target, in
//! `TENANT_BENCH_RESULTS` (default `target/bench-results` of the workspace).

use std::io::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One contender on one workload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// `sqlite`, `postgres`, `rls`, `builder`, `scale`, `compile` ...
    pub suite: String,
    /// `find`, `list50` ...
    pub workload: String,
    /// `framework`, `sqlx`, `sea-orm` ...
    pub contender: String,
    /// Median time per operation, ns (for `compile`: ms per build).
    pub median_ns: f64,
    /// First quartile (for `scale`: p50 latency, ns).
    pub p25_ns: f64,
    /// Third quartile (for `scale`: p99 latency, ns).
    pub p75_ns: f64,
    /// The contender the ratio is relative to.
    pub reference: String,
    /// Median over rounds of this contender's time over the reference's.
    pub ratio_to_reference: f64,
    /// Rounds (or samples) measured.
    pub rounds: usize,
    /// Operations per batch.
    pub batch: u64,
    /// Anything else (allocation counts, plans ...).
    #[serde(default)]
    pub extra: serde_json::Value,
}

/// The results directory.
pub fn dir() -> PathBuf {
    std::env::var_os("TENANT_BENCH_RESULTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/bench-results"
            ))
        })
}

/// Writes `records` to `<dir>/<name>.jsonl`, replacing an earlier run's.
/// Nothing is written when `records` is empty (criterion mode).
pub fn save(name: &str, records: &[Record]) {
    if records.is_empty() {
        return;
    }
    let dir = dir();
    std::fs::create_dir_all(&dir).expect("create the results directory");
    let path = dir.join(format!("{name}.jsonl"));
    let mut file = std::fs::File::create(&path).expect("create the results file");
    for record in records {
        let line = serde_json::to_string(record).expect("serialize a record");
        writeln!(file, "{line}").expect("write a record");
    }
    eprintln!("wrote {}", path.display());
}

/// Reads every `*.jsonl` file of `dir`.
pub fn load(dir: &std::path::Path) -> Vec<Record> {
    let mut records = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return records;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        records.extend(
            text.lines()
                .filter_map(|line| serde_json::from_str::<Record>(line).ok()),
        );
    }
    records
}
