//! Shared helpers for the integration tests: throwaway PostgreSQL and
//! MySQL/MariaDB databases and roles, and in-memory SQLite pools.
//!
//! PostgreSQL is found at `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), MySQL/MariaDB at `MYSQL_URL`
//! (default `mysql://root@127.0.0.1:3306/test`). When one cannot be reached
//! the helpers panic with a message saying how to start it: a test never
//! skips.

pub mod cancel;
pub mod models;
pub mod suites;

#[doc = include_str!("../../docs/getting-started.md")]
#[cfg(doctest)]
pub struct GettingStarted;

#[doc = include_str!("../../docs/relations.md")]
#[cfg(doctest)]
pub struct RelationsDoc;

#[doc = include_str!("../../docs/aggregates.md")]
#[cfg(doctest)]
pub struct AggregatesDoc;

#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[doc = include_str!("../../tenant-core/README.md")]
#[cfg(doctest)]
pub struct CoreReadme;

#[doc = include_str!("../../docs/bulk-writes.md")]
#[cfg(doctest)]
pub struct BulkWrites;

#[doc = include_str!("../../docs/cross-tenant.md")]
#[cfg(doctest)]
pub struct CrossTenantDoc;
#[doc = include_str!("../../docs/jobs.md")]
#[cfg(doctest)]
pub struct JobsDoc;

#[doc = include_str!("../../docs/schema-drift.md")]
#[cfg(doctest)]
pub struct SchemaDrift;

#[doc = include_str!("../../docs/raw-sql.md")]
#[cfg(doctest)]
pub struct RawSql;

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
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
        cleanup_on_own_runtime(async move {
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
    }
}

/// Where the MySQL/MariaDB server is: `MYSQL_URL`, or the local default.
pub fn mysql_url() -> String {
    std::env::var("MYSQL_URL")
        .ok()
        .filter(|u| u.starts_with("mysql://") || u.starts_with("mariadb://"))
        .map(|u| match u.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => u,
        })
        .unwrap_or_else(|| "mysql://root@127.0.0.1:3306/test".to_owned())
}

/// The admin connection of `MYSQL_URL`, on no database (the URL's own, such
/// as `test`, need not exist).
fn mysql_admin_options() -> MySqlConnectOptions {
    let url = mysql_url();
    MySqlConnectOptions::from_str(&mysql_url_with_database(""))
        .unwrap_or_else(|e| panic!("MYSQL_URL {url:?} is not a MySQL URL: {e}"))
        .log_statements(log::LevelFilter::Off)
}

/// `MYSQL_URL` with its database replaced by `database` (credentials, host
/// and parameters kept).
fn mysql_url_with_database(database: &str) -> String {
    let url = mysql_url();
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url.as_str(), String::new()),
    };
    let authority = base.strip_prefix("mysql://").unwrap_or(base);
    let authority = authority.split('/').next().unwrap_or(authority);
    format!("mysql://{authority}/{database}{query}")
}

/// The password of every user made by [`MyTestDb::create_app_user`].
pub const MYSQL_APP_PASSWORD: &str = "tenant-app";

/// A MySQL/MariaDB database created for one test and dropped (with its
/// users) when this value is dropped, even after a panic.
pub struct MyTestDb {
    name: String,
    users: Vec<String>,
    /// Pool connected as the admin user of `MYSQL_URL` (root), on this
    /// database.
    pub owner: MySqlPool,
}

impl MyTestDb {
    /// Creates a fresh database. Panics with instructions when MySQL/MariaDB
    /// is unreachable.
    pub async fn create() -> Self {
        let name = unique_name("tenant_test");
        let mut admin = mysql_admin_options().connect().await.unwrap_or_else(|e| {
            panic!(
                "cannot reach MySQL/MariaDB at {} ({e}). Start it (scripts/test does; \
                 e.g. `service mariadb start`), or set MYSQL_URL. MySQL tests never skip.",
                mysql_url()
            )
        });
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
        )))
        .execute(&mut admin)
        .await
        .expect("CREATE DATABASE");
        let _ = admin.close().await;
        let owner = MySqlPoolOptions::new()
            .max_connections(4)
            .connect_with(mysql_admin_options().database(&name))
            .await
            .expect("connect to the test database");
        MyTestDb {
            name,
            users: Vec::new(),
            owner,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connect options for this database as `user` (one made by
    /// [`MyTestDb::create_app_user`]).
    pub fn options_for(&self, user: &str) -> MySqlConnectOptions {
        mysql_admin_options()
            .database(&self.name)
            .username(user)
            .password(MYSQL_APP_PASSWORD)
    }

    /// A URL for this database as the admin user.
    pub fn url(&self) -> String {
        mysql_url_with_database(&self.name)
    }

    /// A URL for this database as `user` (one made by
    /// [`MyTestDb::create_app_user`]).
    pub fn url_for(&self, user: &str) -> String {
        let opts = mysql_admin_options();
        format!(
            "mysql://{user}:{MYSQL_APP_PASSWORD}@{}:{}/{}",
            opts.get_host(),
            opts.get_port(),
            self.name
        )
    }

    /// Creates a login user (any host, password [`MYSQL_APP_PASSWORD`]) with only SELECT,
    /// INSERT, UPDATE and DELETE on this database: no SUPER, no ALL, no DDL.
    /// It is dropped with the database.
    pub async fn create_app_user(&mut self) -> String {
        let user = unique_name("tenant_app");
        for sql in [
            format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{MYSQL_APP_PASSWORD}'"),
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON `{}`.* TO '{user}'@'%'",
                self.name
            ),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&self.owner)
                .await
                .expect("create the application user");
        }
        self.users.push(user.clone());
        user
    }

    /// A pool connected as `user` with at most `max` connections.
    pub async fn pool_as(&self, user: &str, max: u32) -> MySqlPool {
        MySqlPoolOptions::new()
            .max_connections(max)
            .connect_with(self.options_for(user))
            .await
            .expect("connect as the application user")
    }

    /// Runs `;`-separated statements as the owner.
    pub async fn execute_script(&self, script: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(script.to_owned()))
            .execute(&self.owner)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"));
    }
}

