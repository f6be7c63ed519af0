//! [`TenantDb`], a pool of any backend, and [`TenantTransaction`], a
//! transaction bound to one tenant; [`Executor`] turns either into the
//! target a statement runs on.

#[cfg(feature = "mysql")]
use sqlx::mysql::MySqlPool;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgPool;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqlitePool;

use crate::backend::{Backend, Driver};
use crate::cross::CrossTenant;
use crate::error::Error;
use crate::exec::{On, Target, begin_with_tenant};
use crate::tenant::{TenantId, TenantKey, TenantScope, TenantValue};
use crate::tx::TxConn;

/// A pool of one backend.
#[derive(Debug, Clone)]
enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
    #[cfg(feature = "mysql")]
    MySql(MySqlPool),
}

impl Pool {
    /// A statement target on this pool; `rls`: row-level-security mode.
    fn target(&self, rls: bool) -> Target<'_> {
        match self {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Target::Sqlite(On::Pool { pool, rls }),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Target::Postgres(On::Pool { pool, rls }),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => Target::MySql(On::Pool { pool, rls }),
        }
    }
}

/// Runs `$body` with `$pool` bound to the sqlx pool of `$value`'s backend
/// (the one place that lists the backends for a pool or a transaction).
macro_rules! each_backend {
    ($ty:ident, $value:expr, $pool:ident => $body:expr) => {
        match $value {
            #[cfg(feature = "sqlite")]
            $ty::Sqlite($pool) => $body,
            #[cfg(feature = "postgres")]
            $ty::Postgres($pool) => $body,
            #[cfg(feature = "mysql")]
            $ty::MySql($pool) => $body,
        }
    };
}

/// The database that the builders run on: a sqlx pool of one backend.
///
/// Cloning is cheap (the pool is shared).
///
/// ```
/// # async fn demo() -> Result<(), tenant_core::Error> {
/// use tenant_core::TenantDb;
///
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.map_err(tenant_core::Error::from)?;
/// let db = TenantDb::sqlite(pool);
/// assert_eq!(db.backend(), tenant_core::Backend::Sqlite);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TenantDb {
    pool: Pool,
    /// Row-level-security mode (PostgreSQL only).
    rls: bool,
    /// The pool cross-tenant work runs on, when it is not `pool` (see
    /// [`TenantDb::with_cross_tenant`]).
    cross: Option<Box<Pool>>,
}

