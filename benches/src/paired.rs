//! Side-by-side measurement on a noisy machine.
//!
//! A lone absolute time means little on a shared 2-core VM, so contenders
//! are measured in alternation: each round runs one batch of every contender
//! (in a new pseudo-random order each round, each timed batch preceded by an
//! untimed warm-up fifth), and the result is
//! the median time per operation plus, for every contender, the median over
//! rounds of its time divided by the reference's time in the same round (a
//! paired ratio: drift and noise bursts hit both sides of a round alike).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use crate::results::Record;

/// A batch: runs the operation `n` times.
pub type Batch<'a> = Box<dyn FnMut(u64) -> Pin<Box<dyn Future<Output = ()> + 'a>> + 'a>;

/// One way of running a workload.
pub struct Contender<'a> {
    /// Its name in the tables: `framework`, `sqlx`, `sea-orm` ...
    pub name: &'static str,
    /// Runs the operation `n` times.
    pub run: Batch<'a>,
}

/// Wraps `f` (called with a count, returning a future that runs the
/// operation that many times) as a [`Contender`].
pub fn contender<'a, F, Fut>(name: &'static str, mut f: F) -> Contender<'a>
where
    F: FnMut(u64) -> Fut + 'a,
    Fut: Future<Output = ()> + 'a,
{
    Contender {
        name,
        run: Box::new(move |n| Box::pin(f(n))),
    }
}

/// How long to measure.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Warm-up (and calibration) time per contender.
    pub warmup: Duration,
    /// Target duration of one batch.
    pub batch: Duration,
    /// Number of rounds (odd, so the median is one round's value).
    pub rounds: usize,
}

impl Settings {
    /// `TENANT_BENCH_QUICK=1` gives the quick settings, otherwise the full
    /// ones.
    pub fn from_env() -> Self {
        if quick() {
            Settings {
                warmup: Duration::from_millis(60),
                batch: Duration::from_millis(4),
                rounds: 15,
            }
        } else {
            Settings {
                warmup: Duration::from_millis(300),
                batch: Duration::from_millis(5),
                rounds: 61,
            }
        }
    }
}

