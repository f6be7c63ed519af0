//! `/api/customers`: upsert a customer by e-mail, read one, and list a
//! customer's invoices through a join. Every statement is scoped by
//! `tenant.scope()`: another tenant's customer is not found, and a customer
//! with the same e-mail in another tenant is never touched.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::invoices::{self, InvoiceView};
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::extract::{ApiQuery, CustomerId, JsonBody};
use crate::models::{Customer, Invoice, NewCustomer};
use crate::state::AppState;
use crate::validate;

/// Longest customer name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A customer as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// E-mail address, unique within the tenant.
    pub email: String,
}

impl From<Customer> for CustomerView {
    fn from(customer: Customer) -> Self {
        CustomerView {
            id: customer.id,
            name: customer.name,
            email: customer.email,
        }
    }
}

/// Body of `PUT /api/customers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutCustomer {
    /// The e-mail address: identifies the customer within the tenant.
    pub email: String,
    /// The name, set on insert and replaced on update.
    pub name: String,
}

/// Query of `GET /api/customers/{id}/invoices`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InvoicesQuery {
    /// Page size (1 to [`MAX_PAGE_SIZE`](invoices::MAX_PAGE_SIZE); larger values are capped).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A customer with one page of its invoices, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerInvoices {
    /// The customer.
    pub customer: CustomerView,
    /// Its invoices (without line items).
    pub items: Vec<InvoiceView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `PUT /api/customers`: inserts the customer or, when the tenant already
/// has one with this e-mail, updates its name — one statement
/// (`Customer::upsert(..).on_conflict((TENANT_ID, EMAIL)).do_update(NAME)`).
/// A customer of another tenant with the same e-mail is a different row and
/// is never changed. Answers 200 with the customer as stored.
pub async fn put(
    tenant: Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PutCustomer>,
) -> Result<Json<CustomerView>, ApiError> {
    let row = NewCustomer {
        email: validate::email("email", body.email)?,
        name: validate::text("name", body.name, MAX_NAME_CHARS)?,
    };
    let scope = tenant.scope();
    let mut tx = super::begin(&state, &tenant).await?;
    let customer = match Customer::upsert(scope, row)
        .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
        .do_update(Customer::NAME)
        .fetch_one(tx.tx())
        .await
    {
        Ok(customer) => customer,
        Err(err) => {
            tx.rollback().await?;
            return Err(err.into());
        }
    };
    tx.commit().await?;
    Ok(Json(customer.into()))
}

/// `GET /api/customers/{id}`.
pub async fn get(
    tenant: Tenant,
    State(state): State<AppState>,
    CustomerId(id): CustomerId,
) -> Result<Json<CustomerView>, ApiError> {
    let mut tx = super::begin(&state, &tenant).await?;
    match Customer::find(tenant.scope(), id)
        .fetch_optional(tx.tx())
        .await?
    {
        Some(customer) => {
            tx.commit().await?;
            Ok(Json(customer.into()))
        }
        None => {
            tx.rollback().await?;
            Err(ApiError::NotFound("customer"))
        }
    }
}

/// `GET /api/customers/{id}/invoices`: the customer's invoices, newest
/// first, keyset-paginated by id, read with a join
/// (`Invoice::query(scope).inner_join::<Customer>()`), which compares the
/// tenant columns of both tables as well as the key. 404 when the tenant
/// has no such customer (another tenant's id included).
pub async fn invoices(
    tenant: Tenant,
    State(state): State<AppState>,
    CustomerId(id): CustomerId,
    ApiQuery(query): ApiQuery<InvoicesQuery>,
) -> Result<Json<CustomerInvoices>, ApiError> {
    let (limit, after) = invoices::page(query.limit, query.cursor.as_deref())?;
    let scope = tenant.scope();
    let mut tx = super::begin(&state, &tenant).await?;
    let Some(customer) = Customer::find(scope, id).fetch_optional(tx.tx()).await? else {
        tx.rollback().await?;
        return Err(ApiError::NotFound("customer"));
    };
    let mut join = Invoice::query(scope)
        .inner_join::<Customer>()
        .filter(Customer::ID.eq(id));
    if let Some(after) = after {
        join = join.filter(Invoice::ID.lt(after));
    }
    // One row more than the page, to know whether another page follows.
    let mut rows = join
        .order_by(Invoice::ID.desc())
        .limit(limit + 1)
        .fetch_all(tx.tx())
        .await?;
    tx.commit().await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|(invoice, _)| invoice.id.to_string())
    } else {
        None
    };
    Ok(Json(CustomerInvoices {
        customer: customer.into(),
        items: rows
            .into_iter()
            .map(|(invoice, _)| InvoiceView::from(invoice))
            .collect(),
        next_cursor,
    }))
}