impl TenantDb {
    /// Runs statements on a SQLite pool.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(pool: SqlitePool) -> Self {
        TenantDb {
            pool: Pool::Sqlite(pool),
            rls: false,
            cross: None,
        }
    }

    /// Runs statements on a PostgreSQL pool.
    #[cfg(feature = "postgres")]
    pub fn postgres(pool: PgPool) -> Self {
        TenantDb {
            pool: Pool::Postgres(pool),
            rls: false,
            cross: None,
        }
    }

    /// Runs statements on a MySQL or MariaDB pool.
    ///
    /// MySQL has no row-level security: the builders' tenant predicate is
    /// the only layer, and [`crate::doctor`] checks what MySQL can (the
    /// tenant column, keys and the serving user's grants).
    /// `Insert::fetch_one` uses `INSERT … RETURNING`, which MariaDB has
    /// (since 10.5) and MySQL 8 does not; on MySQL use `Insert::execute`.
    #[cfg(feature = "mysql")]
    pub fn mysql(pool: MySqlPool) -> Self {
        TenantDb {
            pool: Pool::MySql(pool),
            rls: false,
            cross: None,
        }
    }

    /// Runs statements on a PostgreSQL pool whose tables are protected by
    /// row-level security policies on `app.tenant_id` (see [`crate::rls`]).
    ///
    /// Every tenant-scoped statement also sets `app.tenant_id`,
    /// transaction-locally, so the policies see the scope's tenant:
    /// - reads, counts and inserts are rewritten into one statement that sets
    ///   the tenant in a `LATERAL` source the rest depends on (no extra round
    ///   trip);
    /// - updates and deletes run in a transaction opened with
    ///   `BEGIN; SELECT set_config('app.tenant_id', .., true)`;
    /// - [`TenantDb::begin`] sets it once for the whole transaction.
    ///
    /// The setting never outlives its transaction, so nothing is left on a
    /// pooled connection. The explicit `tenant_id = ..` predicate stays in
    /// every statement as well.
    #[cfg(feature = "postgres")]
    pub fn postgres_with_rls(pool: PgPool) -> Self {
        TenantDb {
            pool: Pool::Postgres(pool),
            rls: true,
            cross: None,
        }
    }

    /// `true` when built with [`TenantDb::postgres_with_rls`].
    pub fn uses_rls(&self) -> bool {
        self.rls
    }

    /// Connects to `url`: `sqlite:...`, `postgres://...` (`postgresql://`)
    /// or `mysql://...` (`mariadb://`), each when its crate feature is on,
    /// with the tuned defaults of [`TenantDbOptions`](crate::TenantDbOptions)
    /// (use it for other pool and driver settings). An unreachable database
    /// is reported at once as [`Error::Connect`], with its cause.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// let db = tenant_core::TenantDb::connect("sqlite::memory:").await?;
    /// assert_eq!(db.backend(), tenant_core::Backend::Sqlite);
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, Error> {
        crate::TenantDbOptions::new().connect(url).await
    }

    /// The backend behind this handle.
    pub fn backend(&self) -> Backend {
        fn of<DB: Driver>(_: &sqlx::Pool<DB>) -> Backend {
            DB::BACKEND
        }
        each_backend!(Pool, &self.pool, pool => of(pool))
    }

    /// Runs cross-tenant work ([`Across`](crate::Across) reads and the raw
    /// pool of [`raw_sqlite`](TenantDb::raw_sqlite) and its siblings) on
    /// `cross`, a database of the same backend whose role may read every
    /// tenant, and tenant-scoped work on this one as before.
    ///
    /// Row-level-security mode needs it: the serving role's policies admit
    /// only the tenant set for the statement, so it never gains
    /// cross-tenant rights; the cross-tenant role has its own policy
    /// ([`crate::rls::cross_tenant_policy_sql`]), and
    /// [`crate::doctor::diagnose_cross_tenant`] checks both roles. Elsewhere
    /// it is optional (without it, cross-tenant work runs on this pool);
    /// a role of its own keeps the audit trail in the database's logs too.
    ///
    /// `cross` must be of the same backend and not in row-level-security
    /// mode ([`Error::CrossTenantPool`] otherwise).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// use tenant_core::TenantDb;
    ///
    /// let serving = TenantDb::connect("sqlite::memory:").await?;
    /// let admin = TenantDb::connect("sqlite::memory:").await?;
    /// let db = serving.with_cross_tenant(admin)?;
    /// assert_eq!(db.backend(), tenant_core::Backend::Sqlite);
    /// # Ok(()) }
    /// ```
    pub fn with_cross_tenant(mut self, cross: TenantDb) -> Result<Self, Error> {
        if cross.backend() != self.backend() {
            return Err(Error::CrossTenantPool {
                why: "it is of another backend",
            });
        }
        if cross.rls {
            return Err(Error::CrossTenantPool {
                why: "it is in row-level-security mode; wrap the cross-tenant role's pool with TenantDb::postgres",
            });
        }
        self.cross = Some(Box::new(cross.pool));
        Ok(self)
    }

    /// The pool cross-tenant work runs on: the one of
    /// [`with_cross_tenant`](TenantDb::with_cross_tenant), else this one
    /// unless it is in row-level-security mode.
    fn cross_pool(&self) -> Result<&Pool, Error> {
        match (&self.cross, self.rls) {
            (Some(cross), _) => Ok(cross),
            (None, false) => Ok(&self.pool),
            (None, true) => Err(Error::NoCrossTenantPool),
        }
    }

    /// Where a cross-tenant statement runs (never a row-level-security
    /// form: the cross-tenant role reads without a tenant setting).
    pub(crate) fn cross_target(&self) -> Result<Target<'_>, Error> {
        Ok(self.cross_pool()?.target(false))
    }

    /// The raw pool of cross-tenant work, audited as one use of `cross`.
    #[track_caller]
    fn raw_pool(&self, cross: &CrossTenant, expected: Backend) -> Result<&Pool, Error> {
        let use_ = cross.use_at(std::panic::Location::caller());
        let actual = self.backend();
        if actual != expected {
            return Err(Error::WrongBackend { expected, actual });
        }
        // Without a cross-tenant pool, the serving one (in row-level-security
        // mode its policies still admit one tenant at a time).
        let pool = self.cross.as_deref().unwrap_or(&self.pool);
        use_.audit("raw_pool", expected.name(), None)?;
        Ok(pool)
    }

    /// The SQLite pool, for migrations and other work the builders do not
    /// express. Statements run through it are not tenant-checked, so it
    /// takes the cross-tenant capability, and each call is audited (see
    /// [`crate::cross`]). It is the pool of
    /// [`with_cross_tenant`](TenantDb::with_cross_tenant) when one is set.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// use tenant_core::{CrossTenant, TenantDb};
    ///
    /// let db = TenantDb::connect("sqlite::memory:").await?;
    /// let migrations = CrossTenant::audited("schema migrations");
    /// let pool = db.raw_sqlite(&migrations)?;
    /// sqlx::query("CREATE TABLE plans (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    ///     .execute(pool)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "sqlite")]
    #[track_caller]
    pub fn raw_sqlite(&self, cross: &CrossTenant) -> Result<&SqlitePool, Error> {
        match self.raw_pool(cross, Backend::Sqlite)? {
            Pool::Sqlite(pool) => Ok(pool),
            #[allow(unreachable_patterns)]
            _ => Err(Error::WrongBackend {
                expected: Backend::Sqlite,
                actual: self.backend(),
            }),
        }
    }

    /// The PostgreSQL pool, as [`raw_sqlite`](TenantDb::raw_sqlite): not
    /// tenant-checked, audited, the cross-tenant pool when one is set (in
    /// row-level-security mode without one: the serving pool, whose
    /// policies still apply).
    ///
    /// ```no_run
    /// # async fn run(db: tenant_core::TenantDb) -> Result<(), tenant_core::Error> {
    /// use tenant_core::CrossTenant;
    ///
    /// let migrations = CrossTenant::audited("schema migrations");
    /// sqlx::query("CREATE TABLE plans (id bigint PRIMARY KEY, name text NOT NULL)")
    ///     .execute(db.raw_postgres(&migrations)?)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "postgres")]
    #[track_caller]
    pub fn raw_postgres(&self, cross: &CrossTenant) -> Result<&PgPool, Error> {
        match self.raw_pool(cross, Backend::Postgres)? {
            Pool::Postgres(pool) => Ok(pool),
            #[allow(unreachable_patterns)]
            _ => Err(Error::WrongBackend {
                expected: Backend::Postgres,
                actual: self.backend(),
            }),
        }
    }

    /// The MySQL or MariaDB pool, as [`raw_sqlite`](TenantDb::raw_sqlite):
    /// not tenant-checked, audited.
    ///
    /// ```no_run
    /// # async fn run(db: tenant_core::TenantDb) -> Result<(), tenant_core::Error> {
    /// use tenant_core::CrossTenant;
    ///
    /// let migrations = CrossTenant::audited("schema migrations");
    /// sqlx::query("CREATE TABLE plans (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
    ///     .execute(db.raw_mysql(&migrations)?)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "mysql")]
    #[track_caller]
    pub fn raw_mysql(&self, cross: &CrossTenant) -> Result<&MySqlPool, Error> {
        match self.raw_pool(cross, Backend::MySql)? {
            Pool::MySql(pool) => Ok(pool),
            #[allow(unreachable_patterns)]
            _ => Err(Error::WrongBackend {
                expected: Backend::MySql,
                actual: self.backend(),
            }),
        }
    }

    /// The serving SQLite pool, for the framework's own checks.
    #[cfg(feature = "sqlite")]
    pub(crate) fn serving_sqlite(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(pool) => Some(pool),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The serving PostgreSQL pool, for the framework's own checks.
    #[cfg(feature = "postgres")]
    pub(crate) fn serving_postgres(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(pool) => Some(pool),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The serving MySQL pool, for the framework's own checks.
    #[cfg(feature = "mysql")]
    pub(crate) fn serving_mysql(&self) -> Option<&MySqlPool> {
        match &self.pool {
            Pool::MySql(pool) => Some(pool),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Opens a transaction for one tenant. Statements run on it must be
    /// scoped to the same tenant (or be on global models); any other is
    /// refused with [`Error::ScopeMismatch`] before reaching the database.
    /// Dropping the transaction without [`commit`](TenantTransaction::commit)
    /// rolls it back.
    pub async fn begin<K: TenantKey>(
        &self,
        scope: &TenantScope<K>,
    ) -> Result<TenantTransaction<K>, Error> {
        // In row-level-security mode the transaction sets the tenant as it
        // begins.
        let tenant = scope.value();
        let statement = self.rls.then(|| begin_with_tenant(&tenant));
        let tx = match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Tx::Sqlite(TxConn::begin(pool, statement).await?),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Tx::Postgres(TxConn::begin(pool, statement).await?),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => Tx::MySql(TxConn::begin(pool, statement).await?),
        };
        Ok(TenantTransaction {
            scope: scope.clone(),
            tenant,
            tx,
        })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        each_backend!(Pool, &self.pool, pool => pool.close().await);
        if let Some(cross) = &self.cross {
            each_backend!(Pool, &**cross, pool => pool.close().await)
        }
    }
}

/// Strips a password from a URL before it appears in an error.
pub(crate) fn redact_url(url: &str) -> String {
    // The query string can carry a password too (`?password=..` on
    // PostgreSQL): it goes whole.
    let (url, query) = match url.find('?') {
        Some(q) => (&url[..q], "?***"),
        None => (url, ""),
    };
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}{query}", &url[..scheme], &url[at..])
        }
        _ => format!("{url}{query}"),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn no_password_survives_redaction() {
        for (url, shown) in [
            ("postgres://app:secret@db/app", "postgres://***@db/app"),
            (
                "postgres://app@db/app?password=secret",
                "postgres://***@db/app?***",
            ),
            (
                "postgres:///app?user=app&password=secret",
                "postgres:///app?***",
            ),
            (
                "mysql://root:s%40cret@db:3306/app?ssl-mode=DISABLED",
                "mysql://***@db:3306/app?***",
            ),
            ("sqlite:app.db", "sqlite:app.db"),
        ] {
            assert_eq!(redact_url(url), shown);
            assert!(!redact_url(url).contains("secret"), "{url}");
        }
    }
}

