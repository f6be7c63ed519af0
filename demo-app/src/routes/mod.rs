//! HTTP handlers.

pub mod invoices;
pub mod usage;

use axum::Json;
use serde_json::{Value, json};

use crate::error::ApiError;

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
