//! Usage metering and the billing hook.
//!
//! Every counted event — an accepted API request, a created invoice — is
//! added to the tenant's row in `usage_periods` (one per calendar month, UTC,
//! so counts survive restarts) and then handed to a [`BillingSink`].
//!
//! `BillingSink` is where a real billing system plugs in: implement it to
//! forward events to Stripe metered billing, a message queue or a data
//! warehouse. The service ships [`NoopSink`] (the default) and
//! [`JsonLinesSink`] (`--billing-log PATH`), which appends one JSON object per
//! line to a file.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenant_core::{Error, TenantDb, TenantId, TenantScope, TenantTransaction};

use crate::models::{NewUsagePeriod, UsagePeriod};

/// What was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageKind {
    /// An authenticated API request was accepted.
    Request,
    /// An invoice was stored.
    InvoiceCreated,
}

/// One counted event, as given to a [`BillingSink`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageEvent {
    /// The tenant billed.
    pub tenant: TenantId,
    /// What happened.
    pub kind: UsageKind,
    /// How many units (always 1 today).
    pub quantity: i64,
    /// The billing period it counts in (`YYYY-MM`).
    pub period: String,
    /// When it was counted.
    pub at: DateTime<Utc>,
    /// The invoice, for [`UsageKind::InvoiceCreated`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<i64>,
}

/// Receives every counted usage event, after it has been stored.
///
/// This is the place a billing system plugs in. `record` is called on the
/// request path, so an implementation should hand the event off quickly
/// (buffer, channel) and must not panic; failures should be logged, not
/// returned, because the usage is already counted in the database.
pub trait BillingSink: Send + Sync {
    /// Takes one event.
    fn record(&self, event: &UsageEvent);
}

/// Discards events.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopSink;

impl BillingSink for NoopSink {
    fn record(&self, _event: &UsageEvent) {}
}

/// Appends each event as one JSON line to a file.
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
    fn record(&self, event: &UsageEvent) {
        let mut line = match serde_json::to_vec(event) {
            Ok(line) => line,
            Err(err) => {
                tracing::warn!(error = %err, "cannot serialise a usage event");
                return;
            }
        };
        line.push(b'\n');
        // One write of a whole line to an O_APPEND file: lines never
        // interleave.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(err) = file.write_all(&line) {
            tracing::warn!(error = %err, "cannot write to the billing log");
        }
    }
}

/// The current billing period: the calendar month in UTC, `YYYY-MM`.
pub fn current_period() -> String {
    Utc::now().format("%Y-%m").to_string()
}

/// Counts usage in the database and forwards it to the billing sink.
#[derive(Clone)]
pub struct Meter {
    sink: Arc<dyn BillingSink>,
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

    fn first_row(self, period: &str) -> NewUsagePeriod {
        NewUsagePeriod {
            period: period.to_owned(),
            requests: i64::from(matches!(self, Counter::Requests)),
            invoices_created: i64::from(matches!(self, Counter::InvoicesCreated)),
        }
    }
}

impl Meter {
    /// A meter that forwards to `sink`.
    pub fn new(sink: Arc<dyn BillingSink>) -> Self {
        Meter { sink }
    }

    /// Counts one accepted request.
    pub async fn count_request(
        &self,
        db: &TenantDb,
        scope: &TenantScope,
        period: &str,
    ) -> Result<(), Error> {
        // An upsert: increment the period's row, or create it. Two requests
        // opening a period at once both find no row; the loser of the insert
        // race gets a unique violation and increments the winner's row.
        for _ in 0..3 {
            if increment(db, scope, period, Counter::Requests).await? {
                self.emit(scope, UsageKind::Request, period, None);
                return Ok(());
            }
            match UsagePeriod::insert(scope, Counter::Requests.first_row(period))
                .execute(db)
                .await
            {
                Ok(_) => {
                    self.emit(scope, UsageKind::Request, period, None);
                    return Ok(());
                }
                Err(err) if err.is_unique_violation() => continue,
                Err(err) => return Err(err),
            }
        }
        Err(Error::InvalidInput(
            "usage row kept disappearing while being counted".to_owned(),
        ))
    }

    /// Counts one created invoice inside the transaction that stores it, so
    /// the count and the invoice commit together. Call
    /// [`invoice_created`](Meter::invoice_created) after the commit.
    pub async fn count_invoice_created(
        &self,
        tx: &mut TenantTransaction,
        scope: &TenantScope,
        period: &str,
    ) -> Result<(), Error> {
        let bumped = UsagePeriod::update(scope)
            .increment(Counter::InvoicesCreated.column(), 1)
            .filter(UsagePeriod::PERIOD.eq(period))
            .execute(&mut *tx)
            .await?;
        if bumped == 0 {
            // The request counter created this period's row before the
            // handler ran, so this happens only if it was removed since.
            UsagePeriod::insert(scope, Counter::InvoicesCreated.first_row(period))
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// Hands a committed invoice creation to the billing sink.
    pub fn invoice_created(&self, scope: &TenantScope, period: &str, invoice_id: i64) {
        self.emit(scope, UsageKind::InvoiceCreated, period, Some(invoice_id));
    }

    fn emit(&self, scope: &TenantScope, kind: UsageKind, period: &str, invoice_id: Option<i64>) {
        self.sink.record(&UsageEvent {
            tenant: *scope.tenant_id(),
            kind,
            quantity: 1,
            period: period.to_owned(),
            at: Utc::now(),
            invoice_id,
        });
    }
}

/// Adds one to `counter` of the period's row; `false` when the row is missing.
async fn increment(
    db: &TenantDb,
    scope: &TenantScope,
    period: &str,
    counter: Counter,
) -> Result<bool, Error> {
    let changed = UsagePeriod::update(scope)
        .increment(counter.column(), 1)
        .filter(UsagePeriod::PERIOD.eq(period))
        .execute(db)
        .await?;
    Ok(changed > 0)
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
            tenant: TenantId::parse("acme").expect("id"),
            kind: UsageKind::InvoiceCreated,
            quantity: 1,
            period: "2026-11".to_owned(),
            at: Utc::now(),
            invoice_id: Some(7),
        };
        sink.record(&event);
        sink.record(&UsageEvent {
            kind: UsageKind::Request,
            invoice_id: None,
            ..event
        });
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["tenant"], "acme");
        assert_eq!(lines[0]["kind"], "invoice_created");
        assert_eq!(lines[0]["invoice_id"], 7);
        assert_eq!(lines[1]["kind"], "request");
        assert!(lines[1].get("invoice_id").is_none());
    }
}
