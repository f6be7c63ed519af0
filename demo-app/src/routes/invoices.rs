//! `/api/invoices`: create (one, or a batch), list, read, update and delete
//! the tenant's invoices and their line items. Every query goes through
//! `tenant.scope()`, so another tenant's invoice is simply not found.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenant_core::{Assigned, SortOrder, TenantScope, Update};

use crate::auth::Tenant;
use crate::error::{ApiError, is_foreign_key_violation};
use crate::extract::{ApiQuery, BatchJsonBody, InvoiceId, JsonBody};
use crate::metering::MeteredTx;
use crate::models::{
    Customer, Invoice, InvoiceQuota, InvoiceStatus, LineItem, NewInvoice, NewLineItem,
};
use crate::state::AppState;
use crate::validate;

/// Most invoices in one `POST /api/invoices/batch`.
pub const MAX_BATCH: usize = 1_000;
/// Most line items on one invoice.
pub const MAX_LINE_ITEMS: usize = 100;
/// Largest quantity of a line item.
pub const MAX_QUANTITY: i64 = 1_000_000;
/// Longest line item description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 200;

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
    /// The customer (one of the tenant's), if the invoice names one.
    pub customer_id: Option<i64>,
    /// The month the invoice counts in (`YYYY-MM`, UTC).
    pub period: String,
    /// Creation time (UTC).
    pub created_at: DateTime<Utc>,
    /// The line items, ordered by id: shown by the single-invoice routes
    /// (create, batch, read, update), left out of lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_items: Option<Vec<LineItemView>>,
}

impl From<Invoice> for InvoiceView {
    fn from(invoice: Invoice) -> Self {
        InvoiceView {
            id: invoice.id,
            amount_cents: invoice.amount_cents,
            customer_email: invoice.customer_email,
            status: invoice.status,
            customer_id: invoice.customer_id,
            period: invoice.period,
            created_at: invoice.created_at,
            line_items: None,
        }
    }
}

impl InvoiceView {
    /// The invoice with its line items (sorted by id).
    pub fn with_items(invoice: Invoice, mut items: Vec<LineItem>) -> Self {
        items.sort_by_key(|item| item.id);
        InvoiceView {
            line_items: Some(items.into_iter().map(LineItemView::from).collect()),
            ..InvoiceView::from(invoice)
        }
    }
}

/// A line item as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LineItemView {
    /// Id.
    pub id: i64,
    /// What is billed.
    pub description: String,
    /// Units.
    pub quantity: i64,
    /// Price of one unit in cents.
    pub unit_price_cents: i64,
}

impl From<LineItem> for LineItemView {
    fn from(item: LineItem) -> Self {
        LineItemView {
            id: item.id,
            description: item.description,
            quantity: item.quantity,
            unit_price_cents: item.unit_price_cents,
        }
    }
}

/// Body of `POST /api/invoices`, and each invoice of a batch.
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
    /// One of the tenant's customers; none when absent.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// Line items (at most [`MAX_LINE_ITEMS`]); none when absent.
    #[serde(default)]
    pub line_items: Option<Vec<CreateLineItem>>,
}

/// A line item in a create body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLineItem {
    /// What is billed (1 to [`MAX_DESCRIPTION_CHARS`] characters).
    pub description: String,
    /// Units, 1 to [`MAX_QUANTITY`].
    pub quantity: i64,
    /// Price of one unit in cents, not negative.
    pub unit_price_cents: i64,
}

/// Body of `POST /api/invoices/batch`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBatch {
    /// 1 to [`MAX_BATCH`] invoices, each like the body of `POST
    /// /api/invoices`.
    pub invoices: Vec<CreateInvoice>,
}

/// Answer of `POST /api/invoices/batch`.
#[derive(Debug, Clone, Serialize)]
pub struct BatchCreated {
    /// The stored invoices, in the order given, with their line items.
    pub items: Vec<InvoiceView>,
}

/// A create body, checked: the invoice row and its line items (whose
/// `invoice_id` is set once the invoice is stored).
struct Checked {
    invoice: NewInvoice,
    items: Vec<NewLineItem>,
}

