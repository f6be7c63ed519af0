//! Turns the result files of a paired run into markdown tables:
//! `bench-summary [RESULTS_DIR] > summary.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use tenant_benches::results::{self, Record};

fn us(ns: f64) -> String {
    let us = ns / 1e3;
    if us >= 100.0 {
        format!("{us:.0}")
    } else if us >= 10.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.2}")
    }
}

fn find<'a>(
    records: &'a [Record],
    suite: &str,
    workload: &str,
    contender: &str,
) -> Option<&'a Record> {
    records
        .iter()
        .find(|r| r.suite == suite && r.workload == workload && r.contender == contender)
}

fn workloads(records: &[Record], suite: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for r in records.iter().filter(|r| r.suite == suite) {
        if !seen.contains(&r.workload) {
            seen.push(r.workload.clone());
        }
    }
    seen
}

fn mark(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

fn backend_table(out: &mut String, records: &[Record], suite: &str, floor: &str) {
    let _ = writeln!(
        out,
        "| workload | framework µs | sqlx µs | sea-orm µs | {floor} µs | framework ÷ sqlx | ≤ 1.03× | sea-orm ÷ framework | {floor} ÷ framework |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|---:|---:|");
    for w in workloads(records, suite) {
        let time =
            |c: &str| find(records, suite, &w, c).map_or("–".to_owned(), |r| us(r.median_ns));
        let ratio = |c: &str| find(records, suite, &w, c).map(|r| r.ratio_to_reference);
        let fw_over_sqlx = ratio("sqlx").map(|r| 1.0 / r);
        let _ = writeln!(
            out,
            "| {w} | {} | {} | {} | {} | {} | {} | {} | {} |",
            time("framework"),
            time("sqlx"),
            time("sea-orm"),
            time(floor),
            fw_over_sqlx.map_or("–".into(), |r| format!("{r:.3}")),
            fw_over_sqlx.map_or("–", |r| mark(r <= 1.03)),
            ratio("sea-orm").map_or("–".into(), |r| format!("{r:.2}")),
            ratio(floor).map_or("–".into(), |r| format!("{r:.2}")),
        );
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(results::dir);
    let records = results::load(&dir);
    let mut out = String::new();

    if records.iter().any(|r| r.suite == "sqlite") {
        let _ = writeln!(out, "### SQLite, in memory (median per operation)\n");
        backend_table(&mut out, &records, "sqlite", "rusqlite");
        out.push('\n');
    }
    if records.iter().any(|r| r.suite == "postgres") {
        let _ = writeln!(out, "### PostgreSQL, loopback (median per operation)\n");
        backend_table(&mut out, &records, "postgres", "tokio-postgres");
        out.push('\n');
    }
    if records.iter().any(|r| r.suite == "mysql") {
        let _ = writeln!(out, "### MySQL/MariaDB, loopback (median per operation)\n");
        backend_table(&mut out, &records, "mysql", "–");
        out.push('\n');
    }
    if records.iter().any(|r| r.suite == "rls") {
        let _ = writeln!(
            out,
            "### Row-level-security mode vs explicit predicate only\n"
        );
        let _ = writeln!(
            out,
            "| workload | plain µs | RLS mode µs | RLS ÷ plain | target | met |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---|");
        for w in workloads(&records, "rls") {
            let (Some(p), Some(r)) = (
                find(&records, "rls", &w, "plain"),
                find(&records, "rls", &w, "rls"),
            ) else {
                continue;
            };
            let target = if w.starts_with("insert") || w.starts_with("update") {
                2.0
            } else {
                1.1
            };
            let _ = writeln!(
                out,
                "| {w} | {} | {} | {:.3} | ≤ {target}× | {} |",
                us(p.median_ns),
                us(r.median_ns),
                r.ratio_to_reference,
                mark(r.ratio_to_reference <= target)
            );
        }
        out.push('\n');
    }
    if records.iter().any(|r| r.suite == "bulk") {
        let _ = writeln!(
            out,
            "### Bulk insert of 1 000 rows (median per 1 000 rows)\n"
        );
        let _ = writeln!(
            out,
            "| workload | insert_many µs | hand-written sqlx µs | 1 000 single inserts µs | insert_many ÷ sqlx | ≤ 1.1× | singles ÷ insert_many | ≥ 10× |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---|---:|---|");
        for w in workloads(&records, "bulk") {
            let (Some(f), Some(s), Some(one)) = (
                find(&records, "bulk", &w, "framework"),
                find(&records, "bulk", &w, "sqlx"),
                find(&records, "bulk", &w, "singles"),
            ) else {
                continue;
            };
            let over_sqlx = 1.0 / s.ratio_to_reference;
            let _ = writeln!(
                out,
                "| {w} | {} | {} | {} | {over_sqlx:.3} | {} | {:.1} | {} |",
                us(f.median_ns),
                us(s.median_ns),
                us(one.median_ns),
                mark(over_sqlx <= 1.1),
                one.ratio_to_reference,
                mark(one.ratio_to_reference >= 10.0)
            );
        }
        out.push('\n');
    }
    if records
        .iter()
        .any(|r| r.suite == "builder" || r.suite == "allocs")
    {
        let _ = writeln!(
            out,
            "### Builder only: SQL + bound arguments, nothing executed\n"
        );
        let _ = writeln!(
            out,
            "| statement | framework ns | hand-written sqlx ns | framework ÷ sqlx | framework allocations | sqlx allocations | framework bytes | sqlx bytes |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
        let mut names = workloads(&records, "builder");
        for w in workloads(&records, "allocs") {
            if !names.contains(&w) {
                names.push(w);
            }
        }
        for w in names {
            let t = |c: &str| {
                find(&records, "builder", &w, c)
                    .map_or("–".to_owned(), |r| format!("{:.0}", r.median_ns))
            };
            let a = |c: &str, key: &str| {
                find(&records, "allocs", &w, c)
                    .and_then(|r| r.extra.get(key).and_then(serde_json::Value::as_f64))
                    .map_or("–".to_owned(), |v| format!("{v:.0}"))
            };
            let ratio = find(&records, "builder", &w, "sqlx").map_or("–".into(), |r| {
                format!("{:.2}", 1.0 / r.ratio_to_reference)
            });
            let _ = writeln!(
                out,
                "| {w} | {} | {} | {ratio} | {} | {} | {} | {} |",
                t("framework"),
                t("sqlx"),
                a("framework", "allocations"),
                a("sqlx", "allocations"),
                a("framework", "bytes"),
                a("sqlx", "bytes"),
            );
        }
        out.push('\n');
    }
    if let Some(first) = records.iter().find(|r| r.suite == "scale") {
        let e = &first.extra;
        let _ = writeln!(
            out,
            "### Scale: {} invoices, {} tenants (rows per tenant: min {}, median {}, max {}; loaded in {:.0} s)\n",
            e["rows"],
            e["tenants"],
            e["tenant_rows_min"],
            e["tenant_rows_median"],
            e["tenant_rows_max"],
            e["load_seconds"].as_f64().unwrap_or(0.0)
        );
        let _ = writeln!(
            out,
            "| query | contender | p50 µs | p99 µs | ÷ framework (paired median) | samples |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
        for r in records.iter().filter(|r| r.suite == "scale") {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.3} | {} |",
                r.workload,
                r.contender,
                us(r.p25_ns),
                us(r.p75_ns),
                r.ratio_to_reference,
                r.rounds
            );
        }
        if let Some(plans) = records
            .iter()
            .find_map(|r| r.extra.get("plans").and_then(serde_json::Value::as_array))
        {
            let _ = writeln!(
                out,
                "\n| EXPLAIN | plan_cache_mode | index condition on tenant_id, no per-row function |"
            );
            let _ = writeln!(out, "|---|---|---|");
            for p in plans {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    p["query"].as_str().unwrap_or(""),
                    p["mode"].as_str().unwrap_or(""),
                    mark(p["ok"].as_bool().unwrap_or(false))
                );
            }
        }
        out.push('\n');
    }
    if records.iter().any(|r| r.suite == "compile") {
        let _ = writeln!(
            out,
            "### Compile time: debug `cargo build` of the model crate only (median ms)\n"
        );
        let mut by_size: BTreeMap<usize, Vec<&Record>> = BTreeMap::new();
        let mut variants: Vec<String> = Vec::new();
        for r in records
            .iter()
            .filter(|r| r.suite == "compile" && r.workload != "per model")
        {
            let n: usize = r
                .workload
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            by_size.entry(n).or_default().push(r);
            if !variants.contains(&r.contender) {
                variants.push(r.contender.clone());
            }
        }
        let _ = writeln!(out, "| models | {} |", variants.join(" | "));
        let _ = writeln!(out, "|---:|{}", "---:|".repeat(variants.len()));
        for (n, rs) in &by_size {
            let cells: Vec<String> = variants
                .iter()
                .map(|v| {
                    rs.iter()
                        .find(|r| &r.contender == v)
                        .map_or("–".into(), |r| format!("{:.0}", r.median_ns))
                })
                .collect();
            let _ = writeln!(out, "| {n} | {} |", cells.join(" | "));
        }
        let per: Vec<String> = variants
            .iter()
            .map(|v| {
                find(&records, "compile", "per model", v).map_or("–".into(), |r| {
                    format!(
                        "{:.2} ({:.2} beyond plain; R² {:.3})",
                        r.p25_ns, r.median_ns, r.ratio_to_reference
                    )
                })
            })
            .collect();
        let _ = writeln!(out, "| ms per model (slope) | {} |", per.join(" | "));
        out.push('\n');
    }
    print!("{out}");
}
