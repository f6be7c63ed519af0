//! The HTTP API over a real socket, on SQLite, PostgreSQL and MySQL/MariaDB.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{Backend, Options, TestDb, TestServer, config_with, send};
use demo_app::config::PlanLimits;
use demo_app::metering::JsonLinesSink;
use demo_app::models::{
    Customer, Invoice, InvoiceQuota, InvoiceStatus, LineItem, NewInvoice, NewLineItem, OutboxEvent,
    Plan, UsageKind,
};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use tenant_core::{TenantId, TenantScope};

on_every_backend!(
    health_and_unknown_routes,
    create_returns_201_with_the_invoice,
    list_paginates_filters_and_caps_the_limit,
    get_patch_delete,
    revenue_report_groups_only_the_tenants_invoices,
    ranked_invoices_report_ranks_within_the_tenant,
    another_tenants_invoice_is_404_and_untouched,
    missing_malformed_or_unknown_keys_are_401,
    tenant_hints_must_match_the_key,
    quota_refuses_and_stores_nothing,
    parallel_creates_stop_exactly_at_the_quota,
    rate_limit_answers_429_with_retry_after,
    usage_survives_a_restart,
    billing_hook_writes_json_lines,
    bad_input_is_400_413_415_or_422,
    non_numeric_ids_are_404,
    no_input_makes_the_server_fail,
    customers_upsert_by_email_within_the_tenant,
    customer_invoices_are_a_join_within_the_tenant,
    same_customer_ids_in_two_tenants_never_meet,
    invoice_customer_of_another_tenant_is_422_and_stores_nothing,
    composite_foreign_keys_refuse_another_tenants_parent,
    line_items_are_created_read_and_deleted_with_the_invoice,
    revenue_report_groups_by_month_and_status,
    batch_stores_all_invoices_and_bills_each,
    batch_is_all_or_nothing,
    batch_quota_is_checked_once_for_the_whole_batch,
);

const FREE_UNLIMITED: PlanLimits = PlanLimits {
    max_invoices: None,
    requests_per_minute: None,
};

async fn health_and_unknown_routes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let reply = send(srv.client.get(srv.url("/health"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"status": "ok"}));

    send(srv.client.get(srv.url("/nope")))
        .await
        .assert_error(404, "not_found");
    send(srv.client.put(srv.url("/api/invoices")))
        .await
        .assert_error(405, "method_not_allowed");
    srv.stop().await;
}

async fn create_returns_201_with_the_invoice(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;

    let reply = srv
        .post(
            &key,
            "/api/invoices",
            &json!({"amount_cents": 1200, "customer_email": "a@example.com"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let invoice = &reply.body;
    assert!(invoice["id"].as_i64().unwrap() > 0);
    assert_eq!(invoice["amount_cents"], 1200);
    assert_eq!(invoice["customer_email"], "a@example.com");
    assert_eq!(invoice["status"], "draft");
    let created_at = invoice["created_at"].as_str().unwrap();
    let created_at = chrono::DateTime::parse_from_rfc3339(created_at).unwrap();
    assert!(
        (chrono::Utc::now() - created_at.to_utc())
            .num_seconds()
            .abs()
            < 60
    );
    assert!(invoice.get("tenant_id").is_none(), "the tenant is implicit");

    let reply = srv
        .post(
            &key,
            "/api/invoices",
            &json!({"amount_cents": 0, "customer_email": "b@example.com", "status": "open"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.body["status"], "open");
    assert_eq!(srv.stored("acme").await, 2);
    srv.stop().await;
}

async fn list_paginates_filters_and_caps_the_limit(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;
    let other = srv.tenant("globex", Plan::Pro).await;
    let mut ids = Vec::new();
    for amount in [100, 200, 300, 400, 500] {
        ids.push(srv.create_invoice(&key, amount).await);
    }
    srv.create_invoice(&other, 1_000).await;

    // Walk the pages: newest first, disjoint, complete, then no cursor.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/invoices?limit=2&cursor={c}"),
            None => "/api/invoices?limit=2".to_owned(),
        };
        let reply = srv.get(&key, &path).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        let items = reply.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        pages += 1;
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert!(reply.body["next_cursor"].is_null());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected, "all of acme's invoices, newest first");

    // Filters.
    let reply = srv
        .get(&key, "/api/invoices?min_amount_cents=300&limit=10")
        .await;
    let amounts: Vec<i64> = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["amount_cents"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [500, 400, 300]);
    srv.patch(
        &key,
        &format!("/api/invoices/{}", ids[0]),
        &json!({"status": "paid"}),
    )
    .await;
    let reply = srv.get(&key, "/api/invoices?status=paid").await;
    let items = reply.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], ids[0]);

    // Bad parameters are 400 and name the parameter.
    for (query, name) in [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("cursor=zzz", "cursor"),
        ("status=bogus", "status"),
        ("min_amount_cents=1.5", "min_amount_cents"),
    ] {
        let reply = srv.get(&key, &format!("/api/invoices?{query}")).await;
        reply.assert_error(400, "invalid_query");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(name), "{query}: {message}");
    }

    // The limit is capped at 100.
    let scope = TenantScope::new(TenantId::parse("acme").unwrap());
    for i in 0..120 {
        Invoice::insert(
            &scope,
            NewInvoice {
                amount_cents: i,
                customer_email: "bulk@example.com".into(),
                status: InvoiceStatus::Draft,
                customer_id: None,
                period: "2026-01".into(),
            },
        )
        .execute(&srv.db)
        .await
        .unwrap();
    }
    let reply = srv.get(&key, "/api/invoices?limit=1000").await;
    assert_eq!(reply.body["items"].as_array().unwrap().len(), 100);
    assert!(reply.body["next_cursor"].is_string());
    let reply = srv.get(&key, "/api/invoices").await;
    assert_eq!(reply.body["items"].as_array().unwrap().len(), 20);
    srv.stop().await;
}

async fn revenue_report_groups_only_the_tenants_invoices(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Pro).await;
    let nobody = srv.tenant("initech", Plan::Pro).await;
    let paid = srv.create_invoice(&acme, 1200).await;
    srv.create_invoice(&acme, 300).await;
    srv.create_invoice(&acme, 500).await;
    let reply = srv
        .patch(
            &acme,
            &format!("/api/invoices/{paid}"),
            &json!({"status": "paid"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    srv.create_invoice(&globex, 9_999).await;

    let reply = srv.get(&acme, "/api/reports/revenue").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.body,
        json!({"groups": [
            {"status": "draft", "invoices": 2, "amount_cents": 800},
            {"status": "paid", "invoices": 1, "amount_cents": 1200},
        ]})
    );
    let reply = srv.get(&globex, "/api/reports/revenue").await;
    assert_eq!(
        reply.body,
        json!({"groups": [{"status": "draft", "invoices": 1, "amount_cents": 9_999}]})
    );
    let reply = srv.get(&nobody, "/api/reports/revenue").await;
    assert_eq!(reply.body, json!({"groups": []}));
    srv.stop().await;
}

async fn ranked_invoices_report_ranks_within_the_tenant(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Pro).await;
    let big = srv.create_invoice(&acme, 1200).await;
    let small = srv.create_invoice(&acme, 300).await;
    // globex's larger invoice does not push acme's down the ranking.
    let other = srv.create_invoice(&globex, 9_999).await;
    let reply = srv.get(&acme, "/api/reports/ranked-invoices").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.body,
        json!([
            {"id": big, "amount_cents": 1200, "place": 1},
            {"id": small, "amount_cents": 300, "place": 2},
        ])
    );
    let reply = srv
        .get(&acme, "/api/reports/ranked-invoices?min_cents=500")
        .await;
    assert_eq!(
        reply.body,
        json!([{"id": big, "amount_cents": 1200, "place": 1}])
    );
    let reply = srv.get(&globex, "/api/reports/ranked-invoices").await;
    assert_eq!(
        reply.body,
        json!([{"id": other, "amount_cents": 9_999, "place": 1}])
    );
    let reply = srv
        .get(&acme, "/api/reports/ranked-invoices?min_cents=x")
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    srv.stop().await;
}

