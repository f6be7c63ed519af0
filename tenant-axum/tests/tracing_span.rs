//! The layer records the tenant in the request's span (`tenant` field),
//! captured with a test subscriber.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use tenant_axum::{HeaderHint, JwtResolver, TenantChain, TenantLayer};
use tracing::Instrument as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

use common::*;

/// Every value recorded into a field named `tenant`, per span name.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<(String, String)>>>);

struct TenantVisitor<'a>(&'a Recorded, &'static str);

impl Visit for TenantVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "tenant" {
            self.0
                .0
                .lock()
                .unwrap()
                .push((self.1.to_owned(), format!("{value:?}")));
        }
    }
}

impl<S> Layer<S> for Recorded
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        attrs.record(&mut TenantVisitor(self, attrs.metadata().name()));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let name = ctx.span(id).map_or("?", |span| span.name());
        values.record(&mut TenantVisitor(self, name));
    }
}

/// The application's request span, declared with an empty `tenant`.
async fn request_span(request: Request, next: Next) -> Response {
    let span = tracing::info_span!("request", tenant = tracing::field::Empty);
    next.run(request).instrument(span).await
}

#[tokio::test(flavor = "current_thread")]
async fn the_span_carries_the_tenant() {
    let recorded = Recorded::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(recorded.clone()));

    let chain = TenantChain::new(JwtResolver::hs256(SECRET)).hint(HeaderHint::x_tenant_id());
    let app = app(TenantLayer::new(chain)).layer(middleware::from_fn(request_span));

    send(&app, get_as("/api/whoami", &token("acme"), &[]))
        .await
        .assert_ok("acme");
    assert_eq!(
        *recorded.0.lock().unwrap(),
        vec![("request".to_owned(), "acme".to_owned())],
        "recorded once, in the request's span"
    );
    recorded.0.lock().unwrap().clear();

    send(&app, get_as("/api/whoami", &token("globex"), &[]))
        .await
        .assert_ok("globex");
    assert!(
        recorded
            .0
            .lock()
            .unwrap()
            .iter()
            .all(|(span, tenant)| span == "request" && tenant == "globex"),
        "{:?}",
        recorded.0.lock().unwrap()
    );
    recorded.0.lock().unwrap().clear();

    // A refused credential records nothing; a refused hint still names the
    // tenant whose credential the request carried.
    send(&app, get_with("/api/whoami", &[("x-tenant-id", "acme")]))
        .await
        .assert_error(401, "unauthorized");
    assert!(recorded.0.lock().unwrap().is_empty());
    send(
        &app,
        get_as("/api/whoami", &token("acme"), &[("x-tenant-id", "globex")]),
    )
    .await
    .assert_error(403, "tenant_mismatch");
    assert_eq!(
        *recorded.0.lock().unwrap(),
        vec![("request".to_owned(), "acme".to_owned())]
    );
}
