//! Test harness: a real server on `127.0.0.1:0` over SQLite (a temp file),
//! PostgreSQL or MySQL/MariaDB (a throwaway database each), driven over HTTP
//! with reqwest.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use demo_app::config::{AppConfig, PlanLimits};
use demo_app::metering::{BillingSink, NoopSink};
use demo_app::models::Plan;
use demo_app::{AppState, tenants};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use tenant_core::TenantDbOptions;
use tenant_core::{TenantDb, TenantId, TenantScope};
use tenant_tests::{MyTestDb, PgTestDb};
use tokio::process::Command;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Which database a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// MySQL or MariaDB (10.5+), at `MYSQL_URL`.
    MySql,
}

/// Runs each listed scenario `async fn name(Backend)` as three tests,
/// `sqlite::name`, `postgres::name` and `mysql::name`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::Backend::Postgres).await
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::Backend::MySql).await
                }
            )*
        }
    };
}

/// A database that lives as long as this value: a SQLite file in a temp dir,
/// or a PostgreSQL or MySQL database dropped at the end, even after a panic
/// (these tests never skip: `PgTestDb::create` and `MyTestDb::create` fail
/// loudly when the server is unreachable).
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pub pg: Option<PgTestDb>,
    pub my: Option<MyTestDb>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("demo.db").display());
                TestDb {
                    url,
                    backend,
                    pg: None,
                    my: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let pg = PgTestDb::create().await;
                TestDb {
                    url: pg.url(),
                    backend,
                    pg: Some(pg),
                    my: None,
                    _dir: None,
                }
            }
            Backend::MySql => {
                let my = MyTestDb::create().await;
                TestDb {
                    url: my.url(),
                    backend,
                    pg: None,
                    my: Some(my),
                    _dir: None,
                }
            }
        }
    }
}

/// Limits with nothing restricted except what the test sets.
pub fn config_with(free: PlanLimits, pro: PlanLimits) -> AppConfig {
    let mut config = AppConfig::default();
    config.limits.free = free;
    config.limits.pro = pro;
    config
}

/// A running server.
pub struct TestServer {
    pub base: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub db: TenantDb,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

pub struct Options {
    pub config: AppConfig,
    pub billing: Arc<dyn BillingSink>,
    pub db: TenantDbOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: AppConfig::default(),
            billing: Arc::new(NoopSink),
            db: TenantDbOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(3)),
        }
    }
}

impl TestServer {
    /// Starts a server with default settings.
    pub async fn start(url: &str) -> Self {
        Self::start_with(url, Options::default()).await
    }

    /// Starts a server on `url`, migrating it first.
    pub async fn start_with(url: &str, options: Options) -> Self {
        let db = demo_app::config::db_options_for(url, options.db)
            .connect(url)
            .await
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        // Like `serve`: create a missing schema; an existing one is left to
        // `demo-app migrate`, run by its owner.
        if demo_app::db::needs_migration(&db).await.unwrap() {
            demo_app::db::migrate(&db).await.unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = AppState::new(db.clone(), options.config, options.billing);
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(demo_app::serve(listener, state, async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        TestServer {
            base: format!("http://127.0.0.1:{port}"),
            port,
            client,
            db,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// Stops the server (graceful) and closes its pool.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(Duration::from_secs(10), handle)
                .await
                .expect("server stops within 10 s")
                .unwrap()
                .unwrap();
        }
        self.db.close().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a tenant directly in the database; returns its API key.
    pub async fn tenant(&self, id: &str, plan: Plan) -> String {
        tenants::create_tenant(&self.db, TenantId::parse(id).unwrap(), plan)
            .await
            .unwrap()
            .api_key
            .expose()
            .to_owned()
    }

    pub fn request(&self, method: Method, path: &str, key: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    pub async fn get(&self, key: &str, path: &str) -> Reply {
        send(self.request(Method::GET, path, Some(key))).await
    }

    pub async fn post(&self, key: &str, path: &str, body: &Value) -> Reply {
        send(self.request(Method::POST, path, Some(key)).json(body)).await
    }

    pub async fn put(&self, key: &str, path: &str, body: &Value) -> Reply {
        send(self.request(Method::PUT, path, Some(key)).json(body)).await
    }

    pub async fn patch(&self, key: &str, path: &str, body: &Value) -> Reply {
        send(self.request(Method::PATCH, path, Some(key)).json(body)).await
    }

    pub async fn delete(&self, key: &str, path: &str) -> Reply {
        send(self.request(Method::DELETE, path, Some(key))).await
    }

    /// Creates an invoice over HTTP and returns its id.
    pub async fn create_invoice(&self, key: &str, amount_cents: i64) -> i64 {
        let reply = self
            .post(
                key,
                "/api/invoices",
                &serde_json::json!({"amount_cents": amount_cents, "customer_email": "a@example.com"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body["id"].as_i64().unwrap()
    }

    /// Invoices stored for `tenant`, counted in the database.
    pub async fn stored(&self, tenant: &str) -> i64 {
        let scope = TenantScope::new(TenantId::parse(tenant).unwrap());
        demo_app::models::Invoice::query(&scope)
            .count(&self.db)
            .await
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A response: status, headers and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The `error.code` of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts an error status and code, and that the body has the error
    /// shape.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(self.code(), code, "{self:?}");
        assert!(self.body["error"]["message"].is_string(), "{self:?}");
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{self:?}"
        );
    }
}

pub async fn send(builder: RequestBuilder) -> Reply {
    let response = builder.send().await.expect("request reaches the server");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// Path of the built binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_demo-app");

/// The built `demo-app` binary, with a clean environment.
pub fn command(dir: Option<&Path>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("DATABASE_URL")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd
}

/// Runs `demo-app --database-url URL ARGS..` to completion (60 s at most).
pub async fn run(url: &str, args: &[&str]) -> Output {
    tokio::time::timeout(
        Duration::from_secs(60),
        command(None)
            .arg("--database-url")
            .arg(url)
            .args(args)
            .output(),
    )
    .await
    .expect("the command finishes")
    .unwrap()
}
