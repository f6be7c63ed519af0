//! `GET /api/usage`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::auth::Tenant;
use crate::error::ApiError;
use crate::models::{InvoiceQuota, Plan, UsagePeriod};
use crate::state::AppState;

/// The tenant's usage against its plan.
#[derive(Debug, Clone, Serialize)]
pub struct UsageReport {
    /// The tenant.
    pub tenant: String,
    /// Its plan.
    pub plan: Plan,
    /// The current billing period (`YYYY-MM`, UTC).
    pub period: String,
    /// Stored invoices against the plan's limit.
    pub invoices: InvoiceUsage,
    /// Requests in the period, including this one.
    pub requests: RequestUsage,
}

/// Invoice counts.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceUsage {
    /// Invoices stored now.
    pub stored: i64,
    /// The plan's limit; `null` is unlimited.
    pub limit: Option<i64>,
    /// How many more may be created; `null` is unlimited.
    pub remaining: Option<i64>,
    /// Invoices created in the period.
    pub created_this_period: i64,
}

/// Request counts.
#[derive(Debug, Clone, Serialize)]
pub struct RequestUsage {
    /// Accepted requests in the period.
    pub this_period: i64,
    /// The plan's rate limit; `null` is off.
    pub rate_limit_per_minute: Option<u32>,
}

/// `GET /api/usage`.
pub async fn show(
    tenant: Tenant,
    State(state): State<AppState>,
) -> Result<Json<UsageReport>, ApiError> {
    let scope = tenant.scope();
    let mut tx = super::begin(&state, &tenant).await?;
    // The report includes this request.
    tx.count_request().await?;
    let stored = InvoiceQuota::query(scope)
        .fetch_optional(tx.tx())
        .await?
        .map_or(0, |q| q.invoices_stored);
    let period = UsagePeriod::query(scope)
        .filter(UsagePeriod::PERIOD.eq(tenant.period()))
        .fetch_optional(tx.tx())
        .await?;
    tx.commit().await?;
    let limits = state.config().limits.for_plan(tenant.plan());
    Ok(Json(UsageReport {
        tenant: tenant.id().to_string(),
        plan: tenant.plan(),
        period: tenant.period().to_owned(),
        invoices: InvoiceUsage {
            stored,
            limit: limits.max_invoices,
            remaining: limits.max_invoices.map(|max| (max - stored).max(0)),
            created_this_period: period.as_ref().map_or(0, |p| p.invoices_created),
        },
        requests: RequestUsage {
            this_period: period.as_ref().map_or(0, |p| p.requests),
            rate_limit_per_minute: limits.requests_per_minute,
        },
    }))
}
