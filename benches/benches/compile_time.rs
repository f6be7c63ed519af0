//! Compile time of `#[derive(TenantModel)]`: generated crates of 25, 50 and
//! 100 models (5 columns each), in four variants: plain structs (the
//! baseline), `#[derive(TenantModel)]`, `#[derive(sqlx::FromRow)]`, and
//! sea-orm's `DeriveEntityModel` (with its `Relation` enum and
//! `ActiveModelBehavior` impl, the minimum an entity needs). Each crate's
//! dependencies are built once; then only the model crate is rebuilt
//! (`cargo build`, debug profile, its `src/lib.rs` touched), several times,
//! variants alternating, and the median is kept. The per-model cost is the
//! slope of a least-squares line through the sizes, minus the plain
//! structs' slope.
//!
//! The crates live in `TENANT_BENCH_COMPILE_DIR` (default
//! `$CARGO_TARGET_DIR/compile-bench`, or `target/compile-bench`) and use
//! this workspace's `tenant-core` by path and its `Cargo.lock`. Writes
//! `compile.jsonl` (times in ms).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use tenant_benches::paired::{self, median};
use tenant_benches::results::{self, Record};

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Plain,
    Derive,
    FromRow,
    SeaOrm,
}

impl Variant {
    const ALL: [Variant; 4] = [
        Variant::Plain,
        Variant::Derive,
        Variant::FromRow,
        Variant::SeaOrm,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Derive => "tenant_model",
            Variant::FromRow => "sqlx_from_row",
            Variant::SeaOrm => "sea_orm",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Variant::Plain => "plain structs",
            Variant::Derive => "derive(TenantModel)",
            Variant::FromRow => "derive(sqlx::FromRow)",
            Variant::SeaOrm => "sea-orm DeriveEntityModel",
        }
    }

    fn dependencies(self, core: &str) -> String {
        match self {
            Variant::Plain => String::new(),
            Variant::Derive => format!("tenant-core = {{ path = \"{core}\" }}\n"),
            Variant::FromRow => "sqlx = { version = \"0.9\", default-features = false, features = [\"derive\", \"sqlite\", \"postgres\", \"runtime-tokio\"] }\n".into(),
            Variant::SeaOrm => "sea-orm = { version = \"2.0.4\", default-features = false, features = [\"macros\", \"sqlx-sqlite\", \"sqlx-postgres\", \"runtime-tokio\"] }\n".into(),
        }
    }

    fn source(self, models: usize) -> String {
        let mut src = String::new();
        if self == Variant::Derive {
            src.push_str("use tenant_core::prelude::*;\n\n");
        }
        for i in 0..models {
            let _ = match self {
                Variant::Plain => write!(
                    src,
                    "pub struct Model{i} {{\n    pub id: i64,\n    pub tenant_id: String,\n    \
                     pub amount_cents: i64,\n    pub customer_email: String,\n    pub note: Option<String>,\n}}\n\n"
                ),
                Variant::Derive => write!(
                    src,
                    "#[derive(TenantModel)]\n#[tenant(table = \"table_{i}\")]\npub struct Model{i} {{\n    \
                     #[tenant(primary_key)]\n    pub id: i64,\n    #[tenant(tenant_id)]\n    pub tenant_id: TenantId,\n    \
                     pub amount_cents: i64,\n    pub customer_email: String,\n    pub note: Option<String>,\n}}\n\n"
                ),
                Variant::FromRow => write!(
                    src,
                    "#[derive(sqlx::FromRow)]\npub struct Model{i} {{\n    pub id: i64,\n    pub tenant_id: String,\n    \
                     pub amount_cents: i64,\n    pub customer_email: String,\n    pub note: Option<String>,\n}}\n\n"
                ),
                Variant::SeaOrm => write!(
                    src,
                    "pub mod model{i} {{\n    use sea_orm::entity::prelude::*;\n\n    \
                     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]\n    #[sea_orm(table_name = \"table_{i}\")]\n    \
                     pub struct Model {{\n        #[sea_orm(primary_key)]\n        pub id: i64,\n        pub tenant_id: String,\n        \
                     pub amount_cents: i64,\n        pub customer_email: String,\n        pub note: Option<String>,\n    }}\n\n    \
                     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]\n    pub enum Relation {{}}\n\n    \
                     impl ActiveModelBehavior for ActiveModel {{}}\n}}\n\n"
                ),
            };
        }
        src
    }
}

fn crate_name(v: Variant, n: usize) -> String {
    format!("models_{}_{n}", v.name())
}

fn compile_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TENANT_BENCH_COMPILE_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(WORKSPACE).join("target"));
    target.join("compile-bench")
}

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create a directory");
    }
    std::fs::write(path, text).expect("write a generated file");
}

