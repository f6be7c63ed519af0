//! The billing outbox: every stored invoice is billed exactly once (after
//! deduplication by event id), however clients disconnect, and a delivery
//! that fails comes again with the same event ids.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Backend, Options, TestDb, TestServer};
use demo_app::metering::{BillingSink, SinkError, UsageEvent, UsageKind};
use demo_app::models::{Invoice, InvoiceQuota, Plan, UsagePeriod};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tenant_core::{TenantId, TenantScope};
use tokio::sync::Semaphore;

on_every_backend!(
    clients_dropped_at_random_points_lose_no_billing_event,
    failed_deliveries_come_again_with_the_same_event_ids,
);

/// A sink that keeps every batch it is handed. The first `fail_first`
/// batches are kept *and* refused, as if the process had died after the sink
/// took them but before the outbox marked them delivered.
#[derive(Default)]
struct CollectingSink {
    seen: Mutex<Vec<UsageEvent>>,
    fail_first: usize,
    calls: AtomicUsize,
}

impl BillingSink for CollectingSink {
    fn deliver(&self, events: &[UsageEvent]) -> Result<(), SinkError> {
        self.seen.lock().unwrap().extend_from_slice(events);
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.fail_first {
            return Err("simulated crash after the sink took the batch".into());
        }
        Ok(())
    }
}

impl CollectingSink {
    /// Every event once, by event id; a re-delivered id must carry the very
    /// same event.
    fn deduplicated(&self) -> (usize, HashMap<String, UsageEvent>) {
        let seen = self.seen.lock().unwrap();
        let mut unique = HashMap::new();
        for event in seen.iter() {
            if let Some(earlier) = unique.insert(event.event_id.clone(), event.clone()) {
                assert_eq!(&earlier, event, "one event id, two different events");
            }
        }
        (seen.len(), unique)
    }
}

/// Waits until the outbox is empty (the worker delivered everything).
async fn drain(srv: &TestServer) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending = demo_app::outbox::pending(&srv.db).await.unwrap();
        if pending == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} events still undelivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks, per tenant, that the stored invoices and the delivered events
/// agree: one `invoice_created` event per stored invoice, none for an
/// invoice that is not stored, and counters equal to the events.
async fn assert_billed_exactly_once(
    srv: &TestServer,
    tenants: &[&str],
    events: &HashMap<String, UsageEvent>,
) -> i64 {
    let mut total = 0;
    for tenant in tenants {
        let id = TenantId::parse(tenant).unwrap();
        let scope = TenantScope::new(id);
        let stored: HashSet<i64> = Invoice::query(&scope)
            .fetch_all(&srv.db)
            .await
            .unwrap()
            .into_iter()
            .map(|invoice| invoice.id)
            .collect();
        let mine: Vec<&UsageEvent> = events.values().filter(|e| e.tenant == id).collect();
        let mut created: HashMap<i64, usize> = HashMap::new();
        for event in mine.iter().filter(|e| e.kind == UsageKind::InvoiceCreated) {
            *created.entry(event.invoice_id.unwrap()).or_default() += 1;
        }
        for invoice in &stored {
            assert_eq!(
                created.get(invoice),
                Some(&1),
                "{tenant}: invoice {invoice} must have exactly one invoice_created event"
            );
        }
        for invoice in created.keys() {
            assert!(
                stored.contains(invoice),
                "{tenant}: an invoice_created event for invoice {invoice}, which is not stored"
            );
        }
        let requests = mine.iter().filter(|e| e.kind == UsageKind::Request).count();
        let usage = UsagePeriod::query(&scope)
            .fetch_optional(&srv.db)
            .await
            .unwrap()
            .map_or((0, 0), |p| (p.requests, p.invoices_created));
        let n = stored.len() as i64;
        // Only creates were sent: each stored invoice is one counted,
        // billed request, and nothing else is.
        assert_eq!(usage, (n, n), "{tenant}: usage counters");
        assert_eq!(requests as i64, n, "{tenant}: request events");
        let quota = InvoiceQuota::query(&scope)
            .fetch_one(&srv.db)
            .await
            .unwrap();
        assert_eq!(quota.invoices_stored, n, "{tenant}: quota counter");
        total += n;
    }
    total
}

/// Sends one create per entry of `patience`, `in_flight` at a time, spread
/// over `keys`; each is dropped (its connection closed) when its patience
/// runs out. Returns the status and latency of those answered in time.
async fn fire(
    srv: &Arc<TestServer>,
    keys: &[String],
    patience: Vec<Duration>,
    in_flight: usize,
) -> Vec<Option<(StatusCode, Duration)>> {
    let gate = Arc::new(Semaphore::new(in_flight));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, patience) in patience.into_iter().enumerate() {
        let srv = srv.clone();
        let key = keys[i % keys.len()].clone();
        let permit = gate.clone().acquire_owned().await.unwrap();
        tasks.spawn(async move {
            let started = Instant::now();
            let request = srv
                .request(Method::POST, "/api/invoices", Some(&key))
                .json(&json!({"amount_cents": i, "customer_email": "drop@example.com"}))
                .send();
            let outcome = tokio::time::timeout(patience, request).await;
            drop(permit);
            match outcome {
                Ok(Ok(response)) => Some((response.status(), started.elapsed())),
                Ok(Err(err)) => panic!("request failed: {err}"),
                Err(_) => None,
            }
        });
    }
    let mut outcomes = Vec::new();
    while let Some(outcome) = tasks.join_next().await {
        outcomes.push(outcome.unwrap());
    }
    outcomes
}