async fn get_patch_delete(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Free).await;
    let id = srv.create_invoice(&key, 1200).await;
    let path = format!("/api/invoices/{id}");

    let reply = srv.get(&key, &path).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["id"], id);
    assert_eq!(reply.body["amount_cents"], 1200);

    let reply = srv
        .patch(
            &key,
            &path,
            &json!({"amount_cents": 1500, "customer_email": "new@example.com", "status": "open"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["amount_cents"], 1500);
    assert_eq!(reply.body["customer_email"], "new@example.com");
    assert_eq!(reply.body["status"], "open");
    let reply = srv.patch(&key, &path, &json!({"status": "paid"})).await;
    assert_eq!(reply.body["status"], "paid");
    assert_eq!(reply.body["amount_cents"], 1500, "other fields kept");
    assert_eq!(srv.get(&key, &path).await.body, reply.body);

    // Invalid patches.
    let reply = srv.patch(&key, &path, &json!({})).await;
    reply.assert_error(422, "validation_failed");
    let reply = srv.patch(&key, &path, &json!({"status": "shipped"})).await;
    reply.assert_error(422, "validation_failed");
    assert_eq!(reply.body["error"]["field"], "status");
    let reply = srv
        .patch(&key, &path, &json!({"customer_email": "nope"}))
        .await;
    assert_eq!(reply.body["error"]["field"], "customer_email");
    let reply = srv.patch(&key, &path, &json!({"amount_cents": -5})).await;
    assert_eq!(reply.body["error"]["field"], "amount_cents");
    let reply = srv
        .patch(&key, &path, &json!({"tenant_id": "globex"}))
        .await;
    reply.assert_error(422, "validation_failed");
    assert_eq!(reply.body["error"]["field"], "tenant_id");

    let reply = srv.delete(&key, &path).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.text.is_empty());
    assert_eq!(srv.stored("acme").await, 0);
    srv.get(&key, &path).await.assert_error(404, "not_found");
    srv.patch(&key, &path, &json!({"status": "void"}))
        .await
        .assert_error(404, "not_found");
    srv.delete(&key, &path).await.assert_error(404, "not_found");
    // The quota counter followed the delete.
    let usage = srv.get(&key, "/api/usage").await;
    assert_eq!(usage.body["invoices"]["stored"], 0);
    srv.stop().await;
}

async fn another_tenants_invoice_is_404_and_untouched(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Free).await;
    let id = srv.create_invoice(&acme, 1200).await;
    let path = format!("/api/invoices/{id}");
    let before = srv.get(&acme, &path).await.body;

    let missing = srv.get(&globex, "/api/invoices/999999").await;
    missing.assert_error(404, "not_found");
    let reply = srv.get(&globex, &path).await;
    reply.assert_error(404, "not_found");
    assert_eq!(
        reply.text, missing.text,
        "indistinguishable from a missing id"
    );
    srv.patch(&globex, &path, &json!({"amount_cents": 1}))
        .await
        .assert_error(404, "not_found");
    srv.delete(&globex, &path)
        .await
        .assert_error(404, "not_found");
    let listed = srv.get(&globex, "/api/invoices").await;
    assert_eq!(listed.body["items"], json!([]));

    // acme's invoice and quota are unchanged; globex's quota is untouched.
    assert_eq!(srv.get(&acme, &path).await.body, before);
    assert_eq!(srv.stored("acme").await, 1);
    let usage = srv.get(&globex, "/api/usage").await;
    assert_eq!(usage.body["tenant"], "globex");
    assert_eq!(usage.body["invoices"]["stored"], 0);
    let usage = srv.get(&acme, "/api/usage").await;
    assert_eq!(usage.body["invoices"]["stored"], 1);
    srv.stop().await;
}

async fn missing_malformed_or_unknown_keys_are_401(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;
    let unknown = demo_app::auth::ApiKey::generate().unwrap();

    let cases: Vec<(&str, Option<Vec<u8>>)> = vec![
        ("missing", None),
        ("empty", Some(Vec::new())),
        ("no scheme", Some(key.clone().into_bytes())),
        ("basic", Some(format!("Basic {key}").into_bytes())),
        ("bearer only", Some(b"Bearer".to_vec())),
        ("bearer space", Some(b"Bearer ".to_vec())),
        ("garbage", Some(b"Bearer not-a-key".to_vec())),
        (
            "truncated",
            Some(format!("Bearer {}", &key[..key.len() - 1]).into_bytes()),
        ),
        (
            "upper case",
            Some(format!("Bearer {}", key.to_uppercase()).into_bytes()),
        ),
        (
            "unknown",
            Some(format!("Bearer {}", unknown.expose()).into_bytes()),
        ),
        ("non-ascii", Some("Bearer tsk_\u{e9}".as_bytes().to_vec())),
    ];
    for (what, value) in cases {
        let mut req = srv.client.get(srv.url("/api/invoices"));
        if let Some(value) = value {
            req = req.header(
                header::AUTHORIZATION,
                header::HeaderValue::from_bytes(&value).unwrap(),
            );
        }
        let reply = send(req).await;
        reply.assert_error(401, "unauthorized");
        assert_eq!(
            reply.headers.get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer",
            "{what}"
        );
    }
    // Two Authorization headers.
    let reply = send(
        srv.client
            .get(srv.url("/api/invoices"))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::AUTHORIZATION, format!("Bearer {key}")),
    )
    .await;
    reply.assert_error(401, "unauthorized");
    // A tenant hint is not a credential.
    let reply = send(
        srv.client
            .get(srv.url("/api/invoices"))
            .header("x-tenant-id", "acme"),
    )
    .await;
    reply.assert_error(401, "unauthorized");
    // Every route under /api needs the key.
    for (method, path) in [
        (Method::POST, "/api/invoices"),
        (Method::GET, "/api/invoices/1"),
        (Method::PATCH, "/api/invoices/1"),
        (Method::DELETE, "/api/invoices/1"),
        (Method::GET, "/api/usage"),
        (Method::POST, "/api/invoices/batch"),
        (Method::PUT, "/api/customers"),
        (Method::GET, "/api/customers/1"),
        (Method::GET, "/api/customers/1/invoices"),
    ] {
        send(srv.request(method, path, None))
            .await
            .assert_error(401, "unauthorized");
    }
    // The real key works.
    assert_eq!(srv.get(&key, "/api/invoices").await.status, StatusCode::OK);
    srv.stop().await;
}

