//! PostgreSQL mode as it is meant to be deployed: `migrate` runs as the
//! tables' owner and grants a separate role that owns nothing and lacks
//! BYPASSRLS; the app serves as that role, row-level security is real, and
//! `doctor` passes for it (and fails for the owner).

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use std::process::Output;

use common::{TestServer, run};
use demo_app::models::Plan;
use reqwest::StatusCode;
use serde_json::json;
use tenant_tests::PgTestDb;

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn migrate_as_owner_serve_as_app_role_and_the_doctor_passes() {
    let mut pg = PgTestDb::create().await;
    let role = pg.create_app_role().await;
    let owner_url = pg.url();
    let app_url = pg.url_for(&role);

    let migrated = run(&owner_url, &["migrate", "--app-role", &role]).await;
    assert!(migrated.status.success(), "{}", text(&migrated));

    // The doctor passes for the serving role ...
    let doctor = run(&app_url, &["doctor"]).await;
    assert!(doctor.status.success(), "{}", text(&doctor));
    assert!(text(&doctor).contains("checks passed"), "{}", text(&doctor));
    // ... and fails, non-zero, for the owner (a superuser here).
    let as_owner = run(&owner_url, &["doctor"]).await;
    assert!(!as_owner.status.success(), "{}", text(&as_owner));
    assert!(text(&as_owner).contains("superuser"), "{}", text(&as_owner));

    // Serve as the application role.
    let server = TestServer::start(&app_url).await;
    let acme = server.tenant("acme", Plan::Pro).await;
    let globex = server.tenant("globex", Plan::Free).await;
    let created = server
        .post(
            &acme,
            "/api/invoices",
            &json!({"amount_cents": 1200, "customer_email": "a@example.com"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        server
            .get(&acme, &format!("/api/invoices/{id}"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        server
            .get(&globex, &format!("/api/invoices/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let usage = server.get(&acme, "/api/usage").await;
    assert_eq!(usage.status, StatusCode::OK, "{:?}", usage.body);

    // Relations under the policies: customers (upsert), an invoice with a
    // customer and line items, a batch, the join, the report by month, and
    // a cascading delete, all as the serving role.
    let put = |key: &str, name: &str| {
        let body = json!({"email": "ann@example.com", "name": name});
        let key = key.to_owned();
        let server = &server;
        async move { server.put(&key, "/api/customers", &body).await }
    };
    let ann = put(&acme, "Ann").await;
    assert_eq!(ann.status, StatusCode::OK, "{:?}", ann.body);
    let ann = ann.body["id"].as_i64().unwrap();
    let theirs = put(&globex, "Ann at Globex").await.body["id"]
        .as_i64()
        .unwrap();
    assert_eq!(put(&acme, "Ann B.").await.body["id"], ann);
    let with_lines = server
        .post(
            &acme,
            "/api/invoices",
            &json!({"amount_cents": 300, "customer_email": "ann@example.com", "customer_id": ann,
                    "line_items": [{"description": "A", "quantity": 3, "unit_price_cents": 100}]}),
        )
        .await;
    assert_eq!(
        with_lines.status,
        StatusCode::CREATED,
        "{:?}",
        with_lines.body
    );
    let with_lines = with_lines.body["id"].as_i64().unwrap();
    let read = server
        .get(&acme, &format!("/api/invoices/{with_lines}"))
        .await;
    assert_eq!(read.body["line_items"][0]["quantity"], 3, "{:?}", read.body);
    let batch = server
        .post(
            &acme,
            "/api/invoices/batch",
            &json!({"invoices": [
                {"amount_cents": 1, "customer_email": "a@example.com", "customer_id": ann},
                {"amount_cents": 2, "customer_email": "a@example.com"},
            ]}),
        )
        .await;
    assert_eq!(batch.status, StatusCode::CREATED, "{:?}", batch.body);
    let refused = server
        .post(
            &acme,
            "/api/invoices/batch",
            &json!({"invoices": [{"amount_cents": 1, "customer_email": "a@example.com", "customer_id": theirs}]}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        refused.body
    );
    let joined = server
        .get(&acme, &format!("/api/customers/{ann}/invoices"))
        .await;
    assert_eq!(
        joined.body["items"].as_array().unwrap().len(),
        2,
        "{:?}",
        joined.body
    );
    assert_eq!(
        server
            .get(&globex, &format!("/api/customers/{ann}/invoices"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let report = server
        .get(&acme, "/api/reports/revenue?group=month,status")
        .await;
    assert_eq!(report.body["groups"][0]["invoices"], 4, "{:?}", report.body);
    let deleted = server
        .delete(&acme, &format!("/api/invoices/{with_lines}"))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:?}", deleted.body);

    // The policies are really in force for the serving role: with no tenant
    // set, raw SQL as that role sees no row; the owner sees them all.
    let app_pool = pg.pool_as(&role, 1).await;
    for table in [
        "customers",
        "invoices",
        "invoice_line_items",
        "invoice_quota",
        "usage_periods",
        "billing_outbox",
    ] {
        let seen: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&app_pool)
                .await
                .unwrap();
        assert_eq!(seen, 0, "{table} is readable without a tenant");
    }
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices")
        .fetch_one(&pg.owner)
        .await
        .unwrap();
    assert_eq!(all, 3);
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&pg.owner)
        .await
        .unwrap();
    assert_eq!(customers, 2);
    app_pool.close().await;
    server.stop().await;
}
