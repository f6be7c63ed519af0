//! The operator's usage report: `GET /admin/tenants/usage` and
//! `demo-app admin usage`, read through the audited cross-tenant
//! capability, on SQLite, PostgreSQL (row-level security, with and without
//! a cross-tenant role) and MySQL/MariaDB.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use common::{Backend, Options, TestDb, TestServer, run, send};
use demo_app::admin::AdminKey;
use demo_app::models::Plan;
use reqwest::{Method, StatusCode};
use serde_json::json;

const ADMIN_KEY: &str = "adm_test_0123456789abcdef0123456789abcdef";

fn options() -> Options {
    let mut options = Options::default();
    options.config.admin_key = Some(AdminKey::parse(ADMIN_KEY).unwrap());
    options
}

/// acme: 3 invoices (100 + 200 + 300), globex: 1 (5 000), initech: none.
async fn seed(srv: &TestServer) -> String {
    let acme = srv.tenant("acme", Plan::Pro).await;
    let globex = srv.tenant("globex", Plan::Free).await;
    srv.tenant("initech", Plan::Free).await;
    for amount in [100, 200, 300] {
        srv.create_invoice(&acme, amount).await;
    }
    srv.create_invoice(&globex, 5_000).await;
    acme
}

async fn usage_reports_every_tenant(backend: Backend) {
    let db = TestDb::new(backend).await;
    let srv = TestServer::start_with(&db.url, options()).await;
    let acme_key = seed(&srv).await;
    let reply = send(srv.request(Method::GET, "/admin/tenants/usage", Some(ADMIN_KEY))).await;
    if backend == Backend::Postgres {
        // Row-level-security mode without a cross-tenant role: refused,
        // never an empty or partial report.
        reply.assert_error(403, "admin_disabled");
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("ADMIN_DATABASE_URL"),
            "{reply:?}"
        );
        return;
    }
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.body,
        json!({"tenants": [
            {"tenant": "acme", "plan": "pro", "invoices": 3, "invoiced_cents": 600},
            {"tenant": "globex", "plan": "free", "invoices": 1, "invoiced_cents": 5000},
            {"tenant": "initech", "plan": "free", "invoices": 0, "invoiced_cents": 0},
        ]}),
        "{backend:?}"
    );

    // A tenant's key, no key, a wrong key: 401, never a report.
    for key in [
        Some(acme_key.as_str()),
        None,
        Some("adm_test_wrong_0123456789abcdef0123456789"),
    ] {
        let reply = send(srv.request(Method::GET, "/admin/tenants/usage", key)).await;
        reply.assert_error(401, "unauthorized");
    }
    // The admin key selects no tenant: it opens no tenant route.
    let reply = send(srv.request(Method::GET, "/api/invoices", Some(ADMIN_KEY))).await;
    reply.assert_error(401, "unauthorized");
    srv.stop().await;

    // Without an admin key configured the admin API is off.
    let srv = TestServer::start(&db.url).await;
    let reply = send(srv.request(Method::GET, "/admin/tenants/usage", Some(ADMIN_KEY))).await;
    reply.assert_error(403, "admin_disabled");
    srv.stop().await;
}

on_every_backend!(usage_reports_every_tenant);

/// PostgreSQL with row-level security and a cross-tenant role of its own:
/// the CLI reads every tenant, and the audit line is in its log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_usage_command_reads_every_tenant_with_an_audit_line() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let mut db = TestDb::new(backend).await;
        let srv = TestServer::start_with(&db.url, options()).await;
        seed(&srv).await;
        srv.stop().await;
        let mut args = vec!["admin", "usage"];
        let admin_url;
        if let Some(pg) = db.pg.as_mut() {
            let role = pg.create_app_role().await;
            pg.execute_script(&tenant_core::rls::cross_tenant_policy_sql::<
                demo_app::models::Invoice,
            >(&role))
                .await;
            admin_url = pg.url_for(&role);
            args.extend(["--admin-database-url", admin_url.as_str()]);
        }
        let out = run(&db.url, &args).await;
        assert!(out.status.success(), "{backend:?}: {out:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let rows: Vec<Vec<&str>> = stdout
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            rows,
            [
                vec!["TENANT", "PLAN", "INVOICES", "INVOICED_CENTS"],
                vec!["acme", "pro", "3", "600"],
                vec!["globex", "free", "1", "5000"],
                vec!["initech", "free", "0", "0"],
            ],
            "{backend:?}: {stdout}"
        );
        let stderr = String::from_utf8(out.stderr).unwrap();
        let audit: Vec<&str> = stderr
            .lines()
            .filter(|l| {
                l.contains("cross-tenant access") && l.contains("admin: usage of every tenant")
            })
            .collect();
        assert_eq!(audit.len(), 1, "{backend:?}: {stderr}");
        assert!(audit[0].contains("kind=\"aggregate\""), "{stderr}");
        assert!(audit[0].contains("src/admin.rs"), "{stderr}");
    }
}