async fn tenant_hints_must_match_the_key(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    srv.tenant("globex", Plan::Free).await;
    let id = srv.create_invoice(&acme, 1200).await;
    let port = srv.port;
    let get = |extra: Vec<(&'static str, String)>| {
        let mut req = srv.request(Method::GET, "/api/invoices", Some(&acme));
        for (name, value) in extra {
            req = req.header(name, value);
        }
        send(req)
    };

    // X-Tenant-ID.
    get(vec![("x-tenant-id", "globex".into())])
        .await
        .assert_error(403, "tenant_mismatch");
    get(vec![("x-tenant-id", "GLOBEX".into())])
        .await
        .assert_error(403, "tenant_mismatch");
    get(vec![("x-tenant-id", String::new())])
        .await
        .assert_error(403, "tenant_mismatch");
    assert_eq!(
        get(vec![("x-tenant-id", "acme".into())]).await.status,
        StatusCode::OK
    );

    // Subdomains that disagree, however they are written.
    for host in [
        format!("globex.localhost:{port}"),
        "globex.localhost".to_owned(),
        format!("GLOBEX.localhost:{port}"),
        format!("globex.LOCALHOST.:{port}"),
        "nobody.localhost".to_owned(),
    ] {
        let reply = get(vec![("host", host.clone())]).await;
        reply.assert_error(403, "tenant_mismatch");
    }
    // Matching subdomains, and hosts that carry no tenant at all.
    for host in [
        format!("acme.localhost:{port}"),
        "acme.localhost".to_owned(),
        format!("ACME.LocalHost:{port}"),
        "acme.localhost.".to_owned(),
        format!("127.0.0.1:{port}"),
        "127.0.0.1".to_owned(),
        format!("[::1]:{port}"),
        "localhost".to_owned(),
        format!("localhost:{port}"),
        "LOCALHOST.".to_owned(),
        "www.localhost".to_owned(),
        format!("www.localhost:{port}"),
        "WWW.localhost.".to_owned(),
        "example.com".to_owned(),
    ] {
        let reply = get(vec![("host", host.clone())]).await;
        assert_eq!(reply.status, StatusCode::OK, "{host}: {reply:?}");
        assert_eq!(reply.body["items"][0]["id"], id, "{host}: acme's data");
    }
    // A forwarded host is not trusted: it neither selects nor refuses.
    let reply = get(vec![("x-forwarded-host", "globex.localhost".into())]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["items"][0]["id"], id);
    srv.stop().await;
}

async fn quota_refuses_and_stores_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start_with(
        &db.url,
        Options {
            config: config_with(
                PlanLimits {
                    max_invoices: Some(3),
                    requests_per_minute: None,
                },
                FREE_UNLIMITED,
            ),
            ..Options::default()
        },
    )
    .await;
    let key = srv.tenant("globex", Plan::Free).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(srv.create_invoice(&key, 100).await);
    }
    let reply = srv
        .post(
            &key,
            "/api/invoices",
            &json!({"amount_cents": 1, "customer_email": "x@example.com"}),
        )
        .await;
    reply.assert_error(403, "quota_exceeded");
    assert_eq!(srv.stored("globex").await, 3, "nothing stored");
    let usage = srv.get(&key, "/api/usage").await.body;
    assert_eq!(usage["plan"], "free");
    assert_eq!(usage["invoices"]["stored"], 3);
    assert_eq!(usage["invoices"]["limit"], 3);
    assert_eq!(usage["invoices"]["remaining"], 0);
    assert_eq!(usage["invoices"]["created_this_period"], 3);

    // Deleting frees a slot.
    srv.delete(&key, &format!("/api/invoices/{}", ids[0])).await;
    srv.create_invoice(&key, 100).await;
    assert_eq!(srv.stored("globex").await, 3);
    srv.post(
        &key,
        "/api/invoices",
        &json!({"amount_cents": 1, "customer_email": "x@example.com"}),
    )
    .await
    .assert_error(403, "quota_exceeded");
    srv.stop().await;
}

async fn parallel_creates_stop_exactly_at_the_quota(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = Arc::new(
        TestServer::start_with(
            &db.url,
            Options {
                config: config_with(
                    PlanLimits {
                        max_invoices: Some(8),
                        requests_per_minute: None,
                    },
                    FREE_UNLIMITED,
                ),
                ..Options::default()
            },
        )
        .await,
    );
    let key = srv.tenant("globex", Plan::Free).await;
    for _ in 0..3 {
        srv.create_invoice(&key, 100).await;
    }
    // 5 left; 20 at once.
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let srv = srv.clone();
        let key = key.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            srv.post(
                &key,
                "/api/invoices",
                &json!({"amount_cents": i, "customer_email": "p@example.com"}),
            )
            .await
        }));
    }
    let mut created = 0;
    let mut refused = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status.as_u16() {
            201 => created += 1,
            403 => {
                assert_eq!(reply.code(), "quota_exceeded");
                refused += 1;
            }
            other => panic!("unexpected {other}: {reply:?}"),
        }
    }
    assert_eq!((created, refused), (5, 15));
    assert_eq!(srv.stored("globex").await, 8);
    let usage = srv.get(&key, "/api/usage").await.body;
    assert_eq!(usage["invoices"]["stored"], 8);
    assert_eq!(usage["invoices"]["created_this_period"], 8);
    // 3 + 5 successful creates + this usage request: the 15 refused
    // creates are not metered.
    assert_eq!(usage["requests"]["this_period"], 9);
    Arc::into_inner(srv).unwrap().stop().await;
}

async fn rate_limit_answers_429_with_retry_after(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start_with(
        &db.url,
        Options {
            config: config_with(
                PlanLimits {
                    max_invoices: Some(100),
                    requests_per_minute: Some(3),
                },
                FREE_UNLIMITED,
            ),
            ..Options::default()
        },
    )
    .await;
    let free = srv.tenant("globex", Plan::Free).await;
    let other_free = srv.tenant("initech", Plan::Free).await;
    let pro = srv.tenant("acme", Plan::Pro).await;
    for _ in 0..3 {
        assert_eq!(srv.get(&free, "/api/invoices").await.status, StatusCode::OK);
    }
    let reply = srv.get(&free, "/api/invoices").await;
    reply.assert_error(429, "rate_limited");
    let retry_after: u64 = reply
        .headers
        .get(header::RETRY_AFTER)
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    // Other tenants have their own budget; pro has no limit configured.
    assert_eq!(
        srv.get(&other_free, "/api/invoices").await.status,
        StatusCode::OK
    );
    for _ in 0..10 {
        assert_eq!(srv.get(&pro, "/api/invoices").await.status, StatusCode::OK);
    }
    // Refused requests are not counted as usage.
    let usage = srv.get(&other_free, "/api/usage").await.body;
    assert_eq!(usage["requests"]["rate_limit_per_minute"], 3);
    let scope = TenantScope::new(TenantId::parse("globex").unwrap());
    let period = demo_app::models::UsagePeriod::query(&scope)
        .fetch_one(&srv.db)
        .await
        .unwrap();
    assert_eq!(period.requests, 3);
    srv.stop().await;
}

async fn usage_survives_a_restart(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;
    srv.create_invoice(&key, 100).await;
    srv.create_invoice(&key, 200).await;
    let before = srv.get(&key, "/api/usage").await.body;
    assert_eq!(before["requests"]["this_period"], 3);
    assert_eq!(before["invoices"]["created_this_period"], 2);
    srv.stop().await;

    let srv = TestServer::start(&db.url).await;
    let after = srv.get(&key, "/api/usage").await.body;
    assert_eq!(after["tenant"], "acme");
    assert_eq!(after["plan"], "pro");
    assert_eq!(after["period"], before["period"]);
    assert_eq!(after["requests"]["this_period"], 4);
    assert_eq!(after["invoices"]["stored"], 2);
    assert_eq!(after["invoices"]["created_this_period"], 2);
    srv.stop().await;
}

