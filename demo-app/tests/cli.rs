//! The command line, run as the built binary.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::{Backend, TestDb, TestServer, command, run};
use demo_app::auth::ApiKey;
use demo_app::models::TenantRecord;
use reqwest::StatusCode;
use tenant_core::TenantId;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdout};

on_every_backend!(
    tenant_create_prints_a_working_key_stored_as_a_hash,
    rotate_key_invalidates_the_old_key,
    admin_errors_and_listing,
    a_schema_mismatch_stops_the_service_and_the_doctor_reports_it,
    snapshot_records_the_migrated_schema,
);

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// The last line of stdout, which must be a key and nothing else.
fn key_of(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    let out = stdout(output);
    let last = out.lines().last().unwrap();
    assert!(ApiKey::parse(last).is_some(), "last line is a key: {out:?}");
    assert!(!stderr(output).contains(last), "the key is not logged");
    last.to_owned()
}

async fn tenant_create_prints_a_working_key_stored_as_a_hash(backend: Backend) {
    let db = TestDb::new(backend).await;
    let output = run(&db.url, &["tenant", "create", "initech", "--plan", "pro"]).await;
    let key = key_of(&output);
    assert!(stdout(&output).contains("created tenant initech (plan pro)"));

    let srv = TestServer::start(&db.url).await;
    let usage = srv.get(&key, "/api/usage").await;
    assert_eq!(usage.status, StatusCode::OK, "{usage:?}");
    assert_eq!(usage.body["tenant"], "initech");
    assert_eq!(usage.body["plan"], "pro");

    // Stored: a SHA-256 of the key, never the key.
    let record = TenantRecord::find(TenantId::parse("initech").unwrap())
        .fetch_one(&srv.db)
        .await
        .unwrap();
    assert_ne!(record.api_key_hash, key);
    assert_eq!(record.api_key_hash, ApiKey::parse(&key).unwrap().hash());
    assert!(!record.api_key_hash.contains(&key[4..]));
    srv.stop().await;
    if backend == Backend::Sqlite {
        // Not in any file of the database either (main file and WAL).
        let path = db.url.trim_start_matches("sqlite://");
        let dir = Path::new(path).parent().unwrap();
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(
                !bytes.windows(64).any(|w| w == &key.as_bytes()[4..]),
                "the key is in the database file"
            );
        }
    }
}

async fn rotate_key_invalidates_the_old_key(backend: Backend) {
    let db = TestDb::new(backend).await;
    let old = key_of(&run(&db.url, &["tenant", "create", "initech"]).await);
    let srv = TestServer::start(&db.url).await;
    assert_eq!(srv.get(&old, "/api/usage").await.body["plan"], "free");

    let output = run(&db.url, &["tenant", "rotate-key", "initech"]).await;
    let new = key_of(&output);
    assert_ne!(new, old);
    srv.get(&old, "/api/usage")
        .await
        .assert_error(401, "unauthorized");
    let usage = srv.get(&new, "/api/usage").await;
    assert_eq!(usage.status, StatusCode::OK);
    assert_eq!(usage.body["tenant"], "initech");

    let output = run(&db.url, &["tenant", "rotate-key", "nobody"]).await;
    assert!(!output.status.success());
    assert!(stderr(&output).contains("no tenant `nobody`"), "{output:?}");
    srv.stop().await;
}

async fn admin_errors_and_listing(backend: Backend) {
    let db = TestDb::new(backend).await;
    for _ in 0..2 {
        let output = run(&db.url, &["migrate"]).await;
        assert!(output.status.success(), "{output:?}");
    }
    key_of(&run(&db.url, &["tenant", "create", "initech", "--plan", "pro"]).await);
    key_of(&run(&db.url, &["tenant", "create", "hooli"]).await);

    let output = run(&db.url, &["tenant", "create", "initech"]).await;
    assert!(!output.status.success());
    assert!(stderr(&output).contains("already exists"), "{output:?}");
    for bad in ["Initech", "ini tech", "-x", "", "a'b"] {
        let output = run(&db.url, &["tenant", "create", "--", bad]).await;
        assert!(!output.status.success(), "{bad:?}");
        assert!(stderr(&output).contains("invalid tenant id"), "{output:?}");
    }
    let output = run(&db.url, &["tenant", "create", "x", "--plan", "gold"]).await;
    assert!(!output.status.success());

    let output = run(&db.url, &["tenant", "list"]).await;
    assert!(output.status.success());
    let out = stdout(&output);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(rows[0][..2], ["hooli", "free"]);
    assert_eq!(rows[1][..2], ["initech", "pro"]);
}

