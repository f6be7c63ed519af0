//! Delivery of the billing outbox to the [`BillingSink`].
//!
//! Handlers write [`OutboxEvent`] rows in the transaction of what they bill
//! (see [`crate::metering`]). This worker reads the undelivered rows, hands
//! them to the sink and, once the sink has accepted a batch, sets their
//! `delivered_at`. A crash (or a sink error) between the hand-off and the mark
//! delivers the same rows again, with the same `event_id`: delivery is at
//! least once, and consumers deduplicate by `event_id`. Two servers on one
//! database may also both deliver a row; the same rule covers it.
//!
//! # One tenant at a time
//!
//! `billing_outbox` is tenant-owned (see [`OutboxEvent`] for why), and
//! tenant-core has no cross-tenant capability yet, so the worker cannot read
//! every tenant's rows in one query. It walks the global tenants directory
//! instead and makes a [`TenantScope`] for each tenant: the worker is one of
//! the few trust boundaries that mint scopes (the tenant comes from the
//! directory, not from any request), and `tenant_scope` is that one call
//! site. A pass costs one query per tenant, so after a commit the worker
//! visits just the tenants that were woken ([`OutboxSignal::wake`]); a full
//! sweep of every tenant runs every [`SWEEP_INTERVAL`] and at shutdown, and
//! picks up what a wake-up missed (a request dropped right after its commit,
//! another process, a failed delivery).

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use tenant_core::{TenantDb, TenantId, TenantScope};
use tokio::sync::Notify;

use crate::metering::{BillingSink, UsageEvent, UsageKind};
use crate::models::{OutboxEvent, TenantRecord};

/// Largest number of events handed to the sink at once.
pub const BATCH_SIZE: u32 = 200;

/// How often every tenant's outbox is checked, whatever the wake-ups.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// Tells the worker which tenants have new events. Shared by the
/// [`Meter`](crate::metering::Meter) (which wakes it after a commit) and the
/// worker.
#[derive(Default)]
pub struct OutboxSignal {
    woken: Mutex<HashSet<TenantId>>,
    notify: Notify,
}

impl fmt::Debug for OutboxSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OutboxSignal")
    }
}

impl OutboxSignal {
    /// Notes that `tenant` has committed events and wakes the worker.
    pub fn wake(&self, tenant: TenantId) {
        self.woken
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tenant);
        self.notify.notify_one();
    }

    fn take_woken(&self) -> Vec<TenantId> {
        let mut woken = self.woken.lock().unwrap_or_else(PoisonError::into_inner);
        woken.drain().collect()
    }
}

/// Why a delivery pass stopped early. Undelivered events stay in the outbox
/// and are tried again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// Reading or marking the outbox failed.
    #[error("outbox: {0}")]
    Database(#[from] tenant_core::Error),
    /// The sink refused a batch.
    #[error("billing sink: {0}")]
    Sink(String),
}

/// The scope the worker uses for `tenant`, a tenant read from the tenants
/// directory. This is the worker's trust boundary; see the
/// [module](self) documentation.
fn tenant_scope(tenant: TenantId) -> TenantScope {
    TenantScope::new(tenant)
}

/// Delivers every pending event of `tenant`, in batches, in id order.
/// Returns how many were delivered.
pub async fn deliver_tenant(
    db: &TenantDb,
    sink: &Arc<dyn BillingSink>,
    tenant: TenantId,
) -> Result<usize, DeliveryError> {
    let scope = tenant_scope(tenant);
    let mut delivered = 0;
    loop {
        let rows = OutboxEvent::query(&scope)
            .filter(OutboxEvent::DELIVERED_AT.is_null())
            .order_by(OutboxEvent::ID.asc())
            .limit(BATCH_SIZE)
            .fetch_all(db)
            .await?;
        if rows.is_empty() {
            return Ok(delivered);
        }
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let full_batch = rows.len() == BATCH_SIZE as usize;
        let events: Vec<UsageEvent> = rows.into_iter().map(UsageEvent::from).collect();

        // A sink may block (file I/O, a synchronous client).
        let taken = {
            let sink = Arc::clone(sink);
            tokio::task::spawn_blocking(move || sink.deliver(&events).map(|()| events)).await
        };
        let events = match taken {
            Ok(Ok(events)) => events,
            Ok(Err(err)) => return Err(DeliveryError::Sink(err.to_string())),
            Err(join) => return Err(DeliveryError::Sink(format!("the sink panicked: {join}"))),
        };

        // Taken by the sink: mark exactly the rows handed over (not an id
        // range: ids are handed out before commit, so a row with a smaller id
        // can commit later). If this fails, or the process stops first, they
        // are delivered again.
        OutboxEvent::update(&scope)
            .set(OutboxEvent::DELIVERED_AT, Some(Utc::now()))
            .filter(OutboxEvent::ID.is_in(ids))
            .execute(db)
            .await?;
        for event in &events {
            if event.kind == UsageKind::InvoiceCreated {
                tracing::info!(
                    tenant = %event.tenant,
                    invoice_id = event.invoice_id,
                    event_id = %event.event_id,
                    "invoice_created billing event delivered"
                );
            }
        }
        tracing::debug!(tenant = %tenant, count = events.len(), "billing events delivered");
        delivered += events.len();
        if !full_batch {
            return Ok(delivered);
        }
    }
}

/// Delivers the pending events of every tenant in the directory. Returns how
/// many were delivered; stops at the first failure.
pub async fn deliver_all(
    db: &TenantDb,
    sink: &Arc<dyn BillingSink>,
) -> Result<usize, DeliveryError> {
    let mut delivered = 0;
    for tenant in all_tenants(db).await? {
        delivered += deliver_tenant(db, sink, tenant).await?;
    }
    Ok(delivered)
}

/// Events of every tenant not yet delivered.
pub async fn pending(db: &TenantDb) -> Result<i64, tenant_core::Error> {
    let mut pending = 0;
    for tenant in all_tenants(db).await? {
        pending += OutboxEvent::query(&tenant_scope(tenant))
            .filter(OutboxEvent::DELIVERED_AT.is_null())
            .count(db)
            .await?;
    }
    Ok(pending)
}

async fn all_tenants(db: &TenantDb) -> Result<Vec<TenantId>, tenant_core::Error> {
    Ok(TenantRecord::query()
        .order_by(TenantRecord::ID.asc())
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|record| record.id)
        .collect())
}

/// Runs the delivery worker until `shutdown` completes, then makes a last
/// full pass (so a graceful stop leaves nothing behind that the sink could
/// take) and returns.
pub async fn run(
    db: TenantDb,
    sink: Arc<dyn BillingSink>,
    signal: Arc<OutboxSignal>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        let result = tokio::select! {
            () = &mut shutdown => break,
            _ = sweep.tick() => deliver_all(&db, &sink).await,
            () = signal.notify.notified() => {
                let mut delivered = Ok(0);
                for tenant in signal.take_woken() {
                    delivered = deliver_tenant(&db, &sink, tenant).await;
                    if delivered.is_err() {
                        break;
                    }
                }
                delivered
            }
        };
        if let Err(err) = result {
            // Left in the outbox; the next sweep tries again.
            tracing::warn!(error = %err, "billing delivery failed; will retry");
        }
    }
    if let Err(err) = deliver_all(&db, &sink).await {
        tracing::warn!(error = %err, "billing delivery at shutdown failed; events stay in the outbox");
    }
}