async fn billing_hook_writes_json_lines(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("billing.jsonl");
    let srv = TestServer::start_with(
        &db.url,
        Options {
            billing: Arc::new(JsonLinesSink::open(&log).unwrap()),
            ..Options::default()
        },
    )
    .await;
    let key = srv.tenant("acme", Plan::Pro).await;
    let other = srv.tenant("globex", Plan::Free).await;
    let id = srv.create_invoice(&key, 1200).await;
    srv.get(&other, "/api/usage").await;
    srv.get("tsk_nope", "/api/usage").await; // refused: not counted
    srv.stop().await;

    let text = std::fs::read_to_string(&log).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), 3, "{text}");
    let summary: HashSet<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["tenant"].as_str().unwrap().to_owned(),
                e["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        HashSet::from([
            ("acme".to_owned(), "request".to_owned()),
            ("acme".to_owned(), "invoice_created".to_owned()),
            ("globex".to_owned(), "request".to_owned()),
        ])
    );
    let created = events
        .iter()
        .find(|e| e["kind"] == "invoice_created")
        .unwrap();
    assert_eq!(created["invoice_id"], id);
    assert_eq!(created["quantity"], 1);
    assert!(created["period"].as_str().unwrap().len() == 7);
    assert!(chrono::DateTime::parse_from_rfc3339(created["at"].as_str().unwrap()).is_ok());
    assert!(!text.contains(&key) && !text.contains(&other));
}

async fn bad_input_is_400_413_415_or_422(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;
    let raw = |body: Vec<u8>| {
        send(
            srv.request(Method::POST, "/api/invoices", Some(&key))
                .header(header::CONTENT_TYPE, "application/json")
                .body(body),
        )
    };

    // Not JSON: 400.
    for body in ["{", "", "nope", "{\"amount_cents\":12,}", "\u{0}", "[1,2"] {
        raw(body.into()).await.assert_error(400, "malformed_json");
    }
    // JSON of the wrong shape: 422 naming the field.
    for (body, field) in [
        (
            json!({"amount_cents": "12", "customer_email": "a@example.com"}),
            "amount_cents",
        ),
        (
            json!({"amount_cents": 1.5, "customer_email": "a@example.com"}),
            "amount_cents",
        ),
        (
            json!({"amount_cents": null, "customer_email": "a@example.com"}),
            "amount_cents",
        ),
        (
            json!({"amount_cents": 12, "customer_email": 7}),
            "customer_email",
        ),
        (json!({"customer_email": "a@example.com"}), "amount_cents"),
        (json!({"amount_cents": 12}), "customer_email"),
        (
            json!({"amount_cents": 12, "customer_email": "a@example.com", "tenant_id": "globex"}),
            "tenant_id",
        ),
        (
            json!({"amount_cents": -1, "customer_email": "a@example.com"}),
            "amount_cents",
        ),
        (
            json!({"amount_cents": 12, "customer_email": "not-an-email"}),
            "customer_email",
        ),
        (
            json!({"amount_cents": 12, "customer_email": "a@example.com", "status": "shipped"}),
            "status",
        ),
    ] {
        let reply = srv.post(&key, "/api/invoices", &body).await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.body["error"]["field"], field, "{body}: {reply:?}");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    for body in [json!([]), json!("text"), json!(12), json!(null)] {
        srv.post(&key, "/api/invoices", &body)
            .await
            .assert_error(422, "validation_failed");
    }
    // Too large: 413, whether or not the body is valid JSON.
    let big = format!(
        r#"{{"amount_cents":1,"customer_email":"a@example.com","pad":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    raw(big.into_bytes())
        .await
        .assert_error(413, "payload_too_large");
    raw(vec![b'['; 65 * 1024])
        .await
        .assert_error(413, "payload_too_large");
    // Just under the limit is read (and then judged on its content).
    let near = format!(
        r#"{{"amount_cents":1,"customer_email":"{}@example.com"}}"#,
        "x".repeat(60 * 1024)
    );
    raw(near.into_bytes())
        .await
        .assert_error(422, "validation_failed");
    // Not JSON at all: 415.
    send(
        srv.request(Method::POST, "/api/invoices", Some(&key))
            .header(header::CONTENT_TYPE, "text/plain")
            .body("amount_cents=1"),
    )
    .await
    .assert_error(415, "unsupported_media_type");
    // Deeply nested JSON is refused, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    raw(deep.into_bytes())
        .await
        .assert_error(400, "malformed_json");
    // None of it was stored.
    assert_eq!(srv.stored("acme").await, 0);
    srv.stop().await;
}

async fn non_numeric_ids_are_404(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;
    srv.create_invoice(&key, 1).await;
    for id in [
        "abc",
        "1.5",
        "-1",
        "0",
        "99999999999999999999999",
        "%FF",
        "1%00",
        "1;DROP%20TABLE%20invoices",
        "%27%20OR%201=1--",
    ] {
        let path = format!("/api/invoices/{id}");
        srv.get(&key, &path).await.assert_error(404, "not_found");
        srv.patch(&key, &path, &json!({"status": "paid"}))
            .await
            .assert_error(404, "not_found");
        srv.delete(&key, &path).await.assert_error(404, "not_found");
    }
    assert_eq!(srv.stored("acme").await, 1);
    srv.stop().await;
}

async fn no_input_makes_the_server_fail(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let key = srv.tenant("acme", Plan::Pro).await;
    let id = srv.create_invoice(&key, 1).await;
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"null".to_vec(),
        b"{}".to_vec(),
        b"{\"amount_cents\":9223372036854775807,\"customer_email\":\"a@example.com\"}".to_vec(),
        b"{\"amount_cents\":-9223372036854775808,\"customer_email\":\"a@example.com\"}".to_vec(),
        b"{\"amount_cents\":1e308,\"customer_email\":\"a@example.com\"}".to_vec(),
        "{\"amount_cents\":1,\"customer_email\":\"\u{1F600}@\u{1F600}.com\"}"
            .as_bytes()
            .to_vec(),
        b"{\"amount_cents\":1,\"customer_email\":\"a@example.com\",\"amount_cents\":2}".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x7b],
        (0..=255u8).collect(),
        b"{\"status\":{\"nested\":[1,2,{}]}}".to_vec(),
    ];
    let paths = [
        "/api/invoices".to_owned(),
        format!("/api/invoices/{id}"),
        "/api/invoices?limit=18446744073709551616&cursor=-5&min_amount_cents=abc".to_owned(),
        "/api/invoices?status=%FF&limit=%00".to_owned(),
        "/api/usage?x=1".to_owned(),
        "/api//invoices".to_owned(),
        "/api/invoices/1/2".to_owned(),
        "/api/invoices/batch".to_owned(),
        "/api/customers".to_owned(),
        "/api/customers/1/invoices?limit=0&cursor=%FF".to_owned(),
        "/api/reports/revenue?group=%FF,,month".to_owned(),
    ];
    for path in &paths {
        for method in [Method::GET, Method::POST, Method::PATCH, Method::DELETE] {
            for body in &bodies {
                let reply = send(
                    srv.request(method.clone(), path, Some(&key))
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(body.clone()),
                )
                .await;
                assert!(
                    reply.status.as_u16() < 500,
                    "{method} {path} {body:?}: {reply:?}"
                );
                if !reply.status.is_success() {
                    assert!(reply.body["error"]["code"].is_string(), "{reply:?}");
                }
            }
        }
    }
    // Odd headers.
    for (name, value) in [
        ("x-tenant-id", "acme\t"),
        ("host", "acme.localhost:99999999"),
        ("host", ":::"),
        ("host", "[::1"),
        ("content-type", "application/json; charset=utf-8"),
        ("content-type", "???"),
    ] {
        let reply = send(
            srv.request(Method::GET, "/api/invoices", Some(&key))
                .header(name, value),
        )
        .await;
        assert!(reply.status.as_u16() < 500, "{name}: {value}: {reply:?}");
    }
    assert_eq!(
        send(srv.client.get(srv.url("/health"))).await.status,
        StatusCode::OK
    );
    srv.stop().await;
}