/// Checks one create body; `prefix` is put before field names in errors
/// (`invoices[3].` in a batch).
fn check(body: CreateInvoice, prefix: &str, period: &str) -> Result<Checked, ApiError> {
    let field = |name: &str| format!("{prefix}{name}");
    let customer_id = match body.customer_id {
        Some(id) => Some(validate::id(&field("customer_id"), id)?),
        None => None,
    };
    let invoice = NewInvoice {
        amount_cents: validate::amount_cents(&field("amount_cents"), body.amount_cents)?,
        customer_email: validate::email(&field("customer_email"), body.customer_email)?,
        status: body.status.unwrap_or(InvoiceStatus::Draft),
        customer_id,
        period: period.to_owned(),
    };
    let lines = body.line_items.unwrap_or_default();
    if lines.len() > MAX_LINE_ITEMS {
        return Err(ApiError::invalid_field(
            &field("line_items"),
            format!(
                "{} may hold at most {MAX_LINE_ITEMS} line items",
                field("line_items")
            ),
        ));
    }
    let mut items = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        let item = |name: &str| field(&format!("line_items[{i}].{name}"));
        items.push(NewLineItem {
            invoice_id: 0,
            description: validate::text(
                &item("description"),
                line.description,
                MAX_DESCRIPTION_CHARS,
            )?,
            quantity: validate::quantity(&item("quantity"), line.quantity, MAX_QUANTITY)?,
            unit_price_cents: validate::amount_cents(
                &item("unit_price_cents"),
                line.unit_price_cents,
            )?,
        });
    }
    Ok(Checked { invoice, items })
}

/// Runs `work` in the request's transaction: commits on success, rolls
/// back (storing and counting nothing) on an error.
async fn in_tx<T>(
    state: &AppState,
    tenant: &Tenant,
    work: impl AsyncFnOnce(&mut MeteredTx) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut tx = super::begin(state, tenant).await?;
    match work(&mut tx).await {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(err) => {
            tx.rollback().await?;
            Err(err)
        }
    }
}

/// Refuses customer ids that name no customer of the scope's tenant — a
/// missing id and another tenant's id alike, with the same message — as a
/// 422 on the first offending field. `ids` are `(field, id)` pairs.
/// tenant-core's check on write (and the composite foreign key) refuse them
/// too; this one names the batch row at fault.
async fn check_customers(
    tx: &mut MeteredTx,
    scope: &TenantScope,
    ids: Vec<(String, i64)>,
) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let wanted: HashSet<i64> = ids.iter().map(|(_, id)| *id).collect();
    let found: HashSet<i64> = Customer::query(scope)
        .filter(Customer::ID.is_in(wanted))
        .select((Customer::ID,))
        .fetch_all(tx.tx())
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect();
    match ids.into_iter().find(|(_, id)| !found.contains(id)) {
        Some((field, _)) => Err(unknown_customer(&field)),
        None => Ok(()),
    }
}

/// The 422 for a `customer_id` that is not one of the tenant's customers.
fn unknown_customer(field: &str) -> ApiError {
    ApiError::invalid_field(
        field,
        format!("{field} is not one of this tenant's customers"),
    )
}

/// Maps a refused reference of an invoice insert (tenant-core's check on
/// write, or the composite foreign key) to the 422 on `field`.
fn insert_error(err: tenant_core::Error, field: &str) -> ApiError {
    if is_foreign_key_violation(&err) || matches!(err, tenant_core::Error::ReferenceNotFound { .. })
    {
        unknown_customer(field)
    } else {
        err.into()
    }
}

