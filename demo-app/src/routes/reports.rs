//! `GET /api/reports/revenue`: the tenant's invoices grouped by status,
//! by month, or by both, in one grouped statement
//! (`select(..).group_by(..)`), scoped like every other query.
//!
//! The month is the invoice's stored `period` column (`YYYY-MM`, UTC, set
//! when the invoice is created): the aggregate builder groups by columns,
//! not by expressions such as the month of `created_at`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tenant_core::count;

use crate::auth::Tenant;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::models::{Invoice, InvoiceStatus};
use crate::state::AppState;

/// Revenue per group.
#[derive(Debug, Clone, Serialize)]
pub struct RevenueReport {
    /// One entry per group that has invoices, ordered by month, then
    /// status.
    pub groups: Vec<RevenueGroup>,
}

/// The invoices of one group.
#[derive(Debug, Clone, Serialize)]
pub struct RevenueGroup {
    /// The month (`YYYY-MM`), when grouping by month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    /// The status, when grouping by status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<InvoiceStatus>,
    /// How many invoices.
    pub invoices: i64,
    /// Their total amount in cents.
    pub amount_cents: i64,
}

/// Query of `GET /api/reports/revenue`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RevenueQuery {
    /// What to group by: `status` (the default), `month`, or both,
    /// comma-separated (`month,status`).
    pub group: Option<String>,
}

/// The grouping asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grouping {
    Status,
    Month,
    MonthAndStatus,
}

fn grouping(group: Option<&str>) -> Result<Grouping, ApiError> {
    let Some(group) = group.filter(|g| !g.is_empty()) else {
        return Ok(Grouping::Status);
    };
    let (mut month, mut status) = (false, false);
    for key in group.split(',') {
        match key.trim() {
            "month" if !month => month = true,
            "status" if !status => status = true,
            _ => {
                return Err(ApiError::InvalidQuery(
                    "group must be status, month, or month,status".to_owned(),
                ));
            }
        }
    }
    Ok(match (month, status) {
        (true, true) => Grouping::MonthAndStatus,
        (true, false) => Grouping::Month,
        _ => Grouping::Status,
    })
}

/// `GET /api/reports/revenue?group=status|month|month,status`.
pub async fn revenue(
    tenant: Tenant,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RevenueQuery>,
) -> Result<Json<RevenueReport>, ApiError> {
    let grouping = grouping(query.group.as_deref())?;
    let scope = tenant.scope();
    let mut tx = super::begin(&state, &tenant).await?;
    // A group has at least one invoice, so its sum is not NULL.
    let groups: Vec<RevenueGroup> = match grouping {
        Grouping::Status => Invoice::query(scope)
            .select((Invoice::STATUS, count(), Invoice::AMOUNT_CENTS.sum()))
            .group_by(Invoice::STATUS)
            .order_by(Invoice::STATUS.asc())
            .fetch_all(tx.tx())
            .await?
            .into_iter()
            .map(|(status, invoices, amount_cents)| RevenueGroup {
                month: None,
                status: Some(status),
                invoices,
                amount_cents: amount_cents.unwrap_or_default(),
            })
            .collect(),
        Grouping::Month => Invoice::query(scope)
            .select((Invoice::PERIOD, count(), Invoice::AMOUNT_CENTS.sum()))
            .group_by(Invoice::PERIOD)
            .order_by(Invoice::PERIOD.asc())
            .fetch_all(tx.tx())
            .await?
            .into_iter()
            .map(|(month, invoices, amount_cents)| RevenueGroup {
                month: Some(month),
                status: None,
                invoices,
                amount_cents: amount_cents.unwrap_or_default(),
            })
            .collect(),
        Grouping::MonthAndStatus => Invoice::query(scope)
            .select((
                Invoice::PERIOD,
                Invoice::STATUS,
                count(),
                Invoice::AMOUNT_CENTS.sum(),
            ))
            .group_by(Invoice::PERIOD)
            .group_by(Invoice::STATUS)
            .order_by(Invoice::PERIOD.asc())
            .order_by(Invoice::STATUS.asc())
            .fetch_all(tx.tx())
            .await?
            .into_iter()
            .map(|(month, status, invoices, amount_cents)| RevenueGroup {
                month: Some(month),
                status: Some(status),
                invoices,
                amount_cents: amount_cents.unwrap_or_default(),
            })
            .collect(),
    };
    tx.commit().await?;
    Ok(Json(RevenueReport { groups }))
}

/// Query of `GET /api/reports/ranked-invoices`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RankedQuery {
    /// Only invoices of at least this many cents (default 0).
    pub min_cents: Option<i64>,
}

/// One invoice and its rank among all of the tenant's invoices.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RankedInvoice {
    /// The invoice.
    pub id: i64,
    /// Its amount.
    pub amount_cents: i64,
    /// 1 for the largest invoice of the tenant; ties share a rank.
    pub place: i64,
}

/// `GET /api/reports/ranked-invoices?min_cents=`: the tenant's invoices of
/// at least `min_cents`, largest first, each ranked among all of the
/// tenant's invoices. The rank is a correlated subquery, which the builders
/// do not express: it is raw SQL through `tenant_core::query_as!`, whose
/// `{Invoice}` reads only the scope's rows (the compiler refuses a table
/// named directly).
pub async fn ranked_invoices(
    tenant: Tenant,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RankedQuery>,
) -> Result<Json<Vec<RankedInvoice>>, ApiError> {
    let min_cents = query.min_cents.unwrap_or(0);
    let mut tx = super::begin(&state, &tenant).await?;
    let rows = tenant_core::query_as!(
        RankedInvoice,
        tenant.scope(),
        "SELECT i.id, i.amount_cents,
                (SELECT COUNT(*) FROM {Invoice} o WHERE o.amount_cents > i.amount_cents) + 1 AS place
         FROM {Invoice} i
         WHERE i.amount_cents >= ?
         ORDER BY i.amount_cents DESC, i.id",
        min_cents,
    )
    .fetch_all(tx.tx())
    .await?;
    tx.commit().await?;
    Ok(Json(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groupings() {
        assert_eq!(grouping(None), Ok(Grouping::Status));
        assert_eq!(grouping(Some("")), Ok(Grouping::Status));
        assert_eq!(grouping(Some("status")), Ok(Grouping::Status));
        assert_eq!(grouping(Some("month")), Ok(Grouping::Month));
        assert_eq!(grouping(Some("month,status")), Ok(Grouping::MonthAndStatus));
        assert_eq!(grouping(Some("status,month")), Ok(Grouping::MonthAndStatus));
        for bad in ["day", "month,month", "status,", ",", "Month"] {
            assert!(grouping(Some(bad)).is_err(), "{bad}");
        }
    }
}