fn scope(tenant: &str) -> TenantScope {
    TenantScope::new(TenantId::parse(tenant).unwrap())
}

/// Upserts a customer over HTTP; returns its id.
async fn put_customer(srv: &TestServer, key: &str, email: &str, name: &str) -> i64 {
    let reply = srv
        .put(
            key,
            "/api/customers",
            &json!({"email": email, "name": name}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["email"], email);
    assert_eq!(reply.body["name"], name);
    reply.body["id"].as_i64().unwrap()
}

/// A valid create body.
fn invoice_body(amount_cents: i64, customer_id: Option<i64>) -> Value {
    json!({"amount_cents": amount_cents, "customer_email": "a@example.com", "customer_id": customer_id})
}

/// The `invoice_created` events in `tenant`'s outbox.
async fn invoice_events(srv: &TestServer, tenant: &str) -> Vec<OutboxEvent> {
    OutboxEvent::query(&scope(tenant))
        .filter(OutboxEvent::KIND.eq(UsageKind::InvoiceCreated))
        .fetch_all(&srv.db)
        .await
        .unwrap()
}

async fn quota_counter(srv: &TestServer, tenant: &str) -> i64 {
    InvoiceQuota::query(&scope(tenant))
        .fetch_one(&srv.db)
        .await
        .unwrap()
        .invoices_stored
}

async fn customers_upsert_by_email_within_the_tenant(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Free).await;

    // The same e-mail in both tenants: two customers.
    let theirs = put_customer(&srv, &globex, "ann@example.com", "Ann at Globex").await;
    let mine = put_customer(&srv, &acme, "ann@example.com", "Ann").await;
    assert_ne!(mine, theirs);
    // The upsert updates acme's row, by e-mail, and keeps its id.
    assert_eq!(
        put_customer(&srv, &acme, "ann@example.com", "Ann B.").await,
        mine
    );
    let reply = srv.get(&acme, &format!("/api/customers/{mine}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.body,
        json!({"id": mine, "name": "Ann B.", "email": "ann@example.com"})
    );
    // globex's customer with the same e-mail is untouched.
    let reply = srv.get(&globex, &format!("/api/customers/{theirs}")).await;
    assert_eq!(
        reply.body,
        json!({"id": theirs, "name": "Ann at Globex", "email": "ann@example.com"})
    );
    assert_eq!(
        Customer::query(&scope("acme"))
            .count(&srv.db)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        Customer::query(&scope("globex"))
            .count(&srv.db)
            .await
            .unwrap(),
        1
    );

    // Another tenant's customer id is a 404, indistinguishable from a
    // missing one.
    let other = srv.get(&acme, &format!("/api/customers/{theirs}")).await;
    other.assert_error(404, "not_found");
    let missing = srv.get(&acme, "/api/customers/999999").await;
    assert_eq!(other.text, missing.text);
    srv.get(&acme, "/api/customers/01")
        .await
        .assert_error(404, "not_found");

    // Invalid bodies: 422 naming the field, nothing stored.
    for (body, field) in [
        (json!({"email": "nope", "name": "X"}), "email"),
        (json!({"email": "x@example.com", "name": "  "}), "name"),
        (
            json!({"email": "x@example.com", "name": "a\u{202E}b"}),
            "name",
        ),
        (json!({"email": "x@example.com"}), "name"),
        (
            json!({"email": "x@example.com", "name": "X", "tenant_id": "globex"}),
            "tenant_id",
        ),
        (
            json!({"email": "x@example.com", "name": "X", "id": theirs}),
            "id",
        ),
    ] {
        let reply = srv.put(&acme, "/api/customers", &body).await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.body["error"]["field"], field, "{body}");
    }
    assert_eq!(
        Customer::query(&scope("acme"))
            .count(&srv.db)
            .await
            .unwrap(),
        1
    );
    srv.stop().await;
}

async fn customer_invoices_are_a_join_within_the_tenant(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Pro).await;
    let ann = put_customer(&srv, &acme, "ann@example.com", "Ann").await;
    let bob = put_customer(&srv, &acme, "bob@example.com", "Bob").await;
    let theirs = put_customer(&srv, &globex, "ann@example.com", "Ann").await;

    let mut anns = Vec::new();
    for amount in [100, 200, 300] {
        let reply = srv
            .post(&acme, "/api/invoices", &invoice_body(amount, Some(ann)))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        assert_eq!(reply.body["customer_id"], ann);
        anns.push(reply.body["id"].as_i64().unwrap());
    }
    srv.post(&acme, "/api/invoices", &invoice_body(400, Some(bob)))
        .await;
    srv.post(&acme, "/api/invoices", &invoice_body(500, None))
        .await;
    let reply = srv
        .post(&globex, "/api/invoices", &invoice_body(9_999, Some(theirs)))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");

    // Ann's invoices, newest first, paged.
    let path = format!("/api/customers/{ann}/invoices");
    let reply = srv.get(&acme, &path).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["customer"]["id"], ann);
    let ids: Vec<i64> = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [anns[2], anns[1], anns[0]]);
    assert!(reply.body["next_cursor"].is_null());
    let page = srv.get(&acme, &format!("{path}?limit=2")).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let page = srv
        .get(&acme, &format!("{path}?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(page.body["items"][0]["id"], anns[0]);
    assert!(page.body["next_cursor"].is_null());
    srv.get(&acme, &format!("{path}?cursor=abc"))
        .await
        .assert_error(400, "invalid_query");

    // A customer without invoices: 200 and an empty list.
    let carol = put_customer(&srv, &acme, "carol@example.com", "Carol").await;
    let reply = srv
        .get(&acme, &format!("/api/customers/{carol}/invoices"))
        .await;
    assert_eq!(reply.body["items"], json!([]));

    // Another tenant's customer: 404, like a missing one; and globex sees
    // only its own invoice for its own customer.
    let other = srv
        .get(&acme, &format!("/api/customers/{theirs}/invoices"))
        .await;
    other.assert_error(404, "not_found");
    let missing = srv.get(&acme, "/api/customers/999999/invoices").await;
    assert_eq!(other.text, missing.text);
    srv.get(&globex, &path).await.assert_error(404, "not_found");
    let reply = srv
        .get(&globex, &format!("/api/customers/{theirs}/invoices"))
        .await;
    let items = reply.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["amount_cents"], 9_999);
    srv.stop().await;
}