async fn next_line_containing<R>(lines: &mut Lines<BufReader<R>>, needle: &str) -> String
where
    R: tokio::io::AsyncRead + Unpin,
{
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let line = lines.next_line().await.unwrap().expect("output ends early");
            if line.contains(needle) {
                return line;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no line containing {needle:?}"))
}

struct Running {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Lines<BufReader<ChildStderr>>,
}

fn spawn_default(dir: &Path) -> Running {
    // No arguments at all; only the port comes from the environment, so the
    // test does not need port 3000.
    let mut child = command(Some(dir))
        .env("DEMO_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    Running {
        child,
        stdout,
        stderr,
    }
}

/// The port from the `listening addr=127.0.0.1:PORT` log line.
async fn listening_port(running: &mut Running) -> u16 {
    let line = next_line_containing(&mut running.stderr, "listening").await;
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

/// `demo-app` with no subcommand serves on `sqlite://demo.db` in the working
/// directory, seeding the demo tenants on the first start only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_arguments_serves_sqlite_and_seeds_demo_tenants_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = spawn_default(dir.path());
    let acme = next_line_containing(&mut first.stdout, "export ACME_KEY=").await;
    let globex = next_line_containing(&mut first.stdout, "export GLOBEX_KEY=").await;
    let key = |line: &str| {
        line.split('=')
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let (acme, globex) = (key(&acme), key(&globex));
    next_line_containing(&mut first.stdout, "curl -s -X POST").await;
    let port = listening_port(&mut first).await;
    assert!(dir.path().join("demo.db").exists());

    let client = reqwest::Client::new();
    for (key, tenant, plan) in [(&acme, "acme", "pro"), (&globex, "globex", "free")] {
        let usage: serde_json::Value = client
            .get(format!("http://127.0.0.1:{port}/api/usage"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(usage["tenant"], tenant);
        assert_eq!(usage["plan"], plan);
    }
    first.child.kill().await.unwrap();
    // The log never contained a key.
    while let Ok(Some(line)) = first.stderr.next_line().await {
        assert!(!line.contains(&acme) && !line.contains(&globex), "{line}");
    }

    // Second start on the same database: no new tenants, old keys still work.
    let mut second = spawn_default(dir.path());
    let port = listening_port(&mut second).await;
    let status = client
        .get(format!("http://127.0.0.1:{port}/api/invoices"))
        .bearer_auth(&acme)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    second.child.kill().await.unwrap();
    let mut rest = Vec::new();
    while let Ok(Some(line)) = second.stdout.next_line().await {
        rest.push(line);
    }
    assert!(
        rest.iter().all(|l| !l.contains("export")),
        "seeded twice: {rest:?}"
    );
}

/// A schema that does not match the models stops every command but the
/// doctor, which lists the mismatch with the rest of its checks (on SQLite
/// too).
async fn a_schema_mismatch_stops_the_service_and_the_doctor_reports_it(backend: Backend) {
    let db = TestDb::new(backend).await;
    let migrated = run(&db.url, &["migrate"]).await;
    assert!(migrated.status.success(), "{migrated:?}");
    let doctor = run(&db.url, &["doctor"]).await;
    // The tests connect as a superuser (PostgreSQL) or root (MySQL), which
    // the doctor rightly fails; only SQLite has nothing else to fail.
    assert_eq!(
        doctor.status.success(),
        backend == Backend::Sqlite,
        "{doctor:?}"
    );
    assert!(
        stdout(&doctor).contains("models match their tables"),
        "{}",
        stdout(&doctor)
    );

    let rename = "ALTER TABLE invoices RENAME COLUMN customer_email TO email";
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(rename).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let owner = &db.pg.as_ref().unwrap().owner;
            sqlx::query(rename).execute(owner).await.unwrap();
        }
        Backend::MySql => {
            let owner = &db.my.as_ref().unwrap().owner;
            sqlx::query(rename).execute(owner).await.unwrap();
        }
    }

    let listed = run(&db.url, &["tenant", "list"]).await;
    assert!(!listed.status.success(), "started on a mismatched schema");
    let err = stderr(&listed);
    assert!(err.contains("refusing to start"), "{err}");
    assert!(err.contains("customer_email"), "{err}");
    let doctor = run(&db.url, &["doctor"]).await;
    assert!(
        !doctor.status.success(),
        "the doctor passed a mismatched schema"
    );
    assert!(
        stdout(&doctor).contains("customer_email"),
        "{}",
        stdout(&doctor)
    );
    assert!(
        stderr(&doctor).contains("1 schema mismatch(es)"),
        "{}",
        stderr(&doctor)
    );
}

/// `snapshot` records the migrated schema for the compile-time check: the
/// demo's tables with their tenant columns, and the same bytes when run
/// again.
async fn snapshot_records_the_migrated_schema(backend: Backend) {
    use tenant_core::snapshot::Snapshot;

    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tenant-schema.json");
    let out_arg = out.to_str().unwrap();
    let output = run(&db.url, &["snapshot", "--out", out_arg]).await;
    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).contains("recorded"), "{output:?}");
    let first = std::fs::read_to_string(&out).unwrap();
    let snapshot = Snapshot::from_json(&first).unwrap();
    let invoices = snapshot.table("invoices").expect("invoices recorded");
    assert_eq!(invoices.tenant_column.as_deref(), Some("tenant_id"));
    assert!(invoices.column("tenant_id").unwrap().not_null);
    assert!(snapshot.tenant_columns.iter().any(|c| c == "tenant_id"));

    let again = run(&db.url, &["snapshot", "--out", out_arg]).await;
    assert!(again.status.success(), "{again:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), first);
}
