//! Structured logs: every request span names the tenant, and no API key ever
//! reaches the logs, whatever header or parameter it is sent in.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::{Backend, TestDb, TestServer, send};
use demo_app::auth::ApiKey;
use demo_app::models::Plan;
use reqwest::{Method, header};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

/// Everything logged by this test binary, at the most verbose level.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        tracing_subscriber::fmt()
            // Everything the server side logs, at the most verbose level (the
            // test client's own logs are left out).
            .with_env_filter("trace,reqwest=off")
            .with_ansi(false)
            .with_writer(capture.clone())
            .init();
        capture
    })
}

fn logs() -> String {
    String::from_utf8_lossy(&capture().0.lock().unwrap()).into_owned()
}

on_every_backend!(api_keys_never_reach_the_logs);

async fn api_keys_never_reach_the_logs(backend: Backend) {
    capture();
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Free).await;
    let unknown = ApiKey::generate().unwrap().expose().to_owned();

    let id = srv.create_invoice(&acme, 1200).await;
    srv.get(&acme, &format!("/api/invoices/{id}")).await;
    srv.get(&globex, &format!("/api/invoices/{id}")).await;
    srv.get(&unknown, "/api/invoices").await;
    srv.get(&format!("{acme}x"), "/api/invoices").await;
    // Keys sent where they do not belong.
    send(
        srv.request(Method::GET, "/api/invoices", Some(&acme))
            .header("x-tenant-id", globex.clone()),
    )
    .await
    .assert_error(403, "tenant_mismatch");
    send(
        srv.request(Method::GET, "/api/invoices", Some(&acme))
            .header(header::HOST, format!("{globex}.localhost")),
    )
    .await;
    srv.get(
        &acme,
        &format!("/api/invoices?cursor={globex}&status={unknown}"),
    )
    .await;
    srv.get(&acme, &format!("/api/invoices/{globex}"))
        .await
        .assert_error(404, "not_found");
    srv.get(&acme, &format!("/{unknown}"))
        .await
        .assert_error(404, "not_found");
    srv.post(
        &acme,
        "/api/invoices",
        &json!({"amount_cents": 1, "customer_email": unknown, "note": globex}),
    )
    .await;
    srv.stop().await;

    let logs = logs();
    for key in [&acme, &globex, &unknown] {
        assert!(!logs.contains(key.as_str()), "a key is in the logs");
        assert!(
            !logs.contains(&key[4..]),
            "a key's secret part is in the logs"
        );
    }
    // Every authenticated request's span carries its tenant.
    assert!(
        logs.contains("request{method=POST route=/api/invoices tenant=acme}"),
        "{logs}"
    );
    assert!(
        logs.contains(&format!(
            "request{{method=GET route=/api/invoices/{{id}} tenant=globex invoice_id={id}}}"
        )),
        "{logs}"
    );
    assert!(logs.contains("status=404"));
    assert!(
        logs.contains("request{method=GET route=(unmatched)}"),
        "{logs}"
    );
    assert!(logs.contains("status=401"));
}