/// Runs `sql` on the server's database as its owner (the PostgreSQL test
/// user is a superuser, so row-level security does not apply).
async fn raw_sql(srv: &TestServer, sql: String) {
    if let Ok(pool) = srv
        .db
        .raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
    {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .unwrap();
    } else if let Ok(pool) = srv
        .db
        .raw_mysql(&tenant_core::CrossTenant::audited("test fixtures"))
    {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .unwrap();
    } else if let Ok(pool) = srv
        .db
        .raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
    {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .unwrap();
    }
}

async fn same_customer_ids_in_two_tenants_never_meet(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Pro).await;
    let ann = put_customer(&srv, &acme, "ann@example.com", "Ann").await;
    srv.create_invoice(&acme, 100).await;
    let reply = srv
        .post(&acme, "/api/invoices", &invoice_body(200, Some(ann)))
        .await;
    let ann_invoice = reply.body["id"].as_i64().unwrap();
    if backend == Backend::Sqlite {
        // SQLite's ids are rowids, unique across tenants: the same id cannot
        // exist twice. The e-mail can.
        put_customer(&srv, &globex, "ann@example.com", "Ann at Globex").await;
    } else {
        // globex gets a customer with acme's customer id and e-mail, and an
        // invoice for it (ids are per tenant in the primary keys).
        raw_sql(
            &srv,
            format!(
                "INSERT INTO customers (id, tenant_id, name, email) \
                 VALUES ({ann}, 'globex', 'Ann at Globex', 'ann@example.com')"
            ),
        )
        .await;
        raw_sql(
            &srv,
            format!(
                "INSERT INTO invoices (id, tenant_id, amount_cents, customer_email, status, customer_id, period) \
                 VALUES ({ann_invoice}, 'globex', 7777, 'ann@example.com', 'open', {ann}, '2026-01')"
            ),
        )
        .await;
        let reply = srv.get(&globex, &format!("/api/customers/{ann}")).await;
        assert_eq!(reply.body["name"], "Ann at Globex");
        let reply = srv
            .get(&globex, &format!("/api/customers/{ann}/invoices"))
            .await;
        let items = reply.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{reply:?}");
        assert_eq!(items[0]["amount_cents"], 7777);
        let reply = srv
            .get(&globex, &format!("/api/invoices/{ann_invoice}"))
            .await;
        assert_eq!(reply.body["amount_cents"], 7777);
    }
    // acme's view is unchanged: one customer, its one invoice.
    let reply = srv.get(&acme, &format!("/api/customers/{ann}")).await;
    assert_eq!(reply.body["name"], "Ann");
    let reply = srv
        .get(&acme, &format!("/api/customers/{ann}/invoices"))
        .await;
    let items = reply.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{reply:?}");
    assert_eq!(items[0]["id"], ann_invoice);
    assert_eq!(items[0]["amount_cents"], 200);
    // The upsert by e-mail changes acme's row only.
    put_customer(&srv, &acme, "ann@example.com", "Ann C.").await;
    let theirs = Customer::query(&scope("globex"))
        .fetch_one(&srv.db)
        .await
        .unwrap();
    assert_eq!(theirs.name, "Ann at Globex");
    srv.stop().await;
}

async fn invoice_customer_of_another_tenant_is_422_and_stores_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Pro).await;
    put_customer(&srv, &acme, "ann@example.com", "Ann").await;
    let theirs = put_customer(&srv, &globex, "gus@example.com", "Gus").await;
    let before = srv.get(&acme, "/api/usage").await.body;

    for customer_id in [json!(theirs), json!(999_999)] {
        let mut body = invoice_body(100, None);
        body["customer_id"] = customer_id;
        let reply = srv.post(&acme, "/api/invoices", &body).await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.body["error"]["field"], "customer_id", "{reply:?}");
    }
    for bad in [json!(0), json!(-3), json!("1"), json!(1.5)] {
        let mut body = invoice_body(100, None);
        body["customer_id"] = bad;
        let reply = srv.post(&acme, "/api/invoices", &body).await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.body["error"]["field"], "customer_id", "{reply:?}");
    }
    assert_eq!(srv.stored("acme").await, 0);
    assert_eq!(quota_counter(&srv, "acme").await, 0);
    assert!(invoice_events(&srv, "acme").await.is_empty());
    let after = srv.get(&acme, "/api/usage").await.body;
    assert_eq!(after["invoices"]["created_this_period"], 0);
    assert_eq!(
        after["requests"]["this_period"],
        before["requests"]["this_period"].as_i64().unwrap() + 1,
        "refused creates are not metered"
    );
    srv.stop().await;
}

async fn composite_foreign_keys_refuse_another_tenants_parent(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Pro).await;
    let theirs = put_customer(&srv, &globex, "gus@example.com", "Gus").await;
    let their_invoice = srv.create_invoice(&globex, 100).await;

    // Past the handlers, tenant-core looks the reference up for the tenant
    // before writing, and the API maps its refusal to a 422.
    let err = Invoice::insert(
        &scope("acme"),
        NewInvoice {
            amount_cents: 1,
            customer_email: "a@example.com".into(),
            status: InvoiceStatus::Draft,
            customer_id: Some(theirs),
            period: "2026-01".into(),
        },
    )
    .execute(&srv.db)
    .await
    .unwrap_err();
    assert!(
        matches!(err, tenant_core::Error::ReferenceNotFound { .. }),
        "{err}"
    );
    assert_eq!(
        demo_app::ApiError::from(err).status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let err = LineItem::insert(
        &scope("acme"),
        NewLineItem {
            invoice_id: their_invoice,
            description: "x".into(),
            quantity: 1,
            unit_price_cents: 1,
        },
    )
    .execute(&srv.db)
    .await
    .unwrap_err();
    assert!(
        matches!(err, tenant_core::Error::ReferenceNotFound { .. }),
        "{err}"
    );
    // Past tenant-core too (raw SQL on the pool), the composite foreign
    // key refuses the cross-tenant reference itself.
    let raw = format!(
        "INSERT INTO invoice_line_items (tenant_id, invoice_id, description, quantity, unit_price_cents) \
         VALUES ('acme', {their_invoice}, 'x', 1, 1)"
    );
    let raw = sqlx::AssertSqlSafe(raw);
    let refused = if let Ok(pool) = srv
        .db
        .raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
    {
        sqlx::query(raw).execute(pool).await.map(drop)
    } else if let Ok(pool) = srv
        .db
        .raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
    {
        sqlx::query(raw).execute(pool).await.map(drop)
    } else if let Ok(pool) = srv
        .db
        .raw_mysql(&tenant_core::CrossTenant::audited("test fixtures"))
    {
        sqlx::query(raw).execute(pool).await.map(drop)
    } else {
        unreachable!("one of the three backends")
    };
    let refused = refused.map_err(tenant_core::Error::Database).unwrap_err();
    assert!(
        demo_app::error::is_foreign_key_violation(&refused),
        "{refused}"
    );
    assert_eq!(srv.stored("acme").await, 0);
    assert_eq!(
        LineItem::query(&scope("acme"))
            .count(&srv.db)
            .await
            .unwrap(),
        0
    );
    srv.stop().await;
}

