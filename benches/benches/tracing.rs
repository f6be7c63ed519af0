//! The price of the statement spans (`tenant_core::trace`): the same find
//! by id on in-memory SQLite (the cheapest statement, so the span's share
//! is as large as it gets) with no subscriber (the reference), with a
//! subscriber that filters the `tenant_core::statement` target out, and
//! with a subscriber that records every span; hand-written sqlx running
//! the framework's text on the same pool is the floor, as in `sqlite`, so
//! the framework's ratio to it can be compared with the runs before the
//! spans existed.
//!
//! `TENANT_BENCH_MODE=paired cargo bench --bench tracing` runs the
//! side-by-side runner and writes `tracing.jsonl`; without it, criterion.

#[macro_use]
mod common;

use common::{Sqls, Workload};
use tenant_benches::{Contender, contender, data, paired, results};
use tenant_core::TenantDb;
use tracing::{Dispatch, Metadata, subscriber::Interest};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Keeps every event and span except the statement spans.
struct WithoutStatements;

impl<S: tracing::Subscriber> Layer<S> for WithoutStatements {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.target() == tenant_core::trace::TARGET {
            Interest::never()
        } else {
            Interest::always()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.target() != tenant_core::trace::TARGET
    }
}

/// Records every span (in the registry; the layer itself keeps nothing).
struct Everything;

impl<S: tracing::Subscriber> Layer<S> for Everything {}

/// `inner`, run with `dispatch` as the thread's subscriber.
fn under<'a>(name: &'static str, dispatch: Dispatch, mut inner: Contender<'a>) -> Contender<'a> {
    contender(name, move |n| {
        let run = (inner.run)(n);
        let dispatch = dispatch.clone();
        async move {
            let _guard = tracing::dispatcher::set_default(&dispatch);
            run.await;
        }
    })
}

fn main() {
    let rt = common::runtime();
    let mut c = common::criterion();
    let mut records = Vec::new();

    let pool = rt.block_on(data::sqlite_pool());
    let db = TenantDb::sqlite(pool.clone());
    let off = Dispatch::new(tracing_subscriber::registry().with(WithoutStatements));
    let on = Dispatch::new(tracing_subscriber::registry().with(Everything));
    let contenders = vec![
        common::framework(Workload::Find, &db),
        under("target_off", off, common::framework(Workload::Find, &db)),
        under("spans_on", on, common::framework(Workload::Find, &db)),
        sqlx_contender!(Workload::Find, &pool, Sqls::new()),
    ];
    paired::measure(
        &mut c,
        &rt,
        &mut records,
        "tracing",
        "sqlite_find",
        contenders,
    );
    results::save("tracing", &records);
    c.final_summary();
}