/// `true` when `TENANT_BENCH_QUICK` is set to anything but `0`.
pub fn quick() -> bool {
    std::env::var("TENANT_BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty())
}

/// `true` when the bench should run the paired runner rather than criterion
/// (`TENANT_BENCH_MODE=paired`).
pub fn paired_mode() -> bool {
    std::env::var("TENANT_BENCH_MODE").is_ok_and(|v| v == "paired")
}

/// `TENANT_BENCH_MODE=single`: the contender `TENANT_BENCH_CONTENDER` runs
/// `TENANT_BENCH_ITERS` operations per workload, untimed by criterion.
fn single_mode() -> Option<(String, u64)> {
    if std::env::var("TENANT_BENCH_MODE").ok()? != "single" {
        return None;
    }
    let name = std::env::var("TENANT_BENCH_CONTENDER").unwrap_or_else(|_| "framework".into());
    let iters = std::env::var("TENANT_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    Some((name, iters))
}

fn time_batch(rt: &Runtime, contender: &mut Contender<'_>, n: u64) -> Duration {
    let start = Instant::now();
    rt.block_on((contender.run)(n));
    start.elapsed()
}

/// Median of a non-empty slice (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Value at quantile `q` (0..=1) of a non-empty slice (sorted in place),
/// nearest rank.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = (q * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Measures `contenders` side by side. The first is the reference of the
/// ratios. Returns one record per contender.
pub fn run(
    rt: &Runtime,
    settings: Settings,
    suite: &str,
    workload: &str,
    contenders: &mut [Contender<'_>],
) -> Vec<Record> {
    // Warm up and size each contender's batch.
    let mut batch_sizes = Vec::with_capacity(contenders.len());
    for c in contenders.iter_mut() {
        let mut n = 1;
        let per_op = loop {
            let t = time_batch(rt, c, n);
            if t >= settings.warmup || n >= 1 << 24 {
                break t.as_secs_f64() / n as f64;
            }
            n *= 2;
        };
        let size = (settings.batch.as_secs_f64() / per_op).ceil().max(1.0);
        batch_sizes.push(size as u64);
    }

    let k = contenders.len();
    let mut samples = vec![Vec::with_capacity(settings.rounds); k];
    let mut order: Vec<usize> = (0..k).collect();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..settings.rounds {
        // A fresh order every round, so no contender always runs after the
        // same other one (a contender with its own copy of the data, such
        // as rusqlite, leaves the caches cold for whoever follows it).
        for i in (1..k).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        for &i in &order {
            // An untimed fifth of a batch first: caches and the driver's
            // threads warm again after the previous contender.
            time_batch(rt, &mut contenders[i], batch_sizes[i].div_ceil(5));
            let t = time_batch(rt, &mut contenders[i], batch_sizes[i]);
            samples[i].push(t.as_secs_f64() * 1e9 / batch_sizes[i] as f64);
        }
    }

    let reference = contenders.first().map_or("", |c| c.name);
    let mut records = Vec::with_capacity(k);
    for (i, c) in contenders.iter().enumerate() {
        let mut ratios: Vec<f64> = samples[i]
            .iter()
            .zip(&samples[0])
            .map(|(x, r)| x / r)
            .collect();
        let mut own = samples[i].clone();
        let record = Record {
            suite: suite.to_owned(),
            workload: workload.to_owned(),
            contender: c.name.to_owned(),
            median_ns: median(&mut own),
            p25_ns: quantile(&mut own, 0.25),
            p75_ns: quantile(&mut own, 0.75),
            reference: reference.to_owned(),
            ratio_to_reference: median(&mut ratios),
            rounds: settings.rounds,
            batch: batch_sizes[i],
            extra: serde_json::Value::Null,
        };
        eprintln!(
            "{suite:>9} {workload:<14} {:<16} median {:>12.0} ns  x{:.3} vs {reference}",
            c.name, record.median_ns, record.ratio_to_reference
        );
        records.push(record);
    }
    records
}

/// Registers `contenders` with criterion as one group `suite/workload`, each
/// a function timed with `iter_custom` over the same batches the paired
/// runner uses.
pub fn criterion_group(
    c: &mut criterion::Criterion,
    rt: &Runtime,
    suite: &str,
    workload: &str,
    contenders: &mut [Contender<'_>],
) {
    let mut group = c.benchmark_group(format!("{suite}/{workload}"));
    for contender in contenders.iter_mut() {
        group.bench_function(contender.name, |b| {
            b.iter_custom(|iters| time_batch(rt, contender, iters));
        });
    }
    group.finish();
}

/// Runs `contenders` in the mode the environment asks for: criterion by
/// default, the paired runner with `TENANT_BENCH_MODE=paired` (its records
/// are appended to `out`).
pub fn measure(
    c: &mut criterion::Criterion,
    rt: &Runtime,
    out: &mut Vec<Record>,
    suite: &str,
    workload: &str,
    mut contenders: Vec<Contender<'_>>,
) {
    if let Some((name, iters)) = single_mode() {
        // For instruction counts (`valgrind --tool=callgrind`): one
        // contender, a warm-up batch, then `iters` operations. The
        // difference between two runs with different counts is the cost of
        // the extra operations alone.
        for contender in contenders.iter_mut().filter(|c| c.name == name) {
            time_batch(rt, contender, 10);
            let t = time_batch(rt, contender, iters);
            eprintln!("{suite} {workload} {name}: {iters} operations in {t:?}");
        }
        return;
    }
    if paired_mode() {
        out.extend(run(
            rt,
            Settings::from_env(),
            suite,
            workload,
            &mut contenders,
        ));
    } else {
        criterion_group(c, rt, suite, workload, &mut contenders);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_quantiles() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&mut v, 0.5), 50.0);
        assert_eq!(quantile(&mut v, 0.99), 99.0);
        assert_eq!(quantile(&mut v, 1.0), 100.0);
    }

    #[test]
    fn paired_run_reports_every_contender() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let settings = Settings {
            warmup: Duration::from_millis(1),
            batch: Duration::from_micros(200),
            rounds: 3,
        };
        let mut contenders = vec![
            contender("a", |n| async move {
                for i in 0..n {
                    std::hint::black_box(i);
                }
            }),
            contender("b", |n| async move {
                for i in 0..2 * n {
                    std::hint::black_box(i);
                }
            }),
        ];
        let records = run(&rt, settings, "test", "spin", &mut contenders);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].ratio_to_reference, 1.0);
        assert_eq!(records[1].reference, "a");
    }
}
