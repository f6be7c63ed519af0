//! The backends: what differs between SQLite, PostgreSQL and MySQL/MariaDB,
//! in one place.
//!
//! - [`Backend`] names a backend and holds its *dialect* (placeholders,
//!   identifier quoting, `RETURNING`, row-level security). Rendering SQL
//!   needs only this, not a driver.
//! - [`Driver`] is the sealed trait over [`sqlx::Database`] that the executor,
//!   the parameters and the decoders are generic over: bind a value, decode a
//!   column, reach the executor, and what a dropped transaction leaves
//!   behind. It is implemented for each sqlx database whose crate feature
//!   (`sqlite`, `postgres`, `mysql`) is on, and nowhere else.
//!
//! Adding a backend means a [`Backend`] variant with its dialect, one
//! `Driver` impl, and one arm in [`crate::db`]'s pool and transaction enums.

use sqlx::IntoArguments;
use sqlx::error::BoxDynError;
use sqlx::pool::PoolConnection;

use crate::value::{Col, TypeChecks};
use crate::value::{KeyRef, SqlType, Value};

/// Which database a [`TenantDb`](crate::TenantDb) talks to, and how SQL is
/// written for it.
///
/// ```
/// use tenant_core::Backend;
///
/// assert!(Backend::Postgres.supports_rls());
/// assert!(!Backend::MySql.supports_rls());
/// assert_eq!(Backend::MySql.identifier_quote(), '`');
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite, through `sqlx::SqlitePool`.
    Sqlite,
    /// PostgreSQL, through `sqlx::PgPool`.
    Postgres,
    /// MySQL or MariaDB, through `sqlx::MySqlPool`.
    MySql,
}

impl Backend {
    /// Every backend, whether or not its driver is compiled in.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    /// A small number per backend, for tables indexed by backend.
    pub(crate) const fn index(self) -> usize {
        match self {
            Backend::Sqlite => 0,
            Backend::Postgres => 1,
            Backend::MySql => 2,
        }
    }

    /// The character that quotes identifiers: `"` (SQL standard), or `` ` ``
    /// on MySQL, where `"` quotes a string unless `ANSI_QUOTES` is set.
    pub const fn identifier_quote(self) -> char {
        match self {
            Backend::MySql => '`',
            Backend::Sqlite | Backend::Postgres => '"',
        }
    }

    /// Whether placeholders are numbered (`$1`, `$2` …: SQLite and
    /// PostgreSQL) rather than positional (`?`: MySQL). A numbered
    /// placeholder may be used twice; a positional one binds once.
    pub const fn numbered_placeholders(self) -> bool {
        !matches!(self, Backend::MySql)
    }

    /// Whether the backend has row-level security policies (PostgreSQL
    /// only). On the others the builders' predicate is the only layer.
    pub const fn supports_rls(self) -> bool {
        matches!(self, Backend::Postgres)
    }

    /// The backend's name, as in error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MySQL",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A sqlx database this crate runs statements on. Sealed: implemented for
/// `sqlx::Sqlite`, `sqlx::Postgres` and `sqlx::MySql` (each behind its crate
/// feature) and nothing else.
///
/// Users never call it; it appears in the bounds of the generated code.
/// Its shape follows sqlx-core's `Arguments::add` and diesel's `Backend`:
/// the generic code names only `DB::Arguments` and `DB::Row`, and each
/// backend says once how a value reaches them.
pub trait Driver: sqlx::Database<Arguments: IntoArguments<Self>> + sealed::Sealed {
    /// The backend this driver speaks to.
    const BACKEND: Backend;

    /// Whether a connection whose `BEGIN`, `COMMIT` or `ROLLBACK` was in
    /// flight when its future was dropped must be closed rather than
    /// returned to the pool (see [`crate::tx`]).
    #[doc(hidden)]
    const CLOSE_WHEN_UNSURE: bool;

    /// Whether a connection whose transaction was open (begun, not ending)
    /// when it was dropped must be closed rather than sent a queued
    /// `ROLLBACK` (see [`crate::tx`]).
    #[doc(hidden)]
    const CLOSE_WHEN_OPEN: bool;

    /// Binds one value of a column type.
    #[doc(hidden)]
    fn add<T: SqlType>(args: &mut Self::Arguments, value: T) -> Result<(), BoxDynError>;

    /// Binds one type-erased value.
    #[doc(hidden)]
    fn add_value(args: &mut Self::Arguments, value: Value) -> Result<(), BoxDynError>;

    /// Binds a copy of a type-erased value, which stays bindable.
    #[doc(hidden)]
    fn add_value_ref(args: &mut Self::Arguments, value: &Value) -> Result<(), BoxDynError>;

    /// Binds a copy of a referenced key read from a `New<Model>`.
    #[doc(hidden)]
    fn add_key(args: &mut Self::Arguments, key: KeyRef<'_>) -> Result<(), BoxDynError>;

    /// Reads column `index` of a row as a column type.
    #[doc(hidden)]
    fn get<T: SqlType>(row: &Self::Row, index: usize) -> Result<T, sqlx::Error>;

    /// Whether column `index` of a row is NULL (a left join's missing side).
    #[doc(hidden)]
    fn is_null(row: &Self::Row, index: usize) -> Result<bool, sqlx::Error>;

    /// Reads column `index` through a column type's operations (the
    /// generated decoders use this: it needs no `T: SqlType` bound, so an
    /// unsupported field type is reported once, where `col::<T>()` is made).
    #[doc(hidden)]
    fn decode_col<T>(col: &Col<T>, row: &Self::Row, index: usize) -> Result<T, sqlx::Error>;

    /// Binds one value through a column type's operations.
    #[doc(hidden)]
    fn bind_col<T>(col: &Col<T>, args: &mut Self::Arguments, value: T) -> Result<(), BoxDynError>;

    /// Whether a column type (by its checks) reads a live column of `ty`.
    #[doc(hidden)]
    fn compatible(checks: &TypeChecks, ty: &Self::TypeInfo) -> bool;

    /// The number of rows a statement changed.
    #[doc(hidden)]
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// A connection as a sqlx executor.
    #[doc(hidden)]
    fn on_connection<'c>(
        conn: &'c mut Self::Connection,
    ) -> impl sqlx::Executor<'c, Database = Self>;

