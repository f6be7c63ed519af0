//! `/api/invoices`: create, list, read, update and delete the tenant's
//! invoices. Every query goes through `tenant.scope()`, so another tenant's
//! invoice is simply not found.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenant_core::{Assigned, SortOrder, Update};

use crate::auth::Tenant;
use crate::error::ApiError;
use crate::extract::{ApiQuery, InvoiceId, JsonBody};
use crate::models::{Invoice, InvoiceQuota, InvoiceStatus, NewInvoice};
use crate::state::AppState;
use crate::validate;

/// Default page size of the list.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page size; larger requests are capped to it.
pub const MAX_PAGE_SIZE: u32 = 100;

/// An invoice as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceView {
    /// Id.
    pub id: i64,
    /// Amount in cents.
    pub amount_cents: i64,
    /// Customer email.
    pub customer_email: String,
    /// Status.
    pub status: InvoiceStatus,
    /// Creation time (UTC).
    pub created_at: DateTime<Utc>,
}

impl From<Invoice> for InvoiceView {
    fn from(invoice: Invoice) -> Self {
        InvoiceView {
            id: invoice.id,
            amount_cents: invoice.amount_cents,
            customer_email: invoice.customer_email,
            status: invoice.status,
            created_at: invoice.created_at,
        }
    }
}

/// Body of `POST /api/invoices`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInvoice {
    /// Amount in cents, not negative.
    pub amount_cents: i64,
    /// Customer email.
    pub customer_email: String,
    /// Initial status; `draft` when absent.
    #[serde(default)]
    pub status: Option<InvoiceStatus>,
}

/// Body of `PATCH /api/invoices/{id}`: at least one field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchInvoice {
    /// New amount.
    #[serde(default)]
    pub amount_cents: Option<i64>,
    /// New email.
    #[serde(default)]
    pub customer_email: Option<String>,
    /// New status.
    #[serde(default)]
    pub status: Option<InvoiceStatus>,
}

/// Query of `GET /api/invoices`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    /// Page size (1 to [`MAX_PAGE_SIZE`]; larger values are capped).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only invoices of at least this amount.
    pub min_amount_cents: Option<i64>,
    /// Only invoices with this status.
    pub status: Option<String>,
}

/// One page of invoices, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct InvoicePage {
    /// The invoices.
    pub items: Vec<InvoiceView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/invoices`: stores an invoice if the plan's quota allows it.
///
/// The quota counter is incremented with a bound (`invoices_stored <
/// limit`) in the same transaction as the insert: concurrent creates cannot
/// overshoot the quota, and a refused create stores nothing. The usage
/// counters and the `invoice_created` billing event (an outbox row) commit
/// in that transaction too, so a stored invoice is always billed exactly
/// once, even if the client disconnects right after the commit.
pub async fn create(
    tenant: Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateInvoice>,
) -> Result<(StatusCode, Json<InvoiceView>), ApiError> {
    let new = NewInvoice {
        amount_cents: validate::amount_cents("amount_cents", body.amount_cents)?,
        customer_email: validate::email("customer_email", body.customer_email)?,
        status: body.status.unwrap_or(InvoiceStatus::Draft),
    };
    let scope = tenant.scope();
    let limit = state.config().limits.for_plan(tenant.plan()).max_invoices;

    let mut tx = super::begin(&state, &tenant).await?;
    let reserve = InvoiceQuota::update(scope).increment(InvoiceQuota::INVOICES_STORED, 1);
    let reserve = match limit {
        Some(limit) => reserve.filter(InvoiceQuota::INVOICES_STORED.lt(limit)),
        None => reserve,
    };
    if reserve.execute(tx.tx()).await? == 0 {
        let counter = InvoiceQuota::query(scope).fetch_optional(tx.tx()).await?;
        tx.rollback().await?;
        return match (counter, limit) {
            (Some(_), Some(limit)) => Err(ApiError::QuotaExceeded { limit }),
            _ => {
                tracing::error!("the tenant has no invoice_quota row; run `demo-app migrate`");
                Err(ApiError::Internal)
            }
        };
    }
    let invoice = Invoice::insert(scope, new).fetch_one(tx.tx()).await?;
    tx.invoice_created(invoice.id).await?;
    tx.commit().await?;
    tracing::info!(invoice_id = invoice.id, "invoice created");
    Ok((StatusCode::CREATED, Json(invoice.into())))
}

