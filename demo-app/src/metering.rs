//! Usage metering and the billing hook.
//!
//! A request is counted only if it succeeds, and only by the database commit
//! of its own work: every API handler runs in a [`MeteredTx`], and committing
//! it adds the request (and, for a create, the invoice) to the tenant's
//! `usage_periods` row *and* writes one [`OutboxEvent`] row per billed event
//! — in the same transaction as the invoice or the read it counts. A request
//! that fails (4xx, 5xx) rolls back and counts nothing; a request whose
//! client goes away after the commit is counted and billed all the same,
//! because nothing billable happens after the commit in the handler.
//!
//! The outbox worker ([`crate::outbox`]) hands the committed events to a
//! [`BillingSink`], at least once: `event_id` identifies an event across
//! re-deliveries. `BillingSink` is where a real billing system plugs in
//! (Stripe metered billing, a message queue, a data warehouse). The service
//! ships [`NoopSink`] (the default) and [`JsonLinesSink`] (`--billing-log
//! PATH`), which appends one JSON object per line to a file.

use std::collections::HashSet;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenant_core::{Backend, Error, TenantDb, TenantId, TenantScope, TenantTransaction};

pub use crate::models::UsageKind;
use crate::models::{NewOutboxEvent, NewUsagePeriod, OutboxEvent, UsagePeriod};
use crate::outbox::OutboxSignal;

/// One billed event, as given to a [`BillingSink`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageEvent {
    /// Stable unique id: the same event delivered twice has the same id, so
    /// a consumer deduplicates by it.
    pub event_id: String,
    /// The tenant billed.
    pub tenant: TenantId,
    /// What happened.
    pub kind: UsageKind,
    /// How many units (always 1 today).
    pub quantity: i64,
    /// The billing period it counts in (`YYYY-MM`).
    pub period: String,
    /// When it was committed.
    pub at: DateTime<Utc>,
    /// The invoice, for [`UsageKind::InvoiceCreated`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<i64>,
}

impl From<OutboxEvent> for UsageEvent {
    fn from(row: OutboxEvent) -> Self {
        UsageEvent {
            event_id: row.event_id,
            tenant: row.tenant_id,
            kind: row.kind,
            quantity: row.quantity,
            period: row.period,
            at: row.created_at,
            invoice_id: row.invoice_id,
        }
    }
}

/// Why a [`BillingSink`] did not accept events; they are delivered again
/// later.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Receives every billed event, after its database commit.
///
/// This is the place a billing system plugs in. The outbox worker calls
/// [`deliver`](BillingSink::deliver) on a blocking thread, never on the
/// request path, with events of one tenant in the order they were written.
/// `Ok` means the sink has durably taken every event of the batch; only then
/// are they marked delivered. An `Err` (or a crash before the mark) means the same events,
/// with the same `event_id`s, come again: delivery is at least once, and a
/// consumer must deduplicate by `event_id`.
pub trait BillingSink: Send + Sync {
    /// Takes a batch of events.
    fn deliver(&self, events: &[UsageEvent]) -> Result<(), SinkError>;
}

/// Discards events.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopSink;

impl BillingSink for NoopSink {
    fn deliver(&self, _events: &[UsageEvent]) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Appends each event as one JSON line to a file, `event_id` included, and
/// syncs the file before reporting a batch as taken. A reader deduplicates
/// by `event_id` (a line can repeat after a crash between the write and the
/// outbox's mark).
#[derive(Debug)]
pub struct JsonLinesSink {
    file: Mutex<File>,
}

impl JsonLinesSink {
    /// Opens `path` for appending, creating it if missing.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JsonLinesSink {
            file: Mutex::new(file),
        })
    }
}

impl BillingSink for JsonLinesSink {
    fn deliver(&self, events: &[UsageEvent]) -> Result<(), SinkError> {
        let mut lines = Vec::with_capacity(200 * events.len());
        for event in events {
            serde_json::to_writer(&mut lines, event)?;
            lines.push(b'\n');
        }
        // One write of whole lines to an O_APPEND file: lines never
        // interleave.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(&lines)?;
        file.sync_data()?;
        Ok(())
    }
}

/// The current billing period: the calendar month in UTC, `YYYY-MM`.
pub fn current_period() -> String {
    Utc::now().format("%Y-%m").to_string()
}

/// Counts usage in the database, in the transaction of what it counts.
#[derive(Clone)]
pub struct Meter {
    /// Tenants whose `usage_periods` row for the period is known to exist.
    opened: Arc<Mutex<OpenedPeriods>>,
    outbox: Arc<OutboxSignal>,
}

