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
}

impl TenantDb {
    /// Runs statements on a SQLite pool.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(pool: SqlitePool) -> Self {
        TenantDb {
            pool: Pool::Sqlite(pool),
            rls: false,
        }
    }

    /// Runs statements on a PostgreSQL pool.
    #[cfg(feature = "postgres")]
    pub fn postgres(pool: PgPool) -> Self {
        TenantDb {
            pool: Pool::Postgres(pool),
            rls: false,
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

    /// The SQLite pool, for migrations and other unscoped administration.
    /// Statements run through it directly are not tenant-checked.
    #[cfg(feature = "sqlite")]
    pub fn as_sqlite(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(pool) => Some(pool),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The PostgreSQL pool, for migrations and other unscoped administration.
    /// Statements run through it directly are not tenant-checked.
    #[cfg(feature = "postgres")]
    pub fn as_postgres(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(pool) => Some(pool),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The MySQL pool, for migrations and other unscoped administration.
    /// Statements run through it directly are not tenant-checked.
    #[cfg(feature = "mysql")]
    pub fn as_mysql(&self) -> Option<&MySqlPool> {
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
        each_backend!(Pool, &self.pool, pool => pool.close().await)
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
        let rls = self.rls;
        match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Target::Sqlite(On::Pool { pool, rls }),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Target::Postgres(On::Pool { pool, rls }),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => Target::MySql(On::Pool { pool, rls }),
        }
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
