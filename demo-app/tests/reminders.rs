//! The monthly invoice reminders (`demo-app jobs ...`), run as the built
//! binary on SQLite and Redis (`REDIS_URL`, default redis://127.0.0.1:6379):
//! one job per tenant, each counting only its own tenant's open invoices.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use common::run;
use demo_app::models::{Invoice, InvoiceStatus, NewInvoice};
use tenant_core::{TenantDbOptions, TenantId, TenantScope};
use tenant_jobs::JobQueue;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reminder_per_tenant_counts_only_that_tenants_open_invoices() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    for tenant in ["acme", "globex", "initech"] {
        let out = run(&url, &["tenant", "create", tenant]).await;
        assert!(out.status.success(), "{out:?}");
    }
    {
        let db = demo_app::config::db_options_for(&url, TenantDbOptions::new())
            .connect(&url)
            .await
            .unwrap();
        // acme: 2 open, 1 paid; globex: 1 open, 1 draft; initech: none.
        for (tenant, status) in [
            ("acme", InvoiceStatus::Open),
            ("acme", InvoiceStatus::Open),
            ("acme", InvoiceStatus::Paid),
            ("globex", InvoiceStatus::Open),
            ("globex", InvoiceStatus::Draft),
        ] {
            // The test seeds each tenant's rows with that tenant's scope.
            let scope = TenantScope::new(TenantId::parse(tenant).unwrap());
            Invoice::insert(
                &scope,
                NewInvoice {
                    amount_cents: 1200,
                    customer_email: format!("billing@{tenant}.example"),
                    status,
                    customer_id: None,
                    period: "2026-11".into(),
                },
            )
            .execute(&db)
            .await
            .unwrap();
        }
        db.close().await;
    }

    let queue = format!("demo-reminders-{}", uuid::Uuid::new_v4());
    let redis = redis_url();
    let jobs_args = |cmd: &str| -> Vec<String> {
        ["jobs", cmd, "--redis-url", &redis, "--queue", &queue]
            .map(str::to_owned)
            .to_vec()
    };
    let mut enqueue = jobs_args("enqueue-reminders");
    enqueue.extend(["--month".into(), "2026-11".into()]);
    let out = run(
        &url,
        &enqueue.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("queued 3 reminder job(s) for 2026-11"),
        "{stdout}"
    );

    let mut work = jobs_args("work");
    work.push("--drain".into());
    let out = run(&url, &work.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let reminders: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("reminder"))
        .collect();
    assert_eq!(
        reminders,
        [
            "reminder 2026-11: tenant acme has 2 open invoice(s)",
            "reminder 2026-11: tenant globex has 1 open invoice(s)",
            "reminder 2026-11: tenant initech has 0 open invoice(s)",
        ],
        "{stdout}"
    );
    assert!(
        stdout.contains("done: 3 reminder(s), 0 retried, 0 dead-lettered"),
        "{stdout}"
    );
    // The log lines carry the job's tenant in the worker's span.
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("tenant_job{tenant=globex")
                && l.contains("monthly invoice reminder")
                && l.contains("open_invoices=1")),
        "{stderr}"
    );

    let queue = JobQueue::<demo_app::reminders::InvoiceReminder>::connect(&redis, &queue)
        .await
        .unwrap();
    assert_eq!(queue.len().await.unwrap(), 0);
    assert!(queue.dead_letters().await.unwrap().is_empty());
    queue.purge().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_commands_need_no_redis_and_a_bad_month_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    // No Redis at this URL: only the jobs commands would notice.
    let out = common::command(None)
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .args(["--database-url", &url, "tenant", "list"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let out = run(
        &url,
        &[
            "jobs",
            "enqueue-reminders",
            "--redis-url",
            "redis://127.0.0.1:1",
            "--month",
            "2026-13",
        ],
    )
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("invalid month \"2026-13\": expected YYYY-MM"),
        "{stderr}"
    );

    let out = run(
        &url,
        &[
            "jobs",
            "work",
            "--redis-url",
            "redis://127.0.0.1:1",
            "--drain",
        ],
    )
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("cannot open the job queue"), "{stderr}");
}
