//! [`TenantDbOptions`]: a [`TenantDb`] built from a URL, with pool and
//! driver options, that reports an unreachable database at once with its
//! cause.
//!
//! sqlx's pool retries a refused connection until its acquire timeout and
//! then reports a bare `PoolTimedOut`, 30 seconds later, with the cause
//! gone. So [`TenantDbOptions::connect`] opens its first connection
//! directly with the driver's connect options, maps a failure to
//! [`Error::Connect`] (refused, unknown host, authentication, missing
//! database, timed out), and only then builds the pool.

use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::{ConnectOptions, Connection};

#[cfg(any(feature = "sqlite", feature = "mysql"))]
use crate::backend::Backend;
use crate::db::TenantDb;
use crate::error::Error;

/// How [`TenantDbOptions::connect`] failed to reach the database: the part
/// of [`Error::Connect`] to act on.
///
/// ```
/// use tenant_core::ConnectFailure;
///
/// assert!(ConnectFailure::Refused.to_string().contains("refused"));
/// assert!(ConnectFailure::Refused.is_transient());
/// assert!(!ConnectFailure::Authentication.is_transient());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectFailure {
    /// Nothing listens at the address and port (the server is down, or the
    /// port is wrong).
    Refused,
    /// The host name does not resolve.
    UnknownHost,
    /// The server refused the user name or password.
    Authentication,
    /// The server has no database of that name.
    UnknownDatabase,
    /// No answer within the acquire timeout.
    TimedOut,
    /// The URL could not be read.
    InvalidUrl,
    /// Anything else (TLS, a file SQLite cannot open, a protocol error): the
    /// source error says what.
    Other,
}

impl ConnectFailure {
    /// Whether trying again later may succeed (the server may be starting,
    /// or briefly unreachable); `false` for a mistake in the URL or the
    /// credentials.
    pub fn is_transient(self) -> bool {
        matches!(self, ConnectFailure::Refused | ConnectFailure::TimedOut)
    }

    /// The failure behind `err`, a connect error of any backend.
    pub(crate) fn of(err: &sqlx::Error) -> Self {
        match err {
            sqlx::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
                std::io::ErrorKind::TimedOut => ConnectFailure::TimedOut,
                // The standard library's resolver error (getaddrinfo) has no
                // ErrorKind of its own; its text is fixed.
                _ if io.to_string().contains("failed to lookup address") => {
                    ConnectFailure::UnknownHost
                }
                _ => ConnectFailure::Other,
            },
            sqlx::Error::PoolTimedOut => ConnectFailure::TimedOut,
            sqlx::Error::Configuration(_) => ConnectFailure::InvalidUrl,
            sqlx::Error::Database(db) => Self::of_database(db.as_ref()),
            _ => ConnectFailure::Other,
        }
    }

    /// The failure a server reported while logging in.
    fn of_database(db: &dyn sqlx::error::DatabaseError) -> Self {
        // MySQL: 1045 access denied (a wrong password), 1044 access denied
        // to the database, 1049 unknown database; its SQLSTATEs are too
        // coarse (42000 for both of the last two).
        #[cfg(feature = "mysql")]
        if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
            return match my.number() {
                1045 | 1044 => ConnectFailure::Authentication,
                1049 => ConnectFailure::UnknownDatabase,
                _ => ConnectFailure::Other,
            };
        }
        // PostgreSQL: SQLSTATE class 28 (invalid authorization: a wrong
        // password, an unknown role, a role that may not log in), 3D000
        // (invalid catalog name).
        match db.code().as_deref() {
            Some(code) if code.starts_with("28") => ConnectFailure::Authentication,
            Some("3D000") => ConnectFailure::UnknownDatabase,
            _ => ConnectFailure::Other,
        }
    }
}

impl std::fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConnectFailure::Refused => {
                "connection refused: nothing listens at that host and port (is the server running? is the port right?)"
            }
            ConnectFailure::UnknownHost => "unknown host: the host name does not resolve",
            ConnectFailure::Authentication => {
                "authentication failed: check the user name and password"
            }
            ConnectFailure::UnknownDatabase => {
                "the database does not exist: create it or fix its name in the URL"
            }
            ConnectFailure::TimedOut => {
                "timed out: no answer within the acquire timeout (a firewall dropping packets, or an overloaded server)"
            }
            ConnectFailure::InvalidUrl => "the URL is not valid for this database",
            ConnectFailure::Other => "the connection failed",
        })
    }
}