    /// A pool as a sqlx executor.
    #[doc(hidden)]
    fn on_pool<'c>(pool: &'c sqlx::Pool<Self>) -> impl sqlx::Executor<'c, Database = Self>;

    /// Queues a `ROLLBACK` of the open transaction on `conn`.
    #[doc(hidden)]
    fn start_rollback(conn: &mut PoolConnection<Self>) {
        <Self::TransactionManager as sqlx_core::transaction::TransactionManager>::start_rollback(
            conn,
        );
    }
}

/// The `Driver` impl of one backend: `$db` the sqlx database; `$bind`,
/// `$decode`, `$checks` the backend's fields in [`Col`] and [`TypeChecks`].
macro_rules! driver {
    ($feature:literal, $db:ty, $backend:expr, close_when_unsure = $close:expr,
     close_when_open = $close_open:expr,
     $bind:ident, $bind_ref:ident, $decode:ident, $checks:ident, $rows:expr) => {
        #[cfg(feature = $feature)]
        impl sealed::Sealed for $db {}

        #[cfg(feature = $feature)]
        impl Driver for $db {
            const BACKEND: Backend = $backend;
            const CLOSE_WHEN_UNSURE: bool = $close;
            const CLOSE_WHEN_OPEN: bool = $close_open;

            #[inline]
            fn add<T: SqlType>(args: &mut Self::Arguments, value: T) -> Result<(), BoxDynError> {
                sqlx::Arguments::add(args, value)
            }

            #[inline]
            fn add_value(args: &mut Self::Arguments, value: Value) -> Result<(), BoxDynError> {
                value.0.$bind(args)
            }

            #[inline]
            fn add_value_ref(args: &mut Self::Arguments, value: &Value) -> Result<(), BoxDynError> {
                value.0.$bind_ref(args)
            }

            #[inline]
            fn add_key(args: &mut Self::Arguments, key: KeyRef<'_>) -> Result<(), BoxDynError> {
                key.0.$bind_ref(args)
            }

            #[inline]
            fn get<T: SqlType>(row: &Self::Row, index: usize) -> Result<T, sqlx::Error> {
                sqlx::Row::try_get(row, index)
            }

            #[inline]
            fn is_null(row: &Self::Row, index: usize) -> Result<bool, sqlx::Error> {
                sqlx::Row::try_get_raw(row, index).map(|value| sqlx::ValueRef::is_null(&value))
            }

            #[inline]
            fn decode_col<T>(
                col: &Col<T>,
                row: &Self::Row,
                index: usize,
            ) -> Result<T, sqlx::Error> {
                (col.$decode)(row, index)
            }

            #[inline]
            fn bind_col<T>(
                col: &Col<T>,
                args: &mut Self::Arguments,
                value: T,
            ) -> Result<(), BoxDynError> {
                (col.$bind)(args, value)
            }

            fn compatible(checks: &TypeChecks, ty: &Self::TypeInfo) -> bool {
                (checks.$checks)(ty)
            }

            #[inline]
            fn rows_affected(result: &Self::QueryResult) -> u64 {
                let rows: fn(&Self::QueryResult) -> u64 = $rows;
                rows(result)
            }

            #[inline]
            fn on_connection<'c>(
                conn: &'c mut Self::Connection,
            ) -> impl sqlx::Executor<'c, Database = Self> {
                conn
            }

            #[inline]
            fn on_pool<'c>(pool: &'c sqlx::Pool<Self>) -> impl sqlx::Executor<'c, Database = Self> {
                pool
            }
        }
    };
}

// SQLite connections are never closed when unsure: an in-memory database
// lives only as long as its connection, and SQLite's worker runs commands
// in order and counts transactions itself, so a queued rollback is right.
driver!(
    "sqlite",
    sqlx::Sqlite,
    Backend::Sqlite,
    close_when_unsure = false,
    close_when_open = false,
    bind_sqlite,
    bind_sqlite_ref,
    decode_sqlite,
    sqlite,
    |r| r.rows_affected()
);
driver!(
    "postgres",
    sqlx::Postgres,
    Backend::Postgres,
    close_when_unsure = true,
    close_when_open = false,
    bind_postgres,
    bind_postgres_ref,
    decode_postgres,
    postgres,
    |r| r.rows_affected()
);
// sqlx-mysql does not track a half-read prepare, so a queued ROLLBACK
// behind one hangs the pool (see `crate::tx`): an open transaction closes.
driver!(
    "mysql",
    sqlx::MySql,
    Backend::MySql,
    close_when_unsure = true,
    close_when_open = true,
    bind_mysql,
    bind_mysql_ref,
    decode_mysql,
    mysql,
    |r| r.rows_affected()
);
