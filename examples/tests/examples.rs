//! The example programs, run as a user would run them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Runs `invoice-cli` against `db` and returns its standard output; a
/// failure returns the standard error instead.
fn cli(db: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_invoice-cli"))
        .args(["--db", db])
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run invoice-cli");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn the_cli_keeps_each_tenant_to_its_own_invoices() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("invoices.db").display());
    let added = cli(&db, &["--tenant", "acme", "add", "1200"]).expect("add");
    assert!(added.starts_with("added invoice 1 "), "{added}");
    cli(&db, &["--tenant", "acme", "add", "300"]).expect("add");
    cli(&db, &["--tenant", "globex", "add", "99"]).expect("add");

    assert_eq!(
        cli(&db, &["--tenant", "acme", "total"]).expect("total"),
        "2 invoices, 1500 cents\n"
    );
    assert_eq!(
        cli(&db, &["--tenant", "globex", "total"]).expect("total"),
        "1 invoices, 99 cents\n"
    );
    let listed = cli(&db, &["--tenant", "globex", "list"]).expect("list");
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.contains(" globex ") && listed.contains("99"),
        "{listed}"
    );

    // acme's invoice 1 is not globex's to delete, and stays.
    let refused =
        cli(&db, &["--tenant", "globex", "delete", "1"]).expect_err("another tenant's id");
    assert!(
        refused.contains("tenant globex has no invoice 1"),
        "{refused}"
    );
    assert_eq!(
        cli(&db, &["--tenant", "acme", "total"]).expect("total"),
        "2 invoices, 1500 cents\n"
    );

    // A malformed tenant id is refused before anything runs.
    let bad = cli(&db, &["--tenant", "", "list"]).expect_err("empty tenant");
    assert!(bad.contains("--tenant"), "{bad}");
}

/// `GET /invoices` as the holder of `key`.
async fn list(http: &reqwest::Client, base: &str, key: &str) -> serde_json::Value {
    let response = http.get(base).bearer_auth(key).send().await.expect("get");
    response.json().await.expect("json")
}

/// Kills the service when the test ends, passed or not.
struct Service(std::process::Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_service_resolves_the_tenant_from_the_api_key() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_axum-service"))
        .env("LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", "sqlite::memory:")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start axum-service");
    let stdout = child.stdout.take().expect("stdout");
    let _service = Service(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read address");
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .expect(&line)
        .to_owned();
    let base = format!("http://{address}/invoices");
    let http = reqwest::Client::new();

    let created: serde_json::Value = http
        .post(&base)
        .bearer_auth("acme-key")
        .json(&serde_json::json!({ "amount_cents": 1200 }))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(created["amount_cents"], 1200);
    assert_eq!(
        created["tenant_id"], "acme",
        "the tenant comes from the key"
    );
    let id = created["id"].as_i64().expect("id");

    let mine = list(&http, &base, "acme-key").await;
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
    let theirs = list(&http, &base, "globex-key").await;
    assert_eq!(theirs, serde_json::json!([]));

    let other = http
        .get(format!("{base}/{id}"))
        .bearer_auth("globex-key")
        .send()
        .await
        .expect("get");
    assert_eq!(other.status(), 404);
    let own = http
        .get(format!("{base}/{id}"))
        .bearer_auth("acme-key")
        .send()
        .await
        .expect("get");
    assert_eq!(own.status(), 200);
    let anonymous = http.get(&base).send().await.expect("get");
    assert_eq!(anonymous.status(), 401);
    let wrong = http
        .get(&base)
        .bearer_auth("nobody")
        .send()
        .await
        .expect("get");
    assert_eq!(wrong.status(), 401);
}