/// Increments the tenant's quota counter by `n`, bounded by the plan's
/// limit, in the request's transaction: one statement whatever `n`, so a
/// batch is checked once, and concurrent creates cannot overshoot.
async fn reserve_quota(
    tx: &mut MeteredTx,
    scope: &TenantScope,
    limit: Option<i64>,
    n: i64,
) -> Result<(), ApiError> {
    let reserve = InvoiceQuota::update(scope).increment(InvoiceQuota::INVOICES_STORED, n);
    let reserve = match limit {
        Some(limit) => reserve.filter(InvoiceQuota::INVOICES_STORED.le(limit - n)),
        None => reserve,
    };
    if reserve.execute(tx.tx()).await? > 0 {
        return Ok(());
    }
    let counter = InvoiceQuota::query(scope).fetch_optional(tx.tx()).await?;
    match (counter, limit) {
        (Some(_), Some(limit)) => Err(ApiError::QuotaExceeded { limit }),
        _ => {
            tracing::error!("the tenant has no invoice_quota row; run `demo-app migrate`");
            Err(ApiError::Internal)
        }
    }
}

/// Reads an invoice with its line items: two statements
/// (`fetch_with_children`), in the request's transaction.
async fn load(
    tx: &mut MeteredTx,
    scope: &TenantScope,
    id: i64,
) -> Result<Option<InvoiceView>, tenant_core::Error> {
    let rows = Invoice::query(scope)
        .filter(Invoice::ID.eq(id))
        .fetch_with_children::<LineItem>(tx.tx())
        .await?;
    Ok(rows
        .into_iter()
        .next()
        .map(|(invoice, items)| InvoiceView::with_items(invoice, items)))
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

/// `POST /api/invoices`: stores an invoice (with its line items) if the
/// plan's quota allows it.
///
/// The quota counter is incremented with a bound (`invoices_stored <=
/// limit - 1`) in the same transaction as the insert: concurrent creates
/// cannot overshoot the quota, and a refused create stores nothing. The
/// usage counters and the `invoice_created` billing event (an outbox row)
/// commit in that transaction too, so a stored invoice is always billed
/// exactly once, even if the client disconnects right after the commit.
pub async fn create(
    tenant: Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateInvoice>,
) -> Result<(StatusCode, Json<InvoiceView>), ApiError> {
    let Checked { invoice, mut items } = check(body, "", tenant.period())?;
    let scope = tenant.scope();
    let limit = state.config().limits.for_plan(tenant.plan()).max_invoices;
    let view = in_tx(&state, &tenant, async |tx: &mut MeteredTx| {
        reserve_quota(tx, scope, limit, 1).await?;
        // tenant-core looks `customer_id` up for this tenant before the
        // insert (`Error::ReferenceNotFound` for another tenant's id or a
        // missing one), whatever the schema's foreign keys.
        let invoice = Invoice::insert(scope, invoice)
            .fetch_one(tx.tx())
            .await
            .map_err(|err| insert_error(err, "customer_id"))?;
        for item in &mut items {
            item.invoice_id = invoice.id;
        }
        let items = LineItem::insert_many(scope, items)
            .fetch_all(tx.tx())
            .await?;
        tx.invoice_created(invoice.id).await?;
        Ok(InvoiceView::with_items(invoice, items))
    })
    .await?;
    tracing::info!(invoice_id = view.id, "invoice created");
    Ok((StatusCode::CREATED, Json(view)))
}

/// `POST /api/invoices/batch`: stores 1 to [`MAX_BATCH`] invoices, all or
/// nothing.
///
/// Every invoice is checked before anything is written (a bad row is a 422
/// naming `invoices[i].field`); then, in the request's one transaction: the
/// customers are checked in one query, the quota counter is incremented by
/// the batch size once (bounded by the plan's limit: the whole batch fits
/// or none of it is stored), the invoices are written with one multi-row
/// insert (`insert_many`, inside the transaction), their line items with
/// another, and the usage counter and one `invoice_created` event per
/// invoice (as the single create writes) with one more. Any failure rolls
/// all of it back.
pub async fn create_batch(
    tenant: Tenant,
    State(state): State<AppState>,
    BatchJsonBody(body): BatchJsonBody<CreateBatch>,
) -> Result<(StatusCode, Json<BatchCreated>), ApiError> {
    let n = body.invoices.len();
    if n == 0 || n > MAX_BATCH {
        return Err(ApiError::invalid_field(
            "invoices",
            format!("invoices must hold 1 to {MAX_BATCH} invoices, not {n}"),
        ));
    }
    let mut checked = Vec::with_capacity(n);
    for (i, body) in body.invoices.into_iter().enumerate() {
        checked.push(check(body, &format!("invoices[{i}]."), tenant.period())?);
    }
    let scope = tenant.scope();
    let limit = state.config().limits.for_plan(tenant.plan()).max_invoices;
    let items = in_tx(&state, &tenant, async |tx: &mut MeteredTx| {
        let customers: Vec<(String, i64)> = checked
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                c.invoice
                    .customer_id
                    .map(|id| (format!("invoices[{i}].customer_id"), id))
            })
            .collect();
        check_customers(tx, scope, customers).await?;
        reserve_quota(tx, scope, limit, i64::try_from(n).unwrap_or(i64::MAX)).await?;
        let (rows, lines): (Vec<NewInvoice>, Vec<Vec<NewLineItem>>) =
            checked.into_iter().map(|c| (c.invoice, c.items)).unzip();
        let invoices = Invoice::insert_many(scope, rows)
            .fetch_all(tx.tx())
            .await
            .map_err(|err| insert_error(err, "invoices[].customer_id"))?;
        let mut counts = Vec::with_capacity(n);
        let mut all_lines = Vec::new();
        for (invoice, lines) in invoices.iter().zip(lines) {
            counts.push(lines.len());
            all_lines.extend(lines.into_iter().map(|mut line| {
                line.invoice_id = invoice.id;
                line
            }));
        }
        let mut stored_lines = LineItem::insert_many(scope, all_lines)
            .fetch_all(tx.tx())
            .await?
            .into_iter();
        let ids: Vec<i64> = invoices.iter().map(|invoice| invoice.id).collect();
        tx.invoices_created_many(&ids).await?;
        Ok(invoices
            .into_iter()
            .zip(counts)
            .map(|(invoice, count)| {
                InvoiceView::with_items(invoice, stored_lines.by_ref().take(count).collect())
            })
            .collect::<Vec<_>>())
    })
    .await?;
    tracing::info!(invoices = items.len(), "invoice batch created");
    Ok((StatusCode::CREATED, Json(BatchCreated { items })))
}

