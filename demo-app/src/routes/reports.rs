//! `GET /api/reports/revenue`: the tenant's invoices grouped by status, in
//! one grouped statement (`select(..).group_by(..)`), scoped like every
//! other query.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tenant_core::count;

use crate::auth::Tenant;
use crate::error::ApiError;
use crate::models::{Invoice, InvoiceStatus};
use crate::state::AppState;

/// Revenue per invoice status.
#[derive(Debug, Clone, Serialize)]
pub struct RevenueReport {
    /// One entry per status that has invoices, in status order.
    pub groups: Vec<RevenueGroup>,
}

/// The invoices of one status.
#[derive(Debug, Clone, Serialize)]
pub struct RevenueGroup {
    /// The status.
    pub status: InvoiceStatus,
    /// How many invoices.
    pub invoices: i64,
    /// Their total amount in cents.
    pub amount_cents: i64,
}

/// `GET /api/reports/revenue`.
pub async fn revenue(
    tenant: Tenant,
    State(state): State<AppState>,
) -> Result<Json<RevenueReport>, ApiError> {
    let mut tx = super::begin(&state, &tenant).await?;
    let rows = Invoice::query(tenant.scope())
        .select((Invoice::STATUS, count(), Invoice::AMOUNT_CENTS.sum()))
        .group_by(Invoice::STATUS)
        .order_by(Invoice::STATUS.asc())
        .fetch_all(tx.tx())
        .await?;
    tx.commit().await?;
    Ok(Json(RevenueReport {
        groups: rows
            .into_iter()
            .map(|(status, invoices, amount_cents)| RevenueGroup {
                status,
                invoices,
                // A group has at least one invoice, so its sum is not NULL.
                amount_cents: amount_cents.unwrap_or_default(),
            })
            .collect(),
    }))
}