async fn line_items_are_created_read_and_deleted_with_the_invoice(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Pro).await;
    let body = json!({
        "amount_cents": 2_500,
        "customer_email": "a@example.com",
        "line_items": [
            {"description": "Consulting", "quantity": 2, "unit_price_cents": 1_000},
            {"description": "Travel", "quantity": 1, "unit_price_cents": 500},
        ],
    });
    let reply = srv.post(&acme, "/api/invoices", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let id = reply.body["id"].as_i64().unwrap();
    let created = reply.body.clone();
    let lines = created["line_items"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["description"], "Consulting");
    assert_eq!(lines[0]["quantity"], 2);
    assert_eq!(lines[1]["unit_price_cents"], 500);
    // globex has an invoice with line items as well.
    let reply = srv.post(&globex, "/api/invoices", &body).await;
    let theirs = reply.body["id"].as_i64().unwrap();

    let path = format!("/api/invoices/{id}");
    let reply = srv.get(&acme, &path).await;
    assert_eq!(reply.body, created, "read back as created");
    // An invoice without lines shows an empty list; lists leave them out.
    let plain = srv.create_invoice(&acme, 10).await;
    let reply = srv.get(&acme, &format!("/api/invoices/{plain}")).await;
    assert_eq!(reply.body["line_items"], json!([]));
    let reply = srv.get(&acme, "/api/invoices").await;
    assert!(reply.body["items"][0].get("line_items").is_none());
    // Another tenant's invoice, with its lines, is not found.
    srv.get(&acme, &format!("/api/invoices/{theirs}"))
        .await
        .assert_error(404, "not_found");
    // A patch answers with the lines too.
    let reply = srv.patch(&acme, &path, &json!({"status": "open"})).await;
    assert_eq!(reply.body["line_items"], created["line_items"]);

    // Invalid lines: 422 naming the line's field, nothing stored.
    for (line, field) in [
        (
            json!({"description": "x", "quantity": 0, "unit_price_cents": 1}),
            "line_items[0].quantity",
        ),
        (
            json!({"description": "", "quantity": 1, "unit_price_cents": 1}),
            "line_items[0].description",
        ),
        (
            json!({"description": "x", "quantity": 1, "unit_price_cents": -1}),
            "line_items[0].unit_price_cents",
        ),
        (
            json!({"description": "x", "quantity": 1, "unit_price_cents": 1, "invoice_id": theirs}),
            "line_items[0].invoice_id",
        ),
    ] {
        let body =
            json!({"amount_cents": 1, "customer_email": "a@example.com", "line_items": [line]});
        let reply = srv.post(&acme, "/api/invoices", &body).await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.body["error"]["field"], field, "{reply:?}");
    }
    let too_many: Vec<Value> = (0..101)
        .map(|_| json!({"description": "x", "quantity": 1, "unit_price_cents": 1}))
        .collect();
    let body =
        json!({"amount_cents": 1, "customer_email": "a@example.com", "line_items": too_many});
    let reply = srv.post(&acme, "/api/invoices", &body).await;
    assert_eq!(reply.body["error"]["field"], "line_items", "{reply:?}");
    assert_eq!(srv.stored("acme").await, 2);

    // Deleting the invoice deletes its lines; globex's are untouched.
    assert_eq!(
        srv.delete(&acme, &path).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        LineItem::query(&scope("acme"))
            .count(&srv.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        LineItem::query(&scope("globex"))
            .count(&srv.db)
            .await
            .unwrap(),
        2
    );
    srv.stop().await;
}

async fn revenue_report_groups_by_month_and_status(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Pro).await;
    for (tenant, period, status, amount_cents) in [
        ("acme", "2025-12", InvoiceStatus::Paid, 100),
        ("acme", "2025-12", InvoiceStatus::Paid, 200),
        ("acme", "2025-12", InvoiceStatus::Open, 50),
        ("acme", "2026-01", InvoiceStatus::Paid, 1_000),
        ("globex", "2025-12", InvoiceStatus::Paid, 9_999),
        ("globex", "2026-02", InvoiceStatus::Open, 1),
    ] {
        Invoice::insert(
            &scope(tenant),
            NewInvoice {
                amount_cents,
                customer_email: "a@example.com".into(),
                status,
                customer_id: None,
                period: period.into(),
            },
        )
        .execute(&srv.db)
        .await
        .unwrap();
    }
    // A created invoice counts in the current month.
    let reply = srv
        .post(&acme, "/api/invoices", &invoice_body(7, None))
        .await;
    let now = reply.body["period"].as_str().unwrap().to_owned();
    assert_eq!(now, chrono::Utc::now().format("%Y-%m").to_string());

    let reply = srv.get(&acme, "/api/reports/revenue?group=month").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.body,
        json!({"groups": [
            {"month": "2025-12", "invoices": 3, "amount_cents": 350},
            {"month": "2026-01", "invoices": 1, "amount_cents": 1_000},
            {"month": now, "invoices": 1, "amount_cents": 7},
        ]})
    );
    let both = json!({"groups": [
        {"month": "2025-12", "status": "open", "invoices": 1, "amount_cents": 50},
        {"month": "2025-12", "status": "paid", "invoices": 2, "amount_cents": 300},
        {"month": "2026-01", "status": "paid", "invoices": 1, "amount_cents": 1_000},
        {"month": now, "status": "draft", "invoices": 1, "amount_cents": 7},
    ]});
    for group in ["month,status", "status,month", "month%2Cstatus"] {
        let reply = srv
            .get(&acme, &format!("/api/reports/revenue?group={group}"))
            .await;
        assert_eq!(reply.body, both, "{group}");
    }
    let by_status = json!({"groups": [
        {"status": "draft", "invoices": 1, "amount_cents": 7},
        {"status": "open", "invoices": 1, "amount_cents": 50},
        {"status": "paid", "invoices": 3, "amount_cents": 1_300},
    ]});
    for path in ["/api/reports/revenue", "/api/reports/revenue?group=status"] {
        assert_eq!(srv.get(&acme, path).await.body, by_status, "{path}");
    }
    let reply = srv
        .get(&globex, "/api/reports/revenue?group=month,status")
        .await;
    assert_eq!(
        reply.body,
        json!({"groups": [
            {"month": "2025-12", "status": "paid", "invoices": 1, "amount_cents": 9_999},
            {"month": "2026-02", "status": "open", "invoices": 1, "amount_cents": 1},
        ]})
    );
    for bad in ["day", "month,month", "created_at", "month,"] {
        srv.get(&acme, &format!("/api/reports/revenue?group={bad}"))
            .await
            .assert_error(400, "invalid_query");
    }
    srv.stop().await;
}