/// Options of a [`TenantDb`] built from a URL, named as sqlx names them;
/// [`connect`](TenantDbOptions::connect) opens it.
///
/// The defaults are tuned for a web service:
/// - no test query before every acquire ([`test_before_acquire`](Self::test_before_acquire)
///   is `false`): it is a round trip per statement, more on PostgreSQL; a
///   broken connection is found by the statement that uses it, which
///   reports [`Error::Database`] and is retried by the caller;
/// - a file SQLite database in WAL mode with a 5-second busy timeout, and
///   created if missing; an in-memory one keeps one connection open for
///   the pool's life (the database lives only while a connection does);
/// - a first connection that fails is reported at once as
///   [`Error::Connect`], with its cause, instead of after the acquire
///   timeout.
///
/// Options of another backend than the URL's (a SQLite busy timeout with a
/// PostgreSQL URL) are ignored, so one set of options serves whichever URL
/// is configured; [`rls`](Self::rls) on a backend without row-level
/// security is an error.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tenant_core::Error> {
/// use std::time::Duration;
/// use tenant_core::{Backend, TenantDbOptions};
///
/// let db = TenantDbOptions::new()
///     .max_connections(4)
///     .acquire_timeout(Duration::from_secs(3))
///     .busy_timeout(Duration::from_secs(10))
///     .statement_cache_capacity(200)
///     .connect("sqlite::memory:")
///     .await?;
/// assert_eq!(db.backend(), Backend::Sqlite);
/// assert_eq!(db.raw_sqlite(&tenant_core::CrossTenant::audited("docs"))?.options().get_max_connections(), 4);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "options do nothing until `connect` opens the database"]
pub struct TenantDbOptions {
    max_connections: u32,
    min_connections: u32,
    acquire_timeout: Duration,
    test_before_acquire: bool,
    sqlite_wal: bool,
    busy_timeout: Duration,
    statement_cache_capacity: Option<usize>,
    rls: bool,
}

impl Default for TenantDbOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl TenantDbOptions {
    /// The tuned defaults: 10 connections at most, a 30-second acquire
    /// timeout, no test before acquire, SQLite in WAL mode with a 5-second
    /// busy timeout, the drivers' statement caches (100 statements per
    /// connection), no row-level security.
    pub fn new() -> Self {
        TenantDbOptions {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            test_before_acquire: false,
            sqlite_wal: true,
            busy_timeout: Duration::from_secs(5),
            statement_cache_capacity: None,
            rls: false,
        }
    }