#[derive(Default)]
struct OpenedPeriods {
    period: String,
    tenants: HashSet<TenantId>,
}

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Meter")
    }
}

/// Which counter of `usage_periods` to add to.
#[derive(Debug, Clone, Copy)]
enum Counter {
    Requests,
    InvoicesCreated,
}

impl Counter {
    fn column(self) -> tenant_core::Column<UsagePeriod, i64> {
        match self {
            Counter::Requests => UsagePeriod::REQUESTS,
            Counter::InvoicesCreated => UsagePeriod::INVOICES_CREATED,
        }
    }
}

impl Meter {
    /// A meter that wakes the outbox worker through `outbox` after each
    /// commit that wrote events.
    pub fn new(outbox: Arc<OutboxSignal>) -> Self {
        Meter {
            opened: Arc::default(),
            outbox,
        }
    }

    /// Opens the transaction of one API request of `scope`'s tenant, counted
    /// in `period` when it commits. Dropping it, or
    /// [`rollback`](MeteredTx::rollback), counts nothing.
    pub async fn begin(
        &self,
        db: &TenantDb,
        scope: &TenantScope,
        period: &str,
    ) -> Result<MeteredTx, Error> {
        self.open_period(db, scope, period).await?;
        let mut tx = MeteredTx {
            tx: db.begin(scope).await?,
            period: period.to_owned(),
            meter: self.clone(),
            request_counted: false,
        };
        // SQLite: the first statement of a transaction should be a write.
        // A transaction that reads first and writes later fails at once
        // with SQLITE_BUSY when another connection wrote in between (the
        // busy timeout does not apply to that upgrade). SQLite serialises
        // writers anyway, so counting first costs no concurrency there.
        // PostgreSQL and MySQL lock rows, not the database: count at commit,
        // so the usage row stays locked only for the last moment of the
        // transaction.
        if db.backend() == Backend::Sqlite {
            tx.count_request().await?;
        }
        Ok(tx)
    }

    /// Makes sure the tenant's row for `period` exists, outside any
    /// transaction, so that the counting inside one is a plain `UPDATE`:
    /// inside a transaction, losing an insert race to another request (a
    /// unique violation) fails the whole transaction (PostgreSQL aborts it;
    /// tenant-core holds SQLite and MySQL to the same rule, and on MySQL the
    /// losing insert would also keep a lock on the winner's row).
    /// Remembered per process, so this costs a statement once per tenant and
    /// period.
    async fn open_period(
        &self,
        db: &TenantDb,
        scope: &TenantScope,
        period: &str,
    ) -> Result<(), Error> {
        let tenant = *scope.tenant_id();
        if self.is_open(&tenant, period) {
            return Ok(());
        }
        let exists = UsagePeriod::query(scope)
            .filter(UsagePeriod::PERIOD.eq(period))
            .count(db)
            .await?
            > 0;
        if !exists {
            let row = NewUsagePeriod {
                period: period.to_owned(),
                requests: 0,
                invoices_created: 0,
            };
            match UsagePeriod::insert(scope, row).execute(db).await {
                Ok(_) => {}
                // Another request opened it first.
                Err(err) if err.is_unique_violation() => {}
                Err(err) => return Err(err),
            }
        }
        let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        if opened.period != period {
            opened.period = period.to_owned();
            opened.tenants.clear();
        }
        opened.tenants.insert(tenant);
        Ok(())
    }

    fn is_open(&self, tenant: &TenantId, period: &str) -> bool {
        let opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        opened.period == period && opened.tenants.contains(tenant)
    }
}

/// The transaction of one API request: the handler's statements run on
/// [`tx`](MeteredTx::tx), and [`commit`](MeteredTx::commit) counts the
/// request with them. See the [module](self) documentation.
#[derive(Debug)]
pub struct MeteredTx {
    tx: TenantTransaction,
    period: String,
    meter: Meter,
    request_counted: bool,
}

impl MeteredTx {
    /// The transaction, to pass as `&mut` to the builders' terminals.
    pub fn tx(&mut self) -> &mut TenantTransaction {
        &mut self.tx
    }

    /// Counts a created invoice (and writes its `invoice_created` event) in
    /// this transaction, so it commits together with the invoice.
    pub async fn invoice_created(&mut self, invoice_id: i64) -> Result<(), Error> {
        self.count(Counter::InvoicesCreated, Some(invoice_id)).await
    }