async fn clients_dropped_at_random_points_lose_no_billing_event(backend: Backend) {
    const CREATES: usize = 300;
    const IN_FLIGHT: usize = 12;
    const LATE: i64 = 20;
    let started = Instant::now();
    let seed = fastrand::u64(..);
    eprintln!("seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);

    let db = TestDb::new(backend).await;
    let sink = Arc::new(CollectingSink::default());
    let srv = Arc::new(
        TestServer::start_with(
            &db.url,
            Options {
                billing: sink.clone(),
                ..Options::default()
            },
        )
        .await,
    );
    let tenants = ["acme", "globex"];
    let mut keys = Vec::new();
    for tenant in tenants {
        keys.push(srv.tenant(tenant, Plan::Pro).await);
    }

    // How long a create takes here, under this load: the drops below are
    // spread over that time.
    let mut latencies = Vec::new();
    for round in fire(
        &srv,
        &keys,
        vec![Duration::from_secs(20); 2 * IN_FLIGHT],
        IN_FLIGHT,
    )
    .await
    {
        let (status, latency) = round.unwrap();
        assert_eq!(status, StatusCode::CREATED);
        latencies.push(latency);
    }
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let window = (2 * p50.as_micros() as u64).max(1_000);

    // Each request is abandoned after a random delay between 50 µs and
    // twice that median, log-uniform so that every scale is hit (a quarter
    // of them are left to finish): the client drops the connection before
    // the request is read, while the handler runs, around the commit, or
    // while the response is on its way.
    //
    // Rounds of CREATES go on until at least LATE invoices were stored for a
    // client that had gone (or the time budget is spent): those are the
    // creates whose billing used to be lost.
    let (low, high) = (50f64.ln(), (window as f64).ln());
    let (mut sent, mut created, mut abandoned) = (2 * IN_FLIGHT, 2 * IN_FLIGHT as i64, 0);
    loop {
        let patience = (0..CREATES)
            .map(|_| {
                if rng.u8(..4) == 0 {
                    Duration::from_secs(20)
                } else {
                    Duration::from_micros((low + rng.f64() * (high - low)).exp() as u64)
                }
            })
            .collect();
        for outcome in fire(&srv, &keys, patience, IN_FLIGHT).await {
            match outcome {
                Some((StatusCode::CREATED, _)) => created += 1,
                Some((other, _)) => panic!("unexpected status {other}"),
                None => abandoned += 1,
            }
        }
        sent += CREATES;
        let mut stored = 0;
        for tenant in tenants {
            stored += srv.stored(tenant).await;
        }
        if stored - created >= LATE || started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }

    drain(&srv).await;
    let (delivered, events) = sink.deduplicated();
    let stored = assert_billed_exactly_once(&srv, &tenants, &events).await;
    eprintln!(
        "{backend:?}: {} creates (median {p50:?}), {created} answered 201, {abandoned} abandoned \
         after up to {window} µs; \
         {stored} invoices stored ({} of them after the client had gone), \
         {delivered} events delivered ({} distinct), in {:.1} s",
        sent,
        stored - created,
        events.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(stored >= created);
    assert!(
        stored > created,
        "no create was committed after its client had gone: the scenario was not exercised"
    );
    Arc::into_inner(srv).unwrap().stop().await;
}

async fn failed_deliveries_come_again_with_the_same_event_ids(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sink = Arc::new(CollectingSink {
        fail_first: 2,
        ..CollectingSink::default()
    });
    let srv = TestServer::start_with(
        &db.url,
        Options {
            billing: sink.clone(),
            ..Options::default()
        },
    )
    .await;
    let key = srv.tenant("acme", Plan::Pro).await;
    for amount in 0..5 {
        srv.create_invoice(&key, amount).await;
    }
    drain(&srv).await;
    let (delivered, events) = sink.deduplicated();
    assert!(sink.calls.load(Ordering::SeqCst) > 2);
    assert!(
        delivered > events.len(),
        "the refused batches were handed over again"
    );
    // Every event handed to a refused batch came again, same id, and was
    // then accepted.
    assert_eq!(
        assert_billed_exactly_once(&srv, &["acme"], &events).await,
        5
    );
    assert_eq!(events.len(), 10);
    srv.stop().await;
}