    /// The most connections the pool opens (sqlx's `max_connections`).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Connections the pool keeps open even when idle (sqlx's
    /// `min_connections`).
    pub fn min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }

    /// How long a statement waits for a connection, and how long
    /// [`connect`](Self::connect) waits for the first one, before failing
    /// (sqlx's `acquire_timeout`). A short one turns an outage into a quick
    /// error instead of a hang.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Whether the pool pings a connection before handing it out (sqlx's
    /// `test_before_acquire`, which sqlx turns on by default). Off by
    /// default here: the ping is a round trip before every statement.
    pub fn test_before_acquire(mut self, test: bool) -> Self {
        self.test_before_acquire = test;
        self
    }

    /// SQLite only: put a file database in WAL mode (the default), so
    /// readers do not block the writer. `false` leaves the file's journal
    /// mode as it is. In-memory databases have no WAL.
    pub fn sqlite_wal(mut self, wal: bool) -> Self {
        self.sqlite_wal = wal;
        self
    }

    /// SQLite only: how long a statement waits for another connection's
    /// write lock before failing as busy (sqlx's `busy_timeout`).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How many prepared statements each connection keeps (sqlx's
    /// `statement_cache_capacity`, on every backend; the drivers keep 100).
    /// The builders' statements have few shapes per model, so the default
    /// suits most services; a service with many models may raise it.
    pub fn statement_cache_capacity(mut self, capacity: usize) -> Self {
        self.statement_cache_capacity = Some(capacity);
        self
    }

    /// PostgreSQL only: run in row-level-security mode, as
    /// [`TenantDb::postgres_with_rls`]. On another backend
    /// [`connect`](Self::connect) fails with [`Error::Unsupported`] rather
    /// than run without the policies asked for.
    pub fn rls(mut self, rls: bool) -> Self {
        self.rls = rls;
        self
    }

    /// Connects to `url`: `sqlite:...`, `postgres://...` (`postgresql://`)
    /// or `mysql://...` (`mariadb://`), each when its crate feature is on.
    ///
    /// The first connection is opened before the pool is built, and its
    /// failure returned at once as [`Error::Connect`], naming the cause and
    /// the URL without its password. Dropping the future closes whatever it
    /// opened.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use tenant_core::{ConnectFailure, Error, TenantDbOptions};
    ///
    /// // Port 1 on the loopback: nothing listens there.
    /// let err = TenantDbOptions::new()
    ///     .connect("postgres://app:secret@127.0.0.1:1/app")
    ///     .await
    ///     .unwrap_err();
    /// # #[cfg(feature = "postgres")] {
    /// assert!(matches!(err, Error::Connect { failure: ConnectFailure::Refused, .. }));
    /// assert!(err.to_string().contains("refused"));
    /// assert!(!err.to_string().contains("secret"));
    /// # }
    /// # }
    /// ```
    pub async fn connect(&self, url: &str) -> Result<TenantDb, Error> {
        #[cfg(feature = "sqlite")]
        if url.starts_with("sqlite:") {
            return self.connect_sqlite(url).await;
        }
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut options = parse::<sqlx::postgres::PgConnectOptions>(url)?;
            if let Some(capacity) = self.statement_cache_capacity {
                options = options.statement_cache_capacity(capacity);
            }
            let pool = open(url, options, self.pool_options()).await?;
            return Ok(if self.rls {
                TenantDb::postgres_with_rls(pool)
            } else {
                TenantDb::postgres(pool)
            });
        }
        #[cfg(feature = "mysql")]
        if let Some(rest) = url
            .strip_prefix("mysql://")
            .or(url.strip_prefix("mariadb://"))
        {
            self.refuse_rls(Backend::MySql)?;
            let mut options =
                parse::<sqlx::mysql::MySqlConnectOptions>(&format!("mysql://{rest}"))?;
            if let Some(capacity) = self.statement_cache_capacity {
                options = options.statement_cache_capacity(capacity);
            }
            return Ok(TenantDb::mysql(
                open(url, options, self.pool_options()).await?,
            ));
        }
        Err(Error::UnsupportedUrl {
            url: crate::db::redact_url(url),
        })
    }

    #[cfg(feature = "sqlite")]
    async fn connect_sqlite(&self, url: &str) -> Result<TenantDb, Error> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

        self.refuse_rls(Backend::Sqlite)?;
        let mut options = parse::<SqliteConnectOptions>(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(self.busy_timeout);
        if let Some(capacity) = self.statement_cache_capacity {
            options = options.statement_cache_capacity(capacity);
        }
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut pool = self.pool_options();
        if in_memory {
            // An in-memory database lives only while a connection to it is
            // open: keep one open for the pool's whole life.
            pool = pool
                .min_connections(self.min_connections.max(1))
                .idle_timeout(None)
                .max_lifetime(None);
        } else if self.sqlite_wal {
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        Ok(TenantDb::sqlite(open(url, options, pool).await?))
    }

    /// Refuses row-level-security mode on a backend without it.
    #[cfg(any(feature = "sqlite", feature = "mysql"))]
    fn refuse_rls(&self, backend: Backend) -> Result<(), Error> {
        if self.rls {
            return Err(Error::Unsupported {
                backend,
                operation: "row-level security (`TenantDbOptions::rls(true)`)",
            });
        }
        Ok(())
    }

    /// The pool options of every backend.
    fn pool_options<DB: sqlx::Database>(&self) -> PoolOptions<DB> {
        PoolOptions::new()
            .max_connections(self.max_connections)
            .min_connections(self.min_connections)
            .acquire_timeout(self.acquire_timeout)
            .test_before_acquire(self.test_before_acquire)
    }
}

/// Reads the connect options of `url`.
fn parse<O: ConnectOptions>(url: &str) -> Result<O, Error> {
    url.parse::<O>()
        .map_err(|err| Error::connect(url, ConnectFailure::InvalidUrl, err))
}

/// Opens one connection with `options` to report a failure with its cause,
/// then the pool. A dropped future drops (closes) the first connection.
async fn open<DB: sqlx::Database>(
    url: &str,
    options: <DB::Connection as Connection>::Options,
    pool: PoolOptions<DB>,
) -> Result<sqlx::Pool<DB>, Error> {
    let timeout = pool.get_acquire_timeout();
    let first = match sqlx_core::rt::timeout(timeout, options.connect()).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => return Err(Error::connect(url, ConnectFailure::of(&err), err)),
        Err(_) => {
            let err = std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no connection within {timeout:?}"),
            );
            return Err(Error::connect(url, ConnectFailure::TimedOut, err.into()));
        }
    };
    // The pool opens its own connections; closing this one politely is best
    // effort (a failure here changes nothing for the pool).
    let _ = first.close().await;
    pool.connect_with(options)
        .await
        .map_err(|err| Error::connect(url, ConnectFailure::of(&err), err))
}
