//! Background jobs on Redis (`tenant-jobs`): jobs of interleaved tenants on
//! one worker never cross, undecodable payloads and bad tenant ids are
//! dead-lettered without running, failing handlers are retried and then
//! dead-lettered, a dropped worker's job is recovered, and the job's and the
//! spawned task's spans carry the tenant. Redis at `REDIS_URL` (default
//! `redis://127.0.0.1:6379`); the tests never skip.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tenant_core::prelude::*;
use tenant_jobs::{JobQueue, Outcome, TenantJob, Worker};
use tenant_tests::models::{Invoice, NewInvoice};
use tenant_tests::suites::{scope, sqlite_db};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A queue with a name no other test (or run) uses.
async fn queue<J: Serialize + serde::de::DeserializeOwned>(test: &str) -> JobQueue<J> {
    let name = format!("test-{test}-{}", uuid::Uuid::new_v4());
    JobQueue::connect(&redis_url(), &name)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Redis at {} (start it: scripts/test does): {e}",
                redis_url()
            )
        })
}

fn fast<J: serde::de::DeserializeOwned>(queue: &JobQueue<J>) -> Worker<J> {
    Worker::new(queue.clone()).poll_timeout(Duration::from_millis(200))
}

#[derive(Debug, Serialize, Deserialize)]
struct Probe {
    /// The tenant the enqueuer meant, to compare with the worker's scope.
    expect: String,
    seq: u32,
}

/// What a handler saw: the job's tenant, the scope's tenant, `tenant|email`
/// of each row it read, the job's sequence number.
type Seen = (String, String, Vec<String>, u32);

#[tokio::test]
async fn interleaved_tenants_on_one_worker_never_cross() {
    let db = sqlite_db().await;
    let tenants = ["acme", "globex", "initech"];
    for t in tenants {
        for n in 0..3 {
            Invoice::insert(
                &scope(t),
                NewInvoice {
                    amount_cents: 100 + n,
                    customer_email: format!("{n}@{t}.example"),
                },
            )
            .fetch_one(&db)
            .await
            .unwrap();
        }
    }
    let queue = queue::<Probe>("interleaved").await;
    const JOBS: u32 = 90;
    for seq in 0..JOBS {
        let t = tenants[seq as usize % tenants.len()];
        let expect = t.to_owned();
        queue
            .enqueue(TenantJob::new(&scope(t), Probe { expect, seq }))
            .await
            .unwrap();
    }

    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let handler = |scope: TenantScope, job: Probe| {
        let db = db.clone();
        let seen = Arc::clone(&seen);
        async move {
            let rows = Invoice::query(&scope).fetch_all(&db).await?;
            let owners = rows
                .iter()
                .map(|r| format!("{}|{}", r.tenant_id, r.customer_email))
                .collect();
            seen.lock()
                .unwrap()
                .push((job.expect, scope.tenant_id().to_string(), owners, job.seq));
            Ok::<_, tenant_core::Error>(())
        }
    };
    let worker = fast(&queue);
    let report = worker.drain(handler).await.unwrap();
    assert_eq!(report.done, JOBS as usize, "{report:?}");
    assert_eq!(report.retried + report.dead_lettered, 0, "{report:?}");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), JOBS as usize);
    let mut per_tenant: HashMap<&str, usize> = HashMap::new();
    for (i, (expect, actual, owners, seq)) in seen.iter().enumerate() {
        // First in, first out: the interleaving is the one the worker saw.
        assert_eq!(*seq, i as u32);
        assert_eq!(expect, actual, "job {seq} for {expect} ran as {actual}");
        assert_eq!(owners.len(), 3, "job {seq}: {owners:?}");
        for owner in owners {
            let (tenant, email) = owner.split_once('|').unwrap();
            assert_eq!(tenant, expect, "job {seq} read {owner}");
            assert!(email.ends_with(&format!("@{expect}.example")), "{owner}");
        }
        *per_tenant.entry(actual.as_str()).or_default() += 1;
    }
    assert_eq!(per_tenant.len(), 3);
    assert!(per_tenant.values().all(|&n| n == 30), "{per_tenant:?}");
    assert_eq!(queue.len().await.unwrap(), 0);
    assert_eq!(worker.in_flight().await.unwrap(), 0);
    assert!(queue.dead_letters().await.unwrap().is_empty());
    queue.purge().await.unwrap();
}

