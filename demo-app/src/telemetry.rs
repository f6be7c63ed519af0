//! Structured logs: one span per request carrying the tenant.
//!
//! The request span records the method, the matched route template (such as
//! `/api/invoices/{id}`), the invoice id once validated and, once the
//! credential is verified, the tenant. Headers, query strings and raw paths
//! are never logged, so an API key cannot reach the logs even when a client
//! sends it in the wrong place.

use std::io::IsTerminal as _;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is not set.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn";

/// Logs to stderr (stdout is kept for output such as a new API key), filtered
/// by `RUST_LOG`. Does nothing if a subscriber is already installed.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Middleware: runs the request inside a `request` span and logs its outcome.
/// The tenant layer ([`tenant_layer`](crate::auth::tenant_layer)) fills the
/// span's `tenant` field and [`InvoiceId`](crate::extract::InvoiceId) its `invoice_id`.
///
/// Added with `Router::layer`, so it runs after routing and sees the
/// [`MatchedPath`].
pub async fn trace_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        invoice_id = tracing::field::Empty,
        tenant = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut unfinished = Cancelled {
        span: span.clone(),
        started,
        armed: true,
    };
    let response = next.run(request).instrument(span.clone()).await;
    unfinished.armed = false;
    let status = response.status().as_u16();
    let latency_ms = latency_ms(started);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, latency_ms, "request failed");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
    });
    response
}

/// Milliseconds since `started`, rounded to hundredths: a log line reads
/// `latency_ms=1.25`, not `latency_ms=1.2512340000000001`.
fn latency_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0
}

/// Logs a request whose future was dropped before it produced a response
/// (the client disconnected): such a request would otherwise leave no log
/// line. Whatever it committed before is counted and billed by the database
/// (see [`crate::metering`]); whatever it had not committed is rolled back.
struct Cancelled {
    span: tracing::Span,
    started: Instant,
    armed: bool,
}

impl Drop for Cancelled {
    fn drop(&mut self) {
        if self.armed {
            let latency_ms = latency_ms(self.started);
            self.span.in_scope(|| {
                tracing::info!(latency_ms, "request cancelled: the client went away");
            });
        }
    }
}
