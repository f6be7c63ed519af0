//! An invoice service on the shared-schema model, built with axum and
//! `tenant-core`.
//!
//! Every tenant's invoices live in one `invoices` table with a `tenant_id`
//! column. The tenant of a request comes only from its API key (see
//! [`auth::tenant_layer`], built on `tenant-axum`, and [`auth::Tenant`]); handlers query through the scope the extractor hands
//! them, so another tenant's invoice is not found rather than leaked.
//!
//! The library exposes the pieces that `main.rs` wires together, so tests can
//! start the real server on `127.0.0.1:0`:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use demo_app::{AppState, config::{AppConfig, db_options_for}, metering::NoopSink};
//! use tenant_core::TenantDbOptions;
//!
//! let url = "sqlite::memory:";
//! let db = db_options_for(url, TenantDbOptions::new()).connect(url).await?;
//! demo_app::db::migrate(&db).await?;
//! let state = AppState::new(db, AppConfig::default(), Arc::new(NoopSink));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! demo_app::serve(listener, state, std::future::pending()).await?;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod metering;
pub mod models;
pub mod outbox;
pub mod reminders;
pub mod routes;
pub mod state;
pub mod telemetry;
pub mod tenants;
pub mod validate;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

pub use crate::auth::Tenant;
pub use crate::error::ApiError;
pub use crate::state::AppState;

use crate::routes::{customers, invoices, usage};

/// The HTTP API.
///
/// | route | |
/// |---|---|
/// | `GET /health` | liveness |
/// | `POST /api/invoices`, `GET /api/invoices` | create, list |
/// | `POST /api/invoices/batch` | create up to 1 000 invoices, all or nothing |
/// | `GET`/`PATCH`/`DELETE /api/invoices/{id}` | read, update, delete |
/// | `PUT /api/customers` | upsert a customer by e-mail |
/// | `GET /api/customers/{id}` | read a customer |
/// | `GET /api/customers/{id}/invoices` | a customer's invoices (a join) |
/// | `GET /api/usage` | usage against the plan |
/// | `GET /api/reports/revenue?group=` | invoices and revenue per status and/or month |
/// | `GET /admin/tenants/usage` | every tenant's invoices and amount (admin key, audited) |
/// | `GET /api/reports/ranked-invoices?min_cents=` | invoices ranked by amount (raw SQL, `query_as!`) |
pub fn app(state: AppState) -> Router {
    // Every /api route sits behind the tenant layer: the API key selects
    // the tenant before any handler runs. `route_layer`, so that unmatched
    // paths and wrong methods answer 404/405 without a credential.
    let api = Router::new()
        .route("/api/invoices", post(invoices::create).get(invoices::list))
        .route(
            "/api/invoices/batch",
            post(invoices::create_batch).layer(DefaultBodyLimit::max(extract::BATCH_BODY_LIMIT)),
        )
        .route(
            "/api/invoices/{id}",
            get(invoices::get)
                .patch(invoices::update)
                .delete(invoices::delete),
        )
        .route("/api/customers", put(customers::put))
        .route("/api/customers/{id}", get(customers::get))
        .route("/api/customers/{id}/invoices", get(customers::invoices))
        .route("/api/usage", get(usage::show))
        .route("/api/reports/revenue", get(routes::reports::revenue))
        .route(
            "/api/reports/ranked-invoices",
            get(routes::reports::ranked_invoices),
        )
        .route_layer(auth::tenant_layer(&state));
    Router::new()
        .route("/health", get(routes::health))
        .route("/admin/tenants/usage", get(admin::usage))
        .merge(api)
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(telemetry::trace_requests))
        .with_state(state)
}

/// A handler that panicked (a bug) still answers with a JSON 500.
fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked");
    ApiError::Internal.into_response()
}

/// Serves [`app`] on `listener` until `shutdown` completes, then finishes
/// the requests in flight.
///
/// Alongside, it runs the billing outbox worker ([`outbox::run`]), which
/// delivers committed usage events to the state's billing sink; after the
/// last request it makes a final delivery pass and stops.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(outbox::run(
        state.db().clone(),
        Arc::clone(state.billing()),
        Arc::clone(state.outbox()),
        async {
            let _ = stopped.await;
        },
    ));
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop.send(());
    if let Err(err) = worker.await {
        tracing::error!(error = %err, "the billing outbox worker failed");
    }
    served
}