    /// Counts many created invoices at once (`POST /api/invoices/batch`):
    /// one `usage_periods` update by their number and one `invoice_created`
    /// event per invoice, written with one multi-row insert, in this
    /// transaction. Each event is the one the single create would write, so
    /// consumers see no difference.
    pub async fn invoices_created_many(&mut self, invoice_ids: &[i64]) -> Result<(), Error> {
        let n = i64::try_from(invoice_ids.len()).unwrap_or(i64::MAX);
        if n == 0 {
            return Ok(());
        }
        let scope = self.tx.scope().clone();
        self.bump(&scope, Counter::InvoicesCreated, n).await?;
        let events = invoice_ids.iter().map(|&id| NewOutboxEvent {
            event_id: uuid::Uuid::new_v4().to_string(),
            kind: UsageKind::InvoiceCreated,
            quantity: 1,
            period: self.period.clone(),
            invoice_id: Some(id),
            delivered_at: None,
        });
        OutboxEvent::insert_many(&scope, events.collect::<Vec<_>>())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    /// Counts the request, commits, then wakes the outbox worker. The wake-up
    /// is only a shortcut: if the caller is dropped after the commit, the
    /// worker's periodic sweep delivers the events.
    pub async fn commit(mut self) -> Result<(), Error> {
        self.count_request().await?;
        let tenant = *self.tx.scope().tenant_id();
        self.tx.commit().await?;
        self.meter.outbox.wake(tenant);
        Ok(())
    }

    /// Rolls back: nothing is counted.
    pub async fn rollback(self) -> Result<(), Error> {
        self.tx.rollback().await
    }

    /// Counts the request now rather than at commit, for a handler that
    /// reports usage including itself. Idempotent.
    pub async fn count_request(&mut self) -> Result<(), Error> {
        if !self.request_counted {
            self.count(Counter::Requests, None).await?;
            self.request_counted = true;
        }
        Ok(())
    }

    /// Adds one to `counter` and writes the matching outbox row.
    async fn count(&mut self, counter: Counter, invoice_id: Option<i64>) -> Result<(), Error> {
        let scope = self.tx.scope().clone();
        self.bump(&scope, counter, 1).await?;
        let kind = match counter {
            Counter::Requests => UsageKind::Request,
            Counter::InvoicesCreated => UsageKind::InvoiceCreated,
        };
        OutboxEvent::insert(
            &scope,
            NewOutboxEvent {
                event_id: uuid::Uuid::new_v4().to_string(),
                kind,
                quantity: 1,
                period: self.period.clone(),
                invoice_id,
                delivered_at: None,
            },
        )
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }
}

impl MeteredTx {
    /// Adds `n` to `counter` in the period's `usage_periods` row.
    async fn bump(&mut self, scope: &TenantScope, counter: Counter, n: i64) -> Result<(), Error> {
        let bumped = UsagePeriod::update(scope)
            .increment(counter.column(), n)
            .filter(UsagePeriod::PERIOD.eq(self.period.as_str()))
            .execute(&mut self.tx)
            .await?;
        if bumped == 0 {
            // The row was opened before the transaction began, so it was
            // removed since (by hand): create it again, counting this event.
            let row = NewUsagePeriod {
                period: self.period.clone(),
                requests: if matches!(counter, Counter::Requests) {
                    n
                } else {
                    0
                },
                invoices_created: if matches!(counter, Counter::InvoicesCreated) {
                    n
                } else {
                    0
                },
            };
            UsagePeriod::insert(scope, row)
                .execute(&mut self.tx)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_sink_appends_one_object_per_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("billing.jsonl");
        let sink = JsonLinesSink::open(&path).expect("open");
        let event = UsageEvent {
            event_id: "e1".to_owned(),
            tenant: TenantId::parse("acme").expect("id"),
            kind: UsageKind::InvoiceCreated,
            quantity: 1,
            period: "2026-11".to_owned(),
            at: Utc::now(),
            invoice_id: Some(7),
        };
        sink.deliver(std::slice::from_ref(&event)).expect("taken");
        sink.deliver(&[UsageEvent {
            event_id: "e2".to_owned(),
            kind: UsageKind::Request,
            invoice_id: None,
            ..event
        }])
        .expect("taken");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event_id"], "e1");
        assert_eq!(lines[0]["tenant"], "acme");
        assert_eq!(lines[0]["kind"], "invoice_created");
        assert_eq!(lines[0]["invoice_id"], 7);
        assert_eq!(lines[1]["event_id"], "e2");
        assert_eq!(lines[1]["kind"], "request");
        assert!(lines[1].get("invoice_id").is_none());
    }
}
