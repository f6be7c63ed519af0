//! HTTP handlers.

pub mod customers;
pub mod invoices;
pub mod reports;
pub mod usage;

use axum::Json;
use serde_json::{Value, json};

use crate::auth::Tenant;
use crate::error::ApiError;
use crate::metering::MeteredTx;
use crate::state::AppState;

/// Opens the transaction of an API request. Every `/api` handler runs its
/// statements in it and commits only on success, which is what counts the
/// request: a 4xx or 5xx, or a request dropped before the commit, is not
/// metered.
pub async fn begin(state: &AppState, tenant: &Tenant) -> Result<MeteredTx, ApiError> {
    Ok(state
        .meter()
        .begin(state.db(), tenant.scope(), tenant.period())
        .await?)
}

/// `GET /health`: the process is up. It does not touch the database, so it
/// stays 200 during a database outage (API routes answer 503 then).
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Unknown routes: a JSON 404.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

/// Known routes with another method: a JSON 405.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