async fn batch_stores_all_invoices_and_bills_each(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Pro).await;
    let ann = put_customer(&srv, &acme, "ann@example.com", "Ann").await;
    srv.create_invoice(&globex, 1).await;

    let body = json!({"invoices": [
        {"amount_cents": 100, "customer_email": "a@example.com", "customer_id": ann,
         "line_items": [{"description": "A", "quantity": 1, "unit_price_cents": 100}]},
        {"amount_cents": 200, "customer_email": "b@example.com", "status": "open"},
        {"amount_cents": 300, "customer_email": "c@example.com", "customer_id": ann,
         "line_items": [
            {"description": "B", "quantity": 2, "unit_price_cents": 100},
            {"description": "C", "quantity": 1, "unit_price_cents": 100}]},
    ]});
    let reply = srv.post(&acme, "/api/invoices/batch", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let items = reply.body["items"].as_array().unwrap();
    let amounts: Vec<i64> = items
        .iter()
        .map(|i| i["amount_cents"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [100, 200, 300], "in the order given");
    assert_eq!(items[1]["status"], "open");
    assert_eq!(items[0]["customer_id"], ann);
    assert!(items[1]["customer_id"].is_null());
    let lines: Vec<usize> = items
        .iter()
        .map(|i| i["line_items"].as_array().unwrap().len())
        .collect();
    assert_eq!(lines, [1, 0, 2]);
    assert_eq!(items[2]["line_items"][1]["description"], "C");
    for item in items {
        let id = item["id"].as_i64().unwrap();
        let read = srv.get(&acme, &format!("/api/invoices/{id}")).await;
        assert_eq!(&read.body, item);
    }
    assert_eq!(srv.stored("acme").await, 3);
    assert_eq!(quota_counter(&srv, "acme").await, 3);
    // One invoice_created event per invoice, as the single create writes.
    let mut billed: Vec<i64> = invoice_events(&srv, "acme")
        .await
        .iter()
        .map(|e| {
            assert_eq!(e.quantity, 1);
            e.invoice_id.unwrap()
        })
        .collect();
    billed.sort_unstable();
    let mut ids: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(billed, ids);
    let usage = srv.get(&acme, "/api/usage").await.body;
    assert_eq!(usage["invoices"]["stored"], 3);
    assert_eq!(usage["invoices"]["created_this_period"], 3);

    // 1 000 invoices (more than the usual 64 KiB body limit) in one request.
    let many: Vec<Value> = (0..1_000)
        .map(|i| json!({"amount_cents": i, "customer_email": format!("n{i}@example.com")}))
        .collect();
    let reply = srv
        .post(&acme, "/api/invoices/batch", &json!({"invoices": many}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text.len());
    assert_eq!(reply.body["items"].as_array().unwrap().len(), 1_000);
    assert_eq!(srv.stored("acme").await, 1_003);
    assert_eq!(quota_counter(&srv, "acme").await, 1_003);
    assert_eq!(invoice_events(&srv, "acme").await.len(), 1_003);
    // globex is untouched.
    assert_eq!(srv.stored("globex").await, 1);
    assert_eq!(quota_counter(&srv, "globex").await, 1);
    srv.stop().await;
}

async fn batch_is_all_or_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start(&db.url).await;
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Pro).await;
    let ann = put_customer(&srv, &acme, "ann@example.com", "Ann").await;
    let theirs = put_customer(&srv, &globex, "ann@example.com", "Ann").await;
    srv.create_invoice(&acme, 1).await;
    let good = |amount: i64| json!({"amount_cents": amount, "customer_email": "a@example.com", "customer_id": ann});

    let cases: Vec<(Value, u16, &str)> = vec![
        // One invalid row among valid ones.
        (
            json!({"invoices": [good(1), {"amount_cents": -1, "customer_email": "a@example.com"}, good(3)]}),
            422,
            "invoices[1].amount_cents",
        ),
        (
            json!({"invoices": [good(1), good(2), {"amount_cents": 1, "customer_email": "nope"}]}),
            422,
            "invoices[2].customer_email",
        ),
        (
            json!({"invoices": [good(1), {"amount_cents": 1, "customer_email": "a@example.com",
                "line_items": [{"description": "x", "quantity": 0, "unit_price_cents": 1}]}]}),
            422,
            "invoices[1].line_items[0].quantity",
        ),
        // Another tenant's customer id in the body.
        (
            json!({"invoices": [good(1), good(2), {"amount_cents": 1, "customer_email": "a@example.com", "customer_id": theirs}]}),
            422,
            "invoices[2].customer_id",
        ),
        (
            json!({"invoices": [{"amount_cents": 1, "customer_email": "a@example.com", "customer_id": 999_999}, good(2)]}),
            422,
            "invoices[0].customer_id",
        ),
        // A tenant named in a row.
        (
            json!({"invoices": [good(1), {"amount_cents": 1, "customer_email": "a@example.com", "tenant_id": "globex"}]}),
            422,
            "invoices[1].tenant_id",
        ),
        // Shape and size.
        (json!({"invoices": []}), 422, "invoices"),
        (json!({}), 422, "invoices"),
        (
            json!({"invoices": (0..1_001).map(|_| good(1)).collect::<Vec<_>>()}),
            422,
            "invoices",
        ),
    ];
    for (body, status, field) in cases {
        let reply = srv.post(&acme, "/api/invoices/batch", &body).await;
        reply.assert_error(status, "validation_failed");
        assert_eq!(reply.body["error"]["field"], field, "{reply:?}");
    }
    // Not JSON: 400.
    let reply = send(
        srv.request(Method::POST, "/api/invoices/batch", Some(&acme))
            .header(header::CONTENT_TYPE, "application/json")
            .body("{\"invoices\": ["),
    )
    .await;
    reply.assert_error(400, "malformed_json");
    // Nothing of any batch was stored, counted or billed.
    assert_eq!(srv.stored("acme").await, 1);
    assert_eq!(quota_counter(&srv, "acme").await, 1);
    assert_eq!(invoice_events(&srv, "acme").await.len(), 1);
    assert_eq!(
        LineItem::query(&scope("acme"))
            .count(&srv.db)
            .await
            .unwrap(),
        0
    );
    let usage = srv.get(&acme, "/api/usage").await.body;
    assert_eq!(usage["invoices"]["created_this_period"], 1);
    // globex is untouched.
    assert_eq!(srv.stored("globex").await, 0);
    assert_eq!(quota_counter(&srv, "globex").await, 0);
    srv.stop().await;
}

async fn batch_quota_is_checked_once_for_the_whole_batch(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start_with(
        &db.url,
        Options {
            config: config_with(
                PlanLimits {
                    max_invoices: Some(5),
                    requests_per_minute: None,
                },
                FREE_UNLIMITED,
            ),
            ..Options::default()
        },
    )
    .await;
    let key = srv.tenant("globex", Plan::Free).await;
    let other = srv.tenant("initech", Plan::Free).await;
    srv.create_invoice(&key, 1).await;
    srv.create_invoice(&key, 2).await;
    let batch = |n: usize| {
        json!({"invoices": (0..n)
            .map(|i| json!({"amount_cents": i, "customer_email": "q@example.com"}))
            .collect::<Vec<_>>()})
    };
    // 3 slots left: a batch of 4 is refused whole, and stores nothing.
    let reply = srv.post(&key, "/api/invoices/batch", &batch(4)).await;
    reply.assert_error(403, "quota_exceeded");
    assert_eq!(srv.stored("globex").await, 2);
    assert_eq!(quota_counter(&srv, "globex").await, 2);
    let reply = srv.post(&key, "/api/invoices/batch", &batch(6)).await;
    reply.assert_error(403, "quota_exceeded");
    // A batch of 3 fits exactly.
    let reply = srv.post(&key, "/api/invoices/batch", &batch(3)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(srv.stored("globex").await, 5);
    assert_eq!(quota_counter(&srv, "globex").await, 5);
    srv.post(&key, "/api/invoices/batch", &batch(1))
        .await
        .assert_error(403, "quota_exceeded");
    let usage = srv.get(&key, "/api/usage").await.body;
    assert_eq!(usage["invoices"]["remaining"], 0);
    assert_eq!(usage["invoices"]["created_this_period"], 5);
    // Another tenant's quota is its own.
    let reply = srv.post(&other, "/api/invoices/batch", &batch(5)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(quota_counter(&srv, "initech").await, 5);
    srv.stop().await;
}
