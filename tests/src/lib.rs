//! Shared helpers for the integration tests: throwaway PostgreSQL databases
//! and roles, and in-memory SQLite pools.
//!
//! PostgreSQL is found at `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it cannot be reached the
//! helpers panic with a message saying how to start it: a test never skips.

pub mod models;
pub mod suites;

#[doc = include_str!("../../docs/getting-started.md")]
#[cfg(doctest)]
pub struct GettingStarted;

#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection};

/// Where the PostgreSQL server is: `DATABASE_URL`, or the local default.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A name no other test run uses: `prefix_<pid>_<counter>_<nanos>`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

fn admin_options() -> PgConnectOptions {
    let url = database_url();
    PgConnectOptions::from_str(&url)
        .unwrap_or_else(|e| panic!("DATABASE_URL {url:?} is not a PostgreSQL URL: {e}"))
        .log_statements(log::LevelFilter::Off)
}

/// A PostgreSQL database created for one test and dropped (with its roles)
/// when this value is dropped, even after a panic.
pub struct PgTestDb {
    name: String,
    roles: Vec<String>,
    /// Pool connected as the admin user (superuser, owner of every table).
    pub owner: PgPool,
}

impl PgTestDb {
    /// Creates a fresh database. Panics with instructions when PostgreSQL is
    /// unreachable.
    pub async fn create() -> Self {
        let name = unique_name("tenant_test");
        let mut admin = admin_options().connect().await.unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL at {} ({e}). Start it (scripts/test does), or set DATABASE_URL. \
                 PostgreSQL tests never skip.",
                database_url()
            )
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("CREATE DATABASE");
        let _ = admin.close().await;
        let owner = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(admin_options().database(&name))
            .await
            .expect("connect to the test database");
        PgTestDb {
            name,
            roles: Vec::new(),
            owner,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connect options for this database as `user`.
    pub fn options_for(&self, user: &str) -> PgConnectOptions {
        admin_options().database(&self.name).username(user)
    }

    /// A URL for this database as the admin user.
    pub fn url(&self) -> String {
        let opts = admin_options();
        format!(
            "postgres://{}@{}:{}/{}",
            opts.get_username(),
            opts.get_host(),
            opts.get_port(),
            self.name
        )
    }

    /// A URL for this database as `user` (trust authentication).
    pub fn url_for(&self, user: &str) -> String {
        let opts = admin_options();
        format!(
            "postgres://{user}@{}:{}/{}",
            opts.get_host(),
            opts.get_port(),
            self.name
        )
    }

    /// Creates a login role that is not a superuser, lacks BYPASSRLS and owns
    /// nothing, with DML rights on every table and sequence of `public`. It
    /// is dropped with the database.
    pub async fn create_app_role(&mut self) -> String {
        let role = unique_name("tenant_app");
        for sql in [
            format!("CREATE ROLE \"{role}\" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
            format!("GRANT CONNECT ON DATABASE \"{}\" TO \"{role}\"", self.name),
            format!("GRANT USAGE ON SCHEMA public TO \"{role}\""),
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"{role}\""
            ),
            format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \"{role}\""),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&self.owner)
                .await
                .expect("create the application role");
        }
        self.roles.push(role.clone());
        role
    }

    /// A pool connected as `role` with at most `max` connections.
    pub async fn pool_as(&self, role: &str, max: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(max)
            .connect_with(self.options_for(role))
            .await
            .expect("connect as the application role")
    }

    /// Runs `;`-separated statements as the owner.
    pub async fn execute_script(&self, script: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(script.to_owned()))
            .execute(&self.owner)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"));
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        let roles = std::mem::take(&mut self.roles);
        // Async work cannot run in `drop`; a short-lived thread with its own
        // runtime drops the database even when the test panicked.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                // The pools' connections belong to the test's runtime, which
                // this thread blocks: closing them here could deadlock. The
                // forced DROP terminates them instead.
                let Ok(mut admin) = admin_options().connect().await else {
                    return;
                };
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await;
                for role in roles {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP ROLE IF EXISTS \"{role}\""
                    )))
                    .execute(&mut admin)
                    .await;
                }
                let _ = admin.close().await;
            });
        });
        let _ = handle.join();
    }
}

/// An in-memory SQLite database behind a pool of one connection that is
/// never closed (closing it would lose the database).
pub async fn sqlite_memory() -> SqlitePool {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")
        .expect("in-memory URL")
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        // A ping at acquire that is cancelled makes sqlx close the
        // connection, and with it the in-memory database.
        .test_before_acquire(false)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .expect("open in-memory SQLite")
}
