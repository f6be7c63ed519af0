//! MySQL/MariaDB mode as it is meant to be deployed: `migrate` runs as the
//! tables' owner (root here) and grants a separate user SELECT, INSERT,
//! UPDATE and DELETE only; the app serves as that user, which cannot alter
//! or drop what tenant isolation rests on, and `doctor` passes for it (and
//! fails for root). The MySQL twin of `postgres_roles.rs`.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use std::process::Output;

use common::{TestServer, run};
use demo_app::models::Plan;
use reqwest::StatusCode;
use serde_json::json;
use tenant_tests::MyTestDb;

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn migrate_as_root_serve_as_app_user_and_the_doctor_passes() {
    let mut my = MyTestDb::create().await;
    let user = my.create_app_user().await;
    // Start from a user with no rights at all: `--app-role` must grant them.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{user}'@'%'"
    )))
    .execute(&my.owner)
    .await
    .unwrap();
    let root_url = my.url();
    let app_url = my.url_for(&user);

    let migrated = run(&root_url, &["migrate", "--app-role", &user]).await;
    assert!(migrated.status.success(), "{}", text(&migrated));
    let grants: Vec<String> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW GRANTS FOR '{user}'@'%'")))
            .fetch_all(&my.owner)
            .await
            .unwrap();
    assert!(
        grants.iter().any(|g| g.contains(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON `{}`.*",
            my.name()
        ))),
        "{grants:?}"
    );

    // The doctor passes for the serving user ...
    let doctor = run(&app_url, &["doctor"]).await;
    assert!(doctor.status.success(), "{}", text(&doctor));
    assert!(text(&doctor).contains("checks passed"), "{}", text(&doctor));
    assert!(
        text(&doctor).contains("models match their tables"),
        "{}",
        text(&doctor)
    );
    // ... and fails, non-zero, for root.
    let as_root = run(&root_url, &["doctor"]).await;
    assert!(!as_root.status.success(), "{}", text(&as_root));
    assert!(
        text(&as_root).contains("tenant isolation check(s) failed"),
        "{}",
        text(&as_root)
    );

    // Serve as the application user: the schema exists, so nothing is
    // migrated (the user could not create a table).
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

    // The serving user cannot undo the schema's guarantees.
    let app_pool = my.pool_as(&user, 1).await;
    for ddl in [
        "ALTER TABLE invoices MODIFY tenant_id VARCHAR(63) NULL",
        "DROP TABLE billing_outbox",
        "TRUNCATE TABLE invoices",
    ] {
        let refused = sqlx::query(ddl).execute(&app_pool).await;
        assert!(refused.is_err(), "{ddl} ran as the application user");
    }
    app_pool.close().await;
    server.stop().await;
}