#[tokio::test]
async fn malformed_payloads_and_bad_tenant_ids_are_dead_lettered_not_run() {
    let queue = queue::<Probe>("malformed").await;
    let job = r#"{"expect":"x","seq":1}"#;
    let bad = [
        "not json at all".to_owned(),
        r#"{"id":"1","attempts":0,"tenant":"Acme","job":{"expect":"x","seq":1}}"#.to_owned(),
        format!(r#"{{"id":"2","attempts":0,"tenant":"","job":{job}}}"#),
        format!(r#"{{"id":"3","attempts":0,"tenant":"-acme","job":{job}}}"#),
        format!(
            r#"{{"id":"4","attempts":0,"tenant":"{}","job":{job}}}"#,
            "a".repeat(64)
        ),
        format!(r#"{{"id":"5","attempts":0,"tenant":null,"job":{job}}}"#),
        format!(r#"{{"id":"6","attempts":0,"tenant":42,"job":{job}}}"#),
        format!(r#"{{"id":"7","attempts":0,"job":{job}}}"#),
        r#"{"id":"8","attempts":0,"tenant":"acme","job":{"seq":"not a number"}}"#.to_owned(),
        format!(r#"{{"id":"9","attempts":0,"tenant":"acme","scope":"globex","job":{job}}}"#),
    ];
    for payload in &bad {
        queue.push_raw(payload).await.unwrap();
    }
    queue
        .enqueue(TenantJob::new(
            &scope("acme"),
            Probe {
                expect: "acme".into(),
                seq: 99,
            },
        ))
        .await
        .unwrap();

    let ran: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
    let handler = |scope: TenantScope, job: Probe| {
        let ran = Arc::clone(&ran);
        async move {
            ran.lock()
                .unwrap()
                .push((scope.tenant_id().to_string(), job.seq));
            Ok::<_, String>(())
        }
    };
    let worker = fast(&queue);
    let report = worker.drain(handler).await.unwrap();
    assert_eq!(report.done, 1, "{report:?}");
    assert_eq!(report.dead_lettered, bad.len(), "{report:?}");
    // Only the good job ran, under its own tenant.
    assert_eq!(*ran.lock().unwrap(), vec![("acme".to_owned(), 99)]);

    let dead = queue.dead_letters().await.unwrap();
    let payloads: Vec<&str> = dead.iter().map(|d| d.payload.as_str()).collect();
    // Pushed on the left, taken from the right: dead-lettered in order.
    assert_eq!(payloads, bad.iter().map(String::as_str).collect::<Vec<_>>());
    for d in &dead {
        assert_eq!(d.attempts, 0, "{d:?}");
        assert!(d.reason.starts_with("undecodable payload"), "{d:?}");
    }
    let reason = |i: usize| dead[i].reason.as_str();
    assert!(
        reason(1).contains("tenant id contains 'A'"),
        "{}",
        reason(1)
    );
    assert!(reason(2).contains("tenant id is empty"), "{}", reason(2));
    assert!(
        reason(3).contains("must start with a letter or a digit"),
        "{}",
        reason(3)
    );
    assert!(reason(4).contains("the limit is 63"), "{}", reason(4));
    assert!(
        reason(7).contains("missing field `tenant`"),
        "{}",
        reason(7)
    );
    assert!(reason(9).contains("unknown field `scope`"), "{}", reason(9));
    assert_eq!(queue.len().await.unwrap(), 0);
    assert_eq!(worker.in_flight().await.unwrap(), 0);
    queue.purge().await.unwrap();
}

#[tokio::test]
async fn failing_handlers_are_retried_then_dead_lettered() {
    let queue = queue::<String>("retry").await;
    for name in ["flaky", "broken", "panics"] {
        queue
            .enqueue(TenantJob::new(&scope("acme"), name.to_owned()))
            .await
            .unwrap();
    }
    let runs: Arc<Mutex<BTreeMap<String, u32>>> = Arc::default();
    let handler = |_scope: TenantScope, name: String| {
        let runs = Arc::clone(&runs);
        async move {
            let n = {
                let mut runs = runs.lock().unwrap();
                let n = runs.entry(name.clone()).or_default();
                *n += 1;
                *n
            };
            match name.as_str() {
                "flaky" if n < 3 => Err(format!("flaky failure {n}")),
                "broken" => Err(format!("boom {n}")),
                "panics" => panic!("handler bug {n}"),
                _ => Ok(()),
            }
        }
    };
    let worker = fast(&queue).max_attempts(3);
    let report = worker.drain(handler).await.unwrap();
    assert_eq!(report.done, 1, "{report:?}");
    assert_eq!(report.retried, 6, "{report:?}");
    assert_eq!(report.dead_lettered, 2, "{report:?}");
    let runs = runs.lock().unwrap().clone();
    assert_eq!(
        runs,
        BTreeMap::from([
            ("broken".to_owned(), 3),
            ("flaky".to_owned(), 3),
            ("panics".to_owned(), 3),
        ])
    );
    let dead = queue.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 2, "{dead:?}");
    let broken = dead.iter().find(|d| d.payload.contains("broken")).unwrap();
    assert_eq!(broken.reason, "boom 3");
    assert_eq!(broken.attempts, 3);
    // The payload is kept with its tenant, ready to inspect or re-queue.
    assert!(broken.payload.contains(r#""tenant":"acme""#), "{broken:?}");
    let panics = dead.iter().find(|d| d.payload.contains("panics")).unwrap();
    assert_eq!(panics.reason, "handler panicked: handler bug 3");
    assert_eq!(queue.len().await.unwrap(), 0);
    assert_eq!(worker.in_flight().await.unwrap(), 0);
    queue.purge().await.unwrap();
}

#[tokio::test]
async fn a_job_of_a_worker_that_died_is_recovered_and_runs_once() {
    let queue = queue::<u32>("recover").await;
    queue
        .enqueue(TenantJob::new(&scope("globex"), 7))
        .await
        .unwrap();
    let worker = fast(&queue).name("recovering-worker").unwrap();
    // The worker takes the job and is dropped mid-run (a crash, a cancelled
    // task): the job stays in its in-flight list, not lost and not done.
    let stuck = |_scope: TenantScope, _n: u32| async {
        std::future::pending::<()>().await;
        Ok::<_, String>(())
    };
    let cut = tokio::time::timeout(Duration::from_millis(500), worker.next(&stuck)).await;
    assert!(cut.is_err(), "the handler never finishes");
    assert_eq!(queue.len().await.unwrap(), 0);
    assert_eq!(worker.in_flight().await.unwrap(), 1);

    // Restarted under the same name, it puts the job back and runs it.
    let ran: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
    let handler = |scope: TenantScope, n: u32| {
        let ran = Arc::clone(&ran);
        async move {
            ran.lock().unwrap().push((scope.tenant_id().to_string(), n));
            Ok::<_, String>(())
        }
    };
    let restarted = fast(&queue).name("recovering-worker").unwrap();
    let report = restarted.drain(handler).await.unwrap();
    assert_eq!(report.done, 1);
    assert_eq!(*ran.lock().unwrap(), vec![("globex".to_owned(), 7)]);
    assert_eq!(restarted.in_flight().await.unwrap(), 0);
    queue.purge().await.unwrap();
}

#[tokio::test]
async fn the_job_outcome_names_the_tenant() {
    let queue = queue::<u32>("outcome").await;
    queue
        .enqueue(TenantJob::new(&scope("initech"), 1))
        .await
        .unwrap();
    let worker = fast(&queue);
    let outcome = worker
        .next(&|_scope: TenantScope, _n: u32| async { Ok::<_, String>(()) })
        .await
        .unwrap();
    match outcome {
        Some(Outcome::Done { tenant, .. }) => assert_eq!(tenant.as_str(), "initech"),
        other => panic!("expected Done, got {other:?}"),
    }
    assert_eq!(
        worker
            .next(&|_scope: TenantScope, _n: u32| async { Ok::<_, String>(()) })
            .await
            .unwrap(),
        None
    );
    queue.purge().await.unwrap();
}

#[tokio::test]
async fn run_takes_jobs_as_they_come_and_finishes_the_current_one_at_shutdown() {
    let queue = queue::<u32>("run").await;
    let worker = fast(&queue).name("runner").unwrap();
    let ran: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
    let (started_tx, started_rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handler = {
        let ran = Arc::clone(&ran);
        move |scope: TenantScope, n: u32| {
            let ran = Arc::clone(&ran);
            let started = started_tx.clone();
            async move {
                started.send(n).unwrap();
                // Slow enough for the shutdown to arrive mid-job.
                tokio::time::sleep(Duration::from_millis(150)).await;
                ran.lock().unwrap().push((scope.tenant_id().to_string(), n));
                Ok::<_, String>(())
            }
        }
    };
    let running = tokio::spawn({
        let worker = fast(&queue).name("runner").unwrap();
        async move {
            worker
                .run(handler, async {
                    let _ = stop_rx.await;
                })
                .await
        }
    });
    let mut started = started_rx;
    for (n, t) in [(1, "acme"), (2, "globex"), (3, "acme")] {
        queue.enqueue(TenantJob::new(&scope(t), n)).await.unwrap();
        assert_eq!(started.recv().await, Some(n));
    }
    // Job 3 is under way: the shutdown lets it finish, then the worker stops.
    stop_tx.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(
        *ran.lock().unwrap(),
        vec![
            ("acme".to_owned(), 1),
            ("globex".to_owned(), 2),
            ("acme".to_owned(), 3)
        ]
    );
    assert_eq!(worker.in_flight().await.unwrap(), 0);
    assert_eq!(queue.len().await.unwrap(), 0);
    queue.purge().await.unwrap();
}

// --- spans ----------------------------------------------------------------

/// A span's name and fields.
type SpanFields = (String, BTreeMap<String, String>);

/// An event's message and the spans around it.
type EventSpans = (String, Vec<SpanFields>);

/// Every span's name and fields, and every event's message with the spans
/// it happened in, innermost first.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<HashMap<u64, SpanFields>>>,
    events: Arc<Mutex<Vec<EventSpans>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> Layer<S> for Capture
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.spans
            .lock()
            .unwrap()
            .insert(id.into_u64(), (attrs.metadata().name().to_owned(), fields));
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        let spans = self.spans.lock().unwrap();
        let scopes = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .map(|span| spans[&span.id().into_u64()].clone())
                    .collect()
            })
            .unwrap_or_default();
        self.events.lock().unwrap().push((message, scopes));
    }
}

impl Capture {
    /// The `tenant` field of the innermost span named `span` around the
    /// event with this message.
    fn tenant_of(&self, message: &str, span: &str) -> Option<String> {
        let events = self.events.lock().unwrap();
        let (_, scopes) = events.iter().find(|(m, _)| m == message)?;
        scopes
            .iter()
            .find(|(name, _)| name == span)
            .and_then(|(_, fields)| fields.get("tenant").cloned())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn spawned_tasks_and_jobs_run_in_a_span_with_their_tenant() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    // Current-thread runtime: the spawned task runs on this thread, under
    // this default subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);

    let acme = scope("acme");
    let handle = tenant_jobs::spawn(&acme, |scope| async move {
        tokio::task::yield_now().await;
        tracing::info!("inside the spawned task");
        scope.tenant_id().to_string()
    });
    assert_eq!(handle.await.unwrap(), "acme");
    assert_eq!(
        capture.tenant_of("inside the spawned task", "tenant_task"),
        Some("acme".to_owned())
    );

    let queue = queue::<String>("spans").await;
    for t in ["globex", "acme"] {
        queue
            .enqueue(TenantJob::new(&scope(t), format!("job of {t}")))
            .await
            .unwrap();
    }
    let handler = |_scope: TenantScope, message: String| async move {
        tokio::task::yield_now().await;
        tracing::info!("{message}");
        // A task the job spawns goes on with the job's tenant.
        let inner = tenant_jobs::spawn(&_scope, move |_| async move {
            tracing::info!("{message}, spawned");
        });
        inner.await.map_err(|e| e.to_string())
    };
    let worker = fast(&queue);
    assert_eq!(worker.drain(handler).await.unwrap().done, 2);
    for t in ["globex", "acme"] {
        assert_eq!(
            capture.tenant_of(&format!("job of {t}"), "tenant_job"),
            Some(t.to_owned())
        );
        assert_eq!(
            capture.tenant_of(&format!("job of {t}, spawned"), "tenant_task"),
            Some(t.to_owned())
        );
    }
    queue.purge().await.unwrap();
}
