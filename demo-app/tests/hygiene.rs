//! Request hygiene: one canonical form per input, consistent tenant hints,
//! metering of successful requests only, error messages that never echo the
//! rejected value, and e-mail addresses free of invisible characters.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use common::{Backend, Options, TestDb, TestServer, config_with, send};
use demo_app::config::PlanLimits;
use demo_app::models::{Plan, UsagePeriod};
use reqwest::{Method, StatusCode, header};
use serde_json::json;
use tenant_core::{TenantId, TenantScope};

on_every_backend!(
    invoice_ids_have_one_canonical_form,
    tenant_hints_ignore_ascii_case_in_header_and_host_alike,
    only_successful_requests_are_metered,
    errors_never_echo_the_rejected_value,
    emails_with_invisible_or_bidi_characters_are_refused,
);

async fn invoice_ids_have_one_canonical_form(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;
    let id = srv.create_invoice(&key, 100).await;
    assert_eq!(
        srv.get(&key, &format!("/api/invoices/{id}")).await.status,
        StatusCode::OK
    );
    for form in [
        format!("+{id}"),
        format!("%2B{id}"),
        format!("0{id}"),
        format!("00{id}"),
        format!("%20{id}"),
        format!("{id}%20"),
        format!("{id}.0"),
        format!("{id}e0"),
        format!("{id}_"),
        "%EF%BC%91".to_owned(), // FULLWIDTH DIGIT ONE
        "0x1".to_owned(),
    ] {
        let path = format!("/api/invoices/{form}");
        let reply = srv.get(&key, &path).await;
        reply.assert_error(404, "not_found");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("leading zeros"), "{path}: {message}");
        srv.patch(&key, &path, &json!({"status": "paid"}))
            .await
            .assert_error(404, "not_found");
        srv.delete(&key, &path).await.assert_error(404, "not_found");
    }
    // The invoice is untouched.
    let reply = srv.get(&key, &format!("/api/invoices/{id}")).await;
    assert_eq!(reply.body["status"], "draft");
    // A cursor is an id too.
    for cursor in [format!("%2B{id}"), format!("0{id}")] {
        srv.get(&key, &format!("/api/invoices?cursor={cursor}"))
            .await
            .assert_error(400, "invalid_query");
    }
    srv.stop().await;
}

async fn tenant_hints_ignore_ascii_case_in_header_and_host_alike(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    srv.tenant("globex", Plan::Free).await;
    let id = srv.create_invoice(&acme, 1200).await;
    let get = |name: &'static str, value: &str| {
        send(
            srv.request(Method::GET, "/api/invoices", Some(&acme))
                .header(name, value),
        )
    };
    // The same spelling is accepted, or refused, in both places.
    for (hint, ok) in [
        ("acme", true),
        ("ACME", true),
        ("Acme", true),
        ("globex", false),
        ("GLOBEX", false),
        ("acme-", false),
    ] {
        for (name, value) in [
            ("x-tenant-id", hint.to_owned()),
            ("host", format!("{hint}.localhost:{}", srv.port)),
        ] {
            let reply = get(name, &value).await;
            if ok {
                assert_eq!(reply.status, StatusCode::OK, "{name}: {value}: {reply:?}");
                assert_eq!(reply.body["items"][0]["id"], id, "{name}: {value}");
            } else {
                reply.assert_error(403, "tenant_mismatch");
            }
        }
    }
    // A hint never selects a tenant: without a key it is 401.
    send(
        srv.request(Method::GET, "/api/invoices", None)
            .header("x-tenant-id", "ACME"),
    )
    .await
    .assert_error(401, "unauthorized");
    srv.stop().await;
}

/// Requests counted for `tenant` in the current period, read from the
/// database.
async fn counted_requests(srv: &TestServer, tenant: &str) -> i64 {
    let scope = TenantScope::new(TenantId::parse(tenant).unwrap());
    UsagePeriod::query(&scope)
        .fetch_optional(&srv.db)
        .await
        .unwrap()
        .map_or(0, |p| p.requests)
}

async fn only_successful_requests_are_metered(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start_with(
        &db.url,
        Options {
            config: config_with(
                PlanLimits {
                    max_invoices: Some(1),
                    requests_per_minute: None,
                },
                PlanLimits {
                    max_invoices: None,
                    requests_per_minute: None,
                },
            ),
            ..Options::default()
        },
    )
    .await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Free).await;

    // Successful: counted.
    assert_eq!(srv.get(&acme, "/api/invoices").await.status, StatusCode::OK);
    let id = srv.create_invoice(&acme, 100).await;
    srv.create_invoice(&globex, 100).await;

    // Refused: not counted.
    srv.get(&acme, "/api/invoices/999999")
        .await
        .assert_error(404, "not_found");
    srv.get(&acme, "/api/invoices/abc")
        .await
        .assert_error(404, "not_found");
    srv.patch(&acme, "/api/invoices/999999", &json!({"status": "paid"}))
        .await
        .assert_error(404, "not_found");
    srv.patch(&acme, &format!("/api/invoices/{id}"), &json!({}))
        .await
        .assert_error(422, "validation_failed");
    srv.delete(&acme, "/api/invoices/999999")
        .await
        .assert_error(404, "not_found");
    srv.post(&acme, "/api/invoices", &json!({"amount_cents": -1}))
        .await
        .assert_error(422, "validation_failed");
    srv.post(
        &acme,
        "/api/invoices",
        &json!({"amount_cents": -1, "customer_email": "a@example.com"}),
    )
    .await
    .assert_error(422, "validation_failed");
    send(
        srv.request(Method::POST, "/api/invoices", Some(&acme))
            .header(header::CONTENT_TYPE, "application/json")
            .body("{"),
    )
    .await
    .assert_error(400, "malformed_json");
    srv.get(&acme, "/api/invoices?limit=0")
        .await
        .assert_error(400, "invalid_query");
    send(
        srv.request(Method::GET, "/api/invoices", Some(&acme))
            .header("x-tenant-id", "globex"),
    )
    .await
    .assert_error(403, "tenant_mismatch");
    srv.post(
        &globex,
        "/api/invoices",
        &json!({"amount_cents": 1, "customer_email": "a@example.com"}),
    )
    .await
    .assert_error(403, "quota_exceeded");

    assert_eq!(counted_requests(&srv, "acme").await, 2);
    assert_eq!(counted_requests(&srv, "globex").await, 1);
    // The usage report counts itself.
    let usage = srv.get(&acme, "/api/usage").await.body;
    assert_eq!(usage["requests"]["this_period"], 3, "{usage}");
    assert_eq!(usage["invoices"]["created_this_period"], 1, "{usage}");
    srv.stop().await;
}