impl Drop for MyTestDb {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        let users = std::mem::take(&mut self.users);
        cleanup_on_own_runtime(async move {
            // The pools' connections belong to the test's runtime, which
            // this thread blocks: closing them here could deadlock.
            // MySQL has no `DROP DATABASE .. WITH (FORCE)`, and a
            // connection left inside a transaction (a panic mid-test)
            // holds metadata locks that would make DROP DATABASE wait:
            // kill every other connection on the database or of the
            // test's users first, and bound the wait anyway.
            let Ok(mut admin) = mysql_admin_options().connect().await else {
                return;
            };
            let _ = sqlx::query("SET SESSION lock_wait_timeout = 30")
                .execute(&mut admin)
                .await;
            let ids: Vec<u64> = sqlx::query_scalar(
                "SELECT CAST(id AS UNSIGNED) FROM information_schema.processlist \
                     WHERE id <> CONNECTION_ID() AND (db = ? OR FIND_IN_SET(user, ?) > 0)",
            )
            .bind(&name)
            .bind(users.join(","))
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
            for id in ids {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}")))
                    .execute(&mut admin)
                    .await;
            }
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS `{name}`"
            )))
            .execute(&mut admin)
            .await;
            for user in users {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP USER IF EXISTS '{user}'@'%'"
                )))
                .execute(&mut admin)
                .await;
            }
            let _ = admin.close().await;
        });
    }
}

/// Runs `cleanup` to completion on a short-lived thread with its own
/// runtime: async work cannot run in `drop`, and the test's runtime may be
/// the one this blocks, so a test database is dropped even when the test
/// panicked.
fn cleanup_on_own_runtime(cleanup: impl std::future::Future<Output = ()> + Send + 'static) {
    let handle = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(cleanup);
        }
    });
    let _ = handle.join();
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

/// Runs `sql` (no parameters) with raw sqlx on `db`'s pool, on PostgreSQL
/// in a transaction of `tenant` so that row-level security admits it.
///
/// For rows the builders refuse to write — a reference to another tenant's
/// row, which tenant-core looks up before every write — as a program
/// outside the framework, a schema without foreign keys, or data from
/// before the check would leave them. The reading tests then show that the
/// builders keep tenants apart by themselves even over such rows.
pub async fn raw_tenant_write(db: &tenant_core::TenantDb, tenant: &str, sql: &str) {
    if let Ok(pool) = db.raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures")) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(pool)
            .await
            .expect("raw write");
    } else if let Ok(pool) = db.raw_postgres(&tenant_core::CrossTenant::audited("test fixtures")) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "BEGIN; SELECT set_config('{}', '{tenant}', true); {sql}; COMMIT",
            tenant_core::rls::TENANT_SETTING
        )))
        .execute(pool)
        .await
        .expect("raw write");
    } else if let Ok(pool) = db.raw_mysql(&tenant_core::CrossTenant::audited("test fixtures")) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(pool)
            .await
            .expect("raw write");
    }
}

/// Keeps a test's PostgreSQL and MySQL/MariaDB databases alive; dropping it
/// drops them (and their roles and users).
pub type Guards = (Vec<PgTestDb>, MyTestDb);

/// One schema on every backend, each used as a test application would:
/// SQLite in memory, PostgreSQL as a non-owner role without and with
/// row-level security (`policies` applied), MariaDB as a non-root user.
/// Returns the databases' guards and one `TenantDb` per backend, named
/// `sqlite`, `postgres`, `postgres+rls` and `mysql`.
pub async fn every_backend(
    sqlite: &str,
    postgres: &str,
    policies: &str,
    mysql: &str,
) -> (Guards, Vec<(&'static str, tenant_core::TenantDb)>) {
    use tenant_core::TenantDb;
    let lite = sqlite_memory().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite.to_owned()))
        .execute(&lite)
        .await
        .expect("SQLite schema");

    let mut pg = PgTestDb::create().await;
    pg.execute_script(postgres).await;
    let role = pg.create_app_role().await;
    let plain = TenantDb::postgres(pg.pool_as(&role, 2).await);

    let mut pg_rls = PgTestDb::create().await;
    pg_rls.execute_script(postgres).await;
    pg_rls.execute_script(policies).await;
    let role = pg_rls.create_app_role().await;
    let rls = TenantDb::postgres_with_rls(pg_rls.pool_as(&role, 2).await);

    let mut my = MyTestDb::create().await;
    my.execute_script(mysql).await;
    let user = my.create_app_user().await;
    let mysql = TenantDb::mysql(my.pool_as(&user, 2).await);
    (
        (vec![pg, pg_rls], my),
        vec![
            ("sqlite", TenantDb::sqlite(lite)),
            ("postgres", plain),
            ("postgres+rls", rls),
            ("mysql", mysql),
        ],
    )
}