/// A framework-opened transaction of one backend.
#[derive(Debug)]
enum Tx {
    #[cfg(feature = "sqlite")]
    Sqlite(TxConn<sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(TxConn<sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(TxConn<sqlx::MySql>),
}

/// A database transaction that belongs to one tenant, from
/// [`TenantDb::begin`].
///
/// Pass `&mut tx` wherever a builder's terminal takes an executor. `K` is
/// the scope's key type.
#[derive(Debug)]
pub struct TenantTransaction<K: TenantKey = TenantId> {
    scope: TenantScope<K>,
    /// The scope's tenant, as statements bind it.
    tenant: TenantValue,
    tx: Tx,
}

impl<K: TenantKey> TenantTransaction<K> {
    /// The scope this transaction was opened for.
    pub fn scope(&self) -> &TenantScope<K> {
        &self.scope
    }

    /// Commits.
    ///
    /// If a statement run on this transaction failed in the database, the
    /// transaction is rolled back instead and this returns
    /// [`Error::RolledBack`]: PostgreSQL aborts a transaction at its first
    /// error and answers a later `COMMIT` with a rollback that sqlx reports
    /// as success, which would silently lose every write of it. SQLite, which
    /// would commit the rest, is held to the same rule, so the same code
    /// behaves the same on every backend.
    pub async fn commit(self) -> Result<(), Error> {
        if each_backend!(Tx, &self.tx, tx => tx.failed()) {
            self.rollback().await?;
            return Err(Error::RolledBack);
        }
        each_backend!(Tx, self.tx, tx => tx.commit().await?);
        Ok(())
    }

    /// Rolls back. Dropping the transaction without `commit` rolls it back
    /// too; this waits for the rollback and reports its errors.
    pub async fn rollback(self) -> Result<(), Error> {
        each_backend!(Tx, self.tx, tx => tx.rollback().await?);
        Ok(())
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for &super::TenantDb {}
    impl<K: crate::tenant::TenantKey> Sealed for &mut super::TenantTransaction<K> {}
}

/// Where a statement runs: `&TenantDb` or `&mut TenantTransaction`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run tenant-scoped statements",
    label = "expected `&TenantDb` or `&mut TenantTransaction`",
    note = "wrap the pool once with `TenantDb::sqlite(pool)` / `TenantDb::postgres(pool)` / `TenantDb::mysql(pool)`, or open a transaction with `db.begin(&scope)` and pass `&mut tx`"
)]
pub trait Executor<'c>: Send + sealed::Sealed {
    #[doc(hidden)]
    fn into_target(self) -> Target<'c>;
}

impl<'c> Executor<'c> for &'c TenantDb {
    fn into_target(self) -> Target<'c> {
        self.pool.target(self.rls)
    }
}

impl<'c, K: TenantKey> Executor<'c> for &'c mut TenantTransaction<K> {
    fn into_target(self) -> Target<'c> {
        fn on<'c, DB: Driver>(tx: &'c mut TxConn<DB>, tenant: &'c TenantValue) -> On<'c, DB> {
            let (conn, failed) = tx.parts();
            On::Tx {
                conn,
                tenant,
                failed,
            }
        }
        let TenantTransaction { tenant, tx, .. } = self;
        match tx {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => Target::Sqlite(on(tx, tenant)),
            #[cfg(feature = "postgres")]
            Tx::Postgres(tx) => Target::Postgres(on(tx, tenant)),
            #[cfg(feature = "mysql")]
            Tx::MySql(tx) => Target::MySql(on(tx, tenant)),
        }
    }
}