fn generate(dir: &Path, sizes: &[usize]) {
    let core =
        std::fs::canonicalize(Path::new(WORKSPACE).join("tenant-core")).expect("tenant-core path");
    let core = core.display().to_string();
    let mut members = Vec::new();
    for &n in sizes {
        for v in Variant::ALL {
            let name = crate_name(v, n);
            write_if_changed(
                &dir.join(&name).join("Cargo.toml"),
                &format!(
                    "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\n{}",
                    v.dependencies(&core)
                ),
            );
            write_if_changed(&dir.join(&name).join("src/lib.rs"), &v.source(n));
            members.push(format!("\"{name}\""));
        }
    }
    write_if_changed(
        &dir.join("Cargo.toml"),
        &format!(
            "[workspace]\nresolver = \"3\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    );
    // The same dependency versions as the workspace.
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        std::fs::copy(Path::new(WORKSPACE).join("Cargo.lock"), &lock).expect("copy Cargo.lock");
    }
}

fn cargo(dir: &Path) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS");
    cmd
}

fn build(dir: &Path, package: Option<&str>) -> f64 {
    let mut cmd = cargo(dir);
    cmd.args(["build", "--quiet"]);
    if let Some(p) = package {
        cmd.args(["-p", p]);
    }
    let start = Instant::now();
    let status = cmd.status().expect("run cargo");
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert!(status.success(), "cargo build of {package:?} failed");
    ms
}

/// Least-squares slope and intercept of `ys` against `xs`, and R².
fn fit(xs: &[f64], ys: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = my - slope * mx;
    let ss_tot: f64 = ys.iter().map(|y| (y - my) * (y - my)).sum();
    let ss_res: f64 = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (y - (intercept + slope * x)).powi(2))
        .sum();
    let r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    };
    (slope, intercept, r2)
}

fn main() {
    // Under `cargo test --benches` (or a harness flag) there is nothing to do.
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let quick = paired::quick();
    let sizes: Vec<usize> = if quick {
        vec![25, 100]
    } else {
        vec![25, 50, 100]
    };
    let reps = if quick { 3 } else { 7 };
    let dir = compile_dir();
    generate(&dir, &sizes);
    eprintln!("compile-time crates in {}", dir.display());
    let crates: Vec<(Variant, usize)> = sizes
        .iter()
        .flat_map(|&n| Variant::ALL.map(|v| (v, n)))
        .collect();
    // Each package on its own, as measured: a whole-workspace build would
    // unify features across the variants and build other copies of the
    // dependencies than `cargo build -p` uses.
    let warm = Instant::now();
    for &(v, n) in &crates {
        build(&dir, Some(&crate_name(v, n)));
    }
    eprintln!(
        "dependencies built in {:.0} s",
        warm.elapsed().as_secs_f64()
    );

    let mut times = vec![Vec::with_capacity(reps); crates.len()];
    for rep in 0..reps {
        for step in 0..crates.len() {
            let i = (rep + step) % crates.len();
            let (v, n) = crates[i];
            let name = crate_name(v, n);
            let lib = dir.join(&name).join("src/lib.rs");
            std::fs::File::options()
                .append(true)
                .open(&lib)
                .and_then(|f| f.set_modified(SystemTime::now()))
                .expect("touch src/lib.rs");
            times[i].push(build(&dir, Some(&name)));
        }
    }

    let mut records = Vec::new();
    let mut medians = vec![0.0; crates.len()];
    for (i, (v, n)) in crates.iter().enumerate() {
        medians[i] = median(&mut times[i].clone());
        eprintln!(
            "{:<28} {n:>4} models  median {:>7.0} ms  {:?}",
            v.label(),
            medians[i],
            times[i].iter().map(|t| t.round()).collect::<Vec<_>>()
        );
        records.push(Record {
            suite: "compile".into(),
            workload: format!("{n} models"),
            contender: v.label().into(),
            median_ns: medians[i],
            p25_ns: paired::quantile(&mut times[i].clone(), 0.25),
            p75_ns: paired::quantile(&mut times[i].clone(), 0.75),
            reference: "plain structs".into(),
            ratio_to_reference: 0.0,
            rounds: reps,
            batch: 1,
            extra: serde_json::json!({ "samples_ms": times[i] }),
        });
    }
    let xs: Vec<f64> = sizes.iter().map(|&n| n as f64).collect();
    let slope_of = |v: Variant| {
        let ys: Vec<f64> = sizes
            .iter()
            .map(|&n| {
                let i = crates.iter().position(|c| *c == (v, n)).expect("measured");
                medians[i]
            })
            .collect();
        fit(&xs, &ys)
    };
    let (plain_slope, _, _) = slope_of(Variant::Plain);
    for v in Variant::ALL {
        let (slope, intercept, r2) = slope_of(v);
        let own = slope - plain_slope;
        eprintln!(
            "{:<28} {slope:>6.2} ms per model ({own:>6.2} beyond plain structs), intercept {intercept:.0} ms, R² {r2:.4}",
            v.label()
        );
        records.push(Record {
            suite: "compile".into(),
            workload: "per model".into(),
            contender: v.label().into(),
            median_ns: own,
            p25_ns: slope,
            p75_ns: intercept,
            reference: "plain structs".into(),
            ratio_to_reference: r2,
            rounds: reps,
            batch: 1,
            extra: serde_json::json!({
                "slope_ms": slope,
                "beyond_plain_ms": own,
                "intercept_ms": intercept,
                "r2": r2,
                "sizes": sizes,
            }),
        });
    }
    results::save("compile", &records);
}