async fn errors_never_echo_the_rejected_value(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;
    // Something a user might paste into the wrong field: a real key.
    let secret = srv.tenant("globex", Plan::Free).await;
    let email = |v: &str| json!({"amount_cents": 1, "customer_email": v});
    for (body, field) in [
        (email(&secret), Some("customer_email")),
        (email(&format!("{secret}@")), Some("customer_email")),
        (
            json!({"amount_cents": secret, "customer_email": "a@example.com"}),
            Some("amount_cents"),
        ),
        (
            json!({"amount_cents": 1, "customer_email": "a@example.com", "status": secret}),
            Some("status"),
        ),
        (
            json!({"amount_cents": 1, "customer_email": ["x", secret]}),
            Some("customer_email"),
        ),
        (
            json!({"amount_cents": 1, "customer_email": "a@example.com", (secret.clone()): 1}),
            None,
        ),
        (json!({"amount_cents": 1, (secret.clone()): 1}), None),
    ] {
        let reply = srv.post(&key, "/api/invoices", &body).await;
        reply.assert_error(422, "validation_failed");
        assert!(!reply.text.contains(&secret), "{body}: {}", reply.text);
        assert!(
            !reply.text.contains(&secret[4..20]),
            "{body}: {}",
            reply.text
        );
        if let Some(field) = field {
            assert_eq!(reply.body["error"]["field"], field, "{body}: {reply:?}");
            let message = reply.body["error"]["message"].as_str().unwrap();
            assert!(message.contains(field), "{body}: {message}");
        }
        // The PATCH route validates the same way.
        let reply = srv.patch(&key, "/api/invoices/1", &body).await;
        assert!(reply.status.is_client_error(), "{reply:?}");
        assert!(!reply.text.contains(&secret), "{body}: {}", reply.text);
    }
    // Query parameters too.
    for query in [
        format!("status={secret}"),
        format!("limit={secret}"),
        format!("cursor={secret}"),
        format!("min_amount_cents={secret}"),
    ] {
        let reply = srv.get(&key, &format!("/api/invoices?{query}")).await;
        reply.assert_error(400, "invalid_query");
        let name = query.split('=').next().unwrap();
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(name), "{query}: {message}");
        assert!(!reply.text.contains(&secret), "{query}: {}", reply.text);
        assert!(
            !reply.text.contains(&secret[4..20]),
            "{query}: {}",
            reply.text
        );
    }
    srv.stop().await;
}

async fn emails_with_invisible_or_bidi_characters_are_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;
    let id = srv.create_invoice(&key, 100).await;
    let mut bad = Vec::new();
    for c in ('\u{200B}'..='\u{200F}')
        .chain('\u{202A}'..='\u{202E}')
        .chain('\u{2060}'..='\u{2064}')
        .chain('\u{2066}'..='\u{2069}')
        .chain(['\u{FEFF}', '\u{00AD}', '\u{061C}', '\u{180E}', '\u{E0001}'])
    {
        bad.push(format!("a{c}b@example.com"));
        bad.push(format!("{c}ab@example.com"));
        bad.push(format!("ab@exa{c}mple.com"));
        bad.push(format!("ab@example.com{c}"));
    }
    for email in &bad {
        let reply = srv
            .post(
                &key,
                "/api/invoices",
                &json!({"amount_cents": 1, "customer_email": email}),
            )
            .await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.body["error"]["field"], "customer_email", "{email:?}");
        srv.patch(
            &key,
            &format!("/api/invoices/{id}"),
            &json!({"customer_email": email}),
        )
        .await
        .assert_error(422, "validation_failed");
    }
    assert_eq!(srv.stored("acme").await, 1);
    // Ordinary international addresses are still fine.
    for email in [
        "jürgen@example.de",
        "ユーザー@例え.jp",
        "a.b+c@sub.example.com",
    ] {
        let reply = srv
            .post(
                &key,
                "/api/invoices",
                &json!({"amount_cents": 1, "customer_email": email}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{email}: {reply:?}");
    }
    srv.stop().await;
}