/// `GET /api/invoices`: newest first, keyset-paginated by id.
pub async fn list(
    tenant: Tenant,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<InvoicePage>, ApiError> {
    let limit = match query.limit {
        None => DEFAULT_PAGE_SIZE,
        Some(0) => {
            return Err(ApiError::InvalidQuery(
                "limit must be at least 1".to_owned(),
            ));
        }
        Some(n) => n.min(MAX_PAGE_SIZE),
    };
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(cursor) => Some(validate::canonical_id(cursor).ok_or_else(|| {
            ApiError::InvalidQuery("cursor is not a cursor this API returned".to_owned())
        })?),
        None => None,
    };
    let mut select = Invoice::query(tenant.scope());
    if let Some(min) = query.min_amount_cents {
        select = select.filter(Invoice::AMOUNT_CENTS.ge(min));
    }
    if let Some(status) = query.status.as_deref().filter(|s| !s.is_empty()) {
        let status = status.parse::<InvoiceStatus>().map_err(|_| {
            ApiError::InvalidQuery(format!(
                "status must be one of: {}",
                InvoiceStatus::ALL.map(InvoiceStatus::as_str).join(", ")
            ))
        })?;
        select = select.filter(Invoice::STATUS.eq(status));
    }
    // Newest first, keyset-paginated by id: the page reads one row more
    // than asked to know whether another page follows.
    let mut tx = super::begin(&state, &tenant).await?;
    let page = select
        .keyset(Invoice::ID, SortOrder::Desc, after)
        .fetch_page(limit, tx.tx())
        .await?;
    tx.commit().await?;
    let rows = page.items;
    let next_cursor = page.next.map(|id| id.to_string());
    Ok(Json(InvoicePage {
        items: rows.into_iter().map(InvoiceView::from).collect(),
        next_cursor,
    }))
}

/// `GET /api/invoices/{id}`.
pub async fn get(
    tenant: Tenant,
    State(state): State<AppState>,
    InvoiceId(id): InvoiceId,
) -> Result<Json<InvoiceView>, ApiError> {
    let mut tx = super::begin(&state, &tenant).await?;
    match Invoice::find(tenant.scope(), id)
        .fetch_optional(tx.tx())
        .await?
    {
        Some(invoice) => {
            tx.commit().await?;
            Ok(Json(invoice.into()))
        }
        None => {
            tx.rollback().await?;
            Err(ApiError::NotFound("invoice"))
        }
    }
}

/// One change of a PATCH.
#[derive(Debug, Clone)]
enum Change {
    Amount(i64),
    Email(String),
    Status(InvoiceStatus),
}

fn apply<S>(update: Update<Invoice, S>, change: Change) -> Update<Invoice, Assigned> {
    match change {
        Change::Amount(v) => update.set(Invoice::AMOUNT_CENTS, v),
        Change::Email(v) => update.set(Invoice::CUSTOMER_EMAIL, v),
        Change::Status(v) => update.set(Invoice::STATUS, v),
    }
}

/// `PATCH /api/invoices/{id}`: changes amount, email and/or status.
pub async fn update(
    tenant: Tenant,
    State(state): State<AppState>,
    InvoiceId(id): InvoiceId,
    JsonBody(body): JsonBody<PatchInvoice>,
) -> Result<Json<InvoiceView>, ApiError> {
    let mut changes = Vec::new();
    if let Some(amount) = body.amount_cents {
        changes.push(Change::Amount(validate::amount_cents(
            "amount_cents",
            amount,
        )?));
    }
    if let Some(email) = body.customer_email {
        changes.push(Change::Email(validate::email("customer_email", email)?));
    }
    if let Some(status) = body.status {
        changes.push(Change::Status(status));
    }
    let mut changes = changes.into_iter();
    let Some(first) = changes.next() else {
        return Err(ApiError::Validation {
            field: None,
            message: "nothing to update: send amount_cents, customer_email and/or status"
                .to_owned(),
        });
    };
    let scope = tenant.scope();
    // By key: another tenant's id is `NotFound`, never a silent no-op.
    let update = changes.fold(apply(Invoice::update_by_id(scope, id), first), apply);

    let mut tx = super::begin(&state, &tenant).await?;
    if let Err(err) = update.execute(tx.tx()).await {
        tx.rollback().await?;
        return Err(match err {
            tenant_core::Error::NotFound => ApiError::NotFound("invoice"),
            other => other.into(),
        });
    }
    let invoice = Invoice::find(scope, id).fetch_one(tx.tx()).await?;
    tx.commit().await?;
    Ok(Json(invoice.into()))
}

/// `DELETE /api/invoices/{id}`: removes it and frees its quota slot.
pub async fn delete(
    tenant: Tenant,
    State(state): State<AppState>,
    InvoiceId(id): InvoiceId,
) -> Result<StatusCode, ApiError> {
    let scope = tenant.scope();
    let mut tx = super::begin(&state, &tenant).await?;
    if let Err(err) = Invoice::delete_by_id(scope, id).execute(tx.tx()).await {
        tx.rollback().await?;
        return Err(match err {
            tenant_core::Error::NotFound => ApiError::NotFound("invoice"),
            other => other.into(),
        });
    }
    InvoiceQuota::update(scope)
        .increment(InvoiceQuota::INVOICES_STORED, -1)
        .filter(InvoiceQuota::INVOICES_STORED.gt(0))
        .execute(tx.tx())
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
