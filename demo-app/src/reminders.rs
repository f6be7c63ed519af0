//! Monthly invoice reminders, as background jobs on Redis (`tenant-jobs`).
//!
//! `demo-app jobs enqueue-reminders` queues one [`InvoiceReminder`] per
//! tenant; `demo-app jobs work` runs them: each job counts its tenant's open
//! invoices through the builders, with the scope the worker re-created from
//! the job, and logs (and prints) a reminder. Nothing here runs unless those
//! commands are used, so the service itself needs no Redis.
//!
//! # Where the scopes come from
//!
//! Enqueueing needs each tenant's [`TenantScope`] (a
//! [`TenantJob`] is made only from one). The tenants are read from the global
//! `tenants` directory, and each scope comes from the cross-tenant
//! capability ([`CrossTenant::scope`]), so every tenant the enqueuer acts
//! for is in the audit log with the reason. On the worker's side the scope
//! is re-created by [`tenant_jobs::Worker`] from each job's payload.

use std::fmt;

use serde::{Deserialize, Serialize};
use tenant_core::{CrossTenant, TenantDb, TenantId, TenantScope};
use tenant_jobs::{JobQueue, TenantJob};

use crate::models::{Invoice, InvoiceStatus, TenantRecord};

/// The queue the demo uses unless told otherwise.
pub const DEFAULT_QUEUE: &str = "invoice-reminders";

/// The job: remind a tenant of its open invoices for `month` (`YYYY-MM`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceReminder {
    /// The month the reminder is for.
    pub month: String,
}

/// What a reminder job found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// The tenant, from the job's scope.
    pub tenant: TenantId,
    /// The month of the job.
    pub month: String,
    /// How many of the tenant's invoices are open.
    pub open_invoices: i64,
}

impl fmt::Display for Reminder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reminder {}: tenant {} has {} open invoice(s)",
            self.month, self.tenant, self.open_invoices
        )
    }
}

/// Why queueing the reminders failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReminderError {
    /// Reading the tenants directory failed.
    #[error("cannot list the tenants: {0}")]
    Database(#[from] tenant_core::Error),
    /// The queue (Redis) failed.
    #[error("job queue: {0}")]
    Queue(#[from] tenant_jobs::JobError),
    /// The month is not `YYYY-MM`.
    #[error("invalid month {0:?}: expected YYYY-MM")]
    InvalidMonth(String),
}

/// Checks that `month` is `YYYY-MM` (month 01-12).
///
/// ```
/// use demo_app::reminders::parse_month;
/// assert_eq!(parse_month("2026-11").unwrap(), "2026-11");
/// assert!(parse_month("2026-13").is_err());
/// assert!(parse_month("2026-1").is_err());
/// ```
pub fn parse_month(month: &str) -> Result<String, ReminderError> {
    chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| month.len() == 7)
        .map(|_| month.to_owned())
        .ok_or_else(|| ReminderError::InvalidMonth(month.to_owned()))
}

/// Queues one reminder for `month` per tenant of the directory; returns the
/// tenants, in id order.
pub async fn enqueue_reminders(
    db: &TenantDb,
    queue: &JobQueue<InvoiceReminder>,
    month: &str,
) -> Result<Vec<TenantId>, ReminderError> {
    let month = parse_month(month)?;
    let tenants: Vec<TenantId> = TenantRecord::query()
        .order_by(TenantRecord::ID.asc())
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|record| record.id)
        .collect();
    let enqueuer = CrossTenant::audited("monthly invoice reminders: one job per tenant");
    for &tenant in &tenants {
        let scope = enqueuer.scope(tenant)?;
        let job = TenantJob::new(
            &scope,
            InvoiceReminder {
                month: month.clone(),
            },
        );
        queue.enqueue(job).await?;
    }
    Ok(tenants)
}

/// The job's handler: counts the scope's open invoices and logs a reminder
/// (the worker's span carries the tenant).
pub async fn remind(
    db: &TenantDb,
    scope: &TenantScope,
    job: InvoiceReminder,
) -> Result<Reminder, tenant_core::Error> {
    let open_invoices = Invoice::query(scope)
        .filter(Invoice::STATUS.eq(InvoiceStatus::Open))
        .count(db)
        .await?;
    let reminder = Reminder {
        tenant: *scope.tenant_id(),
        month: job.month,
        open_invoices,
    };
    tracing::info!(
        month = %reminder.month,
        open_invoices,
        "monthly invoice reminder"
    );
    Ok(reminder)
}