/// The page size and the cursor of a list request: the size defaults to
/// [`DEFAULT_PAGE_SIZE`] and is capped at [`MAX_PAGE_SIZE`]; 0 and a cursor
/// this API did not return are 400s.
pub fn page(limit: Option<u32>, cursor: Option<&str>) -> Result<(u32, Option<i64>), ApiError> {
    let limit = match limit {
        None => DEFAULT_PAGE_SIZE,
        Some(0) => {
            return Err(ApiError::InvalidQuery(
                "limit must be at least 1".to_owned(),
            ));
        }
        Some(n) => n.min(MAX_PAGE_SIZE),
    };
    let after = match cursor.filter(|c| !c.is_empty()) {
        Some(cursor) => Some(validate::canonical_id(cursor).ok_or_else(|| {
            ApiError::InvalidQuery("cursor is not a cursor this API returned".to_owned())
        })?),
        None => None,
    };
    Ok((limit, after))
}

/// `GET /api/invoices`: newest first, keyset-paginated by id.
pub async fn list(
    tenant: Tenant,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<InvoicePage>, ApiError> {
    let (limit, after) = page(query.limit, query.cursor.as_deref())?;
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

/// `GET /api/invoices/{id}`: the invoice with its line items.
pub async fn get(
    tenant: Tenant,
    State(state): State<AppState>,
    InvoiceId(id): InvoiceId,
) -> Result<Json<InvoiceView>, ApiError> {
    let scope = tenant.scope();
    let view = in_tx(&state, &tenant, async |tx: &mut MeteredTx| {
        load(tx, scope, id)
            .await?
            .ok_or(ApiError::NotFound("invoice"))
    })
    .await?;
    Ok(Json(view))
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
    let Some(invoice) = load(&mut tx, scope, id).await? else {
        tx.rollback().await?;
        return Err(ApiError::NotFound("invoice"));
    };
    tx.commit().await?;
    Ok(Json(invoice))
}

/// `DELETE /api/invoices/{id}`: removes it (its line items with it: `ON
/// DELETE CASCADE`) and frees its quota slot.
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
