//! The executor: a pool of either backend, and transactions bound to one
//! tenant.

use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgConnection, PgPool};
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqlitePool};
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

use crate::tx::TxConn;
use crate::{Error, TenantId, TenantScope};

/// Which database a [`TenantDb`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite, through `sqlx::SqlitePool`.
    Sqlite,
    /// PostgreSQL, through `sqlx::PgPool`.
    Postgres,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    /// The flag: row-level-security mode.
    Postgres(PgPool, bool),
}

/// The database that the builders run on: a sqlx pool of either backend.
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
}

impl TenantDb {
    /// Runs statements on a SQLite pool.
    pub fn sqlite(pool: SqlitePool) -> Self {
        TenantDb {
            pool: Pool::Sqlite(pool),
        }
    }

    /// Runs statements on a PostgreSQL pool.
    pub fn postgres(pool: PgPool) -> Self {
        TenantDb {
            pool: Pool::Postgres(pool, false),
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
    pub fn postgres_with_rls(pool: PgPool) -> Self {
        TenantDb {
            pool: Pool::Postgres(pool, true),
        }
    }

    /// `true` when built with [`TenantDb::postgres_with_rls`].
    pub fn uses_rls(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_, true))
    }

    /// Connects to `url`: `sqlite:...` or `postgres://...` (`postgresql://`).
    /// A SQLite file is created if it does not exist; an in-memory SQLite
    /// database keeps one connection open so it is never lost while the
    /// pool lives. For other pool settings, build the sqlx pool yourself and
    /// use [`TenantDb::sqlite`] / [`TenantDb::postgres`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        if url.starts_with("sqlite:") {
            let options: sqlx::sqlite::SqliteConnectOptions = url
                .parse::<sqlx::sqlite::SqliteConnectOptions>()?
                .create_if_missing(true)
                .foreign_keys(true);
            // No ping before each acquire: it is a worker round trip, and a
            // future dropped during it makes sqlx close the connection, which
            // for an in-memory database would lose the whole database.
            let mut pool = sqlx::sqlite::SqlitePoolOptions::new().test_before_acquire(false);
            if url.contains(":memory:") || url.contains("mode=memory") {
                // An in-memory database lives only while a connection to it
                // is open: keep one open for the pool's whole life.
                pool = pool
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None);
            }
            Ok(Self::sqlite(pool.connect_with(options).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::postgres(PgPool::connect(url).await?))
        } else {
            Err(Error::UnsupportedUrl {
                url: redact_url(url),
            })
        }
    }

    /// The backend behind this handle.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(..) => Backend::Postgres,
        }
    }

    /// The SQLite pool, for migrations and other unscoped administration.
    /// Statements run through it directly are not tenant-checked.
    pub fn as_sqlite(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(pool) => Some(pool),
            Pool::Postgres(..) => None,
        }
    }

    /// The PostgreSQL pool, for migrations and other unscoped administration.
    /// Statements run through it directly are not tenant-checked.
    pub fn as_postgres(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(pool, _) => Some(pool),
            Pool::Sqlite(_) => None,
        }
    }

    /// Opens a transaction for one tenant. Statements run on it must be
    /// scoped to the same tenant (or be on global models); any other is
    /// refused with [`Error::ScopeMismatch`] before reaching the database.
    /// Dropping the transaction without [`commit`](TenantTransaction::commit)
    /// rolls it back.
    pub async fn begin(&self, scope: &TenantScope) -> Result<TenantTransaction, Error> {
        let tx = match &self.pool {
            Pool::Sqlite(pool) => Tx::Sqlite(TxConn::begin(pool, None).await?),
            Pool::Postgres(pool, false) => Tx::Postgres(TxConn::begin(pool, None).await?),
            Pool::Postgres(pool, true) => {
                Tx::Postgres(TxConn::begin(pool, Some(begin_with_tenant(scope.tenant_id()))).await?)
            }
        };
        Ok(TenantTransaction {
            scope: scope.clone(),
            tx,
        })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool, _) => pool.close().await,
        }
    }
}

/// The statement that opens a transaction and sets the tenant in it,
/// transaction-locally: one message, one round trip. Run through
/// [`TxConn::begin`], which closes the connection if the future is dropped
/// before the reply arrives (see [`crate::tx`]).
fn begin_with_tenant(tenant: &TenantId) -> SqlStr {
    // A TenantId is `[a-z0-9][a-z0-9_-]*` (validated on construction), so it
    // cannot break out of the literal. The simple-query protocol, needed for
    // two statements in one message, takes no parameters.
    AssertSqlSafe(format!(
        "BEGIN; SELECT set_config('{}', '{}', true)",
        crate::rls::TENANT_SETTING,
        tenant.as_str()
    ))
    .into_sql_str()
}

/// Strips a password from a URL before it appears in an error.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug)]
enum Tx {
    Sqlite(TxConn<sqlx::Sqlite>),
    Postgres(TxConn<sqlx::Postgres>),
}

impl Tx {
    fn failed(&self) -> bool {
        match self {
            Tx::Sqlite(tx) => tx.failed(),
            Tx::Postgres(tx) => tx.failed(),
        }
    }
}

/// A database transaction that belongs to one tenant, from
/// [`TenantDb::begin`].
///
/// Pass `&mut tx` wherever a builder's terminal takes an executor.
#[derive(Debug)]
pub struct TenantTransaction {
    scope: TenantScope,
    tx: Tx,
}

impl TenantTransaction {
    /// The scope this transaction was opened for.
    pub fn scope(&self) -> &TenantScope {
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
        if self.tx.failed() {
            self.rollback().await?;
            return Err(Error::RolledBack);
        }
        match self.tx {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Rolls back. Dropping the transaction without `commit` rolls it back
    /// too; this waits for the rollback and reports its errors.
    pub async fn rollback(self) -> Result<(), Error> {
        match self.tx {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for &crate::TenantDb {}
    impl Sealed for &mut crate::TenantTransaction {}
}

/// Where a statement runs: `&TenantDb` or `&mut TenantTransaction`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run tenant-scoped statements",
    label = "expected `&TenantDb` or `&mut TenantTransaction`",
    note = "wrap the pool once with `TenantDb::sqlite(pool)` / `TenantDb::postgres(pool)`, or open a transaction with `db.begin(&scope)` and pass `&mut tx`"
)]
pub trait Executor<'c>: Send + sealed::Sealed {
    #[doc(hidden)]
    fn into_target(self) -> Target<'c>;
}

impl<'c> Executor<'c> for &'c TenantDb {
    fn into_target(self) -> Target<'c> {
        match &self.pool {
            Pool::Sqlite(pool) => Target::SqlitePool(pool),
            Pool::Postgres(pool, rls) => Target::PgPool(pool, *rls),
        }
    }
}

impl<'c> Executor<'c> for &'c mut TenantTransaction {
    fn into_target(self) -> Target<'c> {
        let TenantTransaction { scope, tx } = self;
        match tx {
            Tx::Sqlite(tx) => {
                let (conn, failed) = tx.parts();
                Target::SqliteTx(conn, scope.tenant_id(), failed)
            }
            Tx::Postgres(tx) => {
                let (conn, failed) = tx.parts();
                Target::PgTx(conn, scope.tenant_id(), failed)
            }
        }
    }
}

/// A resolved executor.
#[doc(hidden)]
#[derive(Debug)]
pub enum Target<'c> {
    SqlitePool(&'c SqlitePool),
    /// The flag: row-level-security mode.
    PgPool(&'c PgPool, bool),
    /// The flag: set when a statement fails (see [`TenantTransaction::commit`]).
    SqliteTx(&'c mut SqliteConnection, &'c TenantId, &'c mut bool),
    PgTx(&'c mut PgConnection, &'c TenantId, &'c mut bool),
}

/// How a statement must be written for its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// The statement as it is: the tenant predicate binds `$1`.
    Plain,
    /// Row-level-security one-statement form: `$1` goes to `set_config`.
    Rls,
}

impl Target<'_> {
    /// The backend the statement runs on.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Target::SqlitePool(_) | Target::SqliteTx(..) => Backend::Sqlite,
            Target::PgPool(..) | Target::PgTx(..) => Backend::Postgres,
        }
    }

    /// The form a statement scoped to `tenant` takes on this target. Global
    /// statements and statements in a transaction (which set the tenant when
    /// it began) stay plain.
    pub(crate) fn form(&self, tenant: Option<&TenantId>) -> Form {
        match self {
            Target::PgPool(_, true) if tenant.is_some() => Form::Rls,
            _ => Form::Plain,
        }
    }

    /// Refuses a statement for another tenant on a tenant's transaction.
    fn check_scope(&self, statement: Option<&TenantId>) -> Result<(), Error> {
        let transaction = match self {
            Target::SqliteTx(_, t, _) | Target::PgTx(_, t, _) => *t,
            Target::SqlitePool(_) | Target::PgPool(..) => return Ok(()),
        };
        match statement {
            Some(statement) if statement != transaction => Err(Error::ScopeMismatch {
                transaction: Box::new(*transaction),
                statement: Box::new(*statement),
            }),
            _ => Ok(()),
        }
    }
}

/// SQL text: built at compile time, or rendered for a dynamic shape.
#[derive(Debug)]
pub(crate) enum Sql {
    Static(&'static str),
    Owned(String),
    /// From the per-shape cache.
    Shared(std::sync::Arc<str>),
}

impl Sql {
    pub(crate) fn into_cow(self) -> std::borrow::Cow<'static, str> {
        match self {
            Sql::Static(s) => s.into(),
            Sql::Owned(s) => s.into(),
            Sql::Shared(s) => String::from(&*s).into(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Sql::Static(s) => s,
            Sql::Owned(s) => s,
            Sql::Shared(s) => s,
        }
    }
}

impl SqlSafeStr for Sql {
    fn into_sql_str(self) -> SqlStr {
        match self {
            Sql::Static(s) => SqlStr::from_static(s),
            // Rendered only from identifiers validated by the derive and
            // `$n` placeholders; every value is a bound parameter.
            Sql::Owned(s) => AssertSqlSafe(s).into_sql_str(),
            Sql::Shared(s) => AssertSqlSafe(s).into_sql_str(),
        }
    }
}

/// The bound parameters of one statement, in placeholder order.
pub(crate) trait Params: Send {
    fn bind_sqlite(self, args: &mut SqliteArguments) -> Result<(), BoxDynError>;
    fn bind_postgres(self, args: &mut PgArguments) -> Result<(), BoxDynError>;
}

/// A statement ready to run.
pub(crate) struct Statement<P> {
    pub(crate) sql: Sql,
    /// The tenant the statement is scoped to; `None` for global models.
    pub(crate) tenant: Option<TenantId>,
    pub(crate) params: P,
}

pub(crate) fn sqlite_args<P: Params>(params: P) -> Result<SqliteArguments, Error> {
    let mut args = SqliteArguments::default();
    params.bind_sqlite(&mut args).map_err(sqlx::Error::Encode)?;
    Ok(args)
}

pub(crate) fn postgres_args<P: Params>(params: P) -> Result<PgArguments, Error> {
    let mut args = PgArguments::default();
    params
        .bind_postgres(&mut args)
        .map_err(sqlx::Error::Encode)?;
    Ok(args)
}

/// Decodes a model from a row of one backend.
pub(crate) trait RowDecoder: sqlx::Database {
    fn decode<M: crate::Model>(row: Self::Row) -> Result<M, sqlx::Error>;
}

impl RowDecoder for sqlx::Sqlite {
    fn decode<M: crate::Model>(row: Self::Row) -> Result<M, sqlx::Error> {
        M::decode_sqlite(&row, crate::model::DecodeToken::new())
    }
}

impl RowDecoder for sqlx::Postgres {
    fn decode<M: crate::Model>(row: Self::Row) -> Result<M, sqlx::Error> {
        M::decode_postgres(&row, crate::model::DecodeToken::new())
    }
}

/// Marks a transaction failed when `result` is a database error (see
/// [`TenantTransaction::commit`]), and passes `result` on.
fn note_failure<T>(result: Result<T, Error>, failed: &mut bool) -> Result<T, Error> {
    if matches!(result, Err(Error::Database(_))) {
        *failed = true;
    }
    result
}

/// Runs `$body` once per kind of target, with `$exec` the sqlx executor,
/// `$args` the bound arguments and `$db` the sqlx database type.
macro_rules! on_target {
    ($target:expr, $stmt:expr, |$sql:ident, $exec:ident, $args:ident, $db:ident| $body:expr) => {{
        let stmt = $stmt;
        let target = $target;
        target.check_scope(stmt.tenant.as_ref())?;
        let $sql = stmt.sql;
        match target {
            Target::SqlitePool($exec) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                let $args = sqlite_args(stmt.params)?;
                $body
            }
            Target::SqliteTx($exec, _, failed) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                let $exec = &mut *$exec;
                let $args = sqlite_args(stmt.params)?;
                note_failure(async { Ok($body) }.await, failed)?
            }
            Target::PgPool($exec, _) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                let $args = postgres_args(stmt.params)?;
                $body
            }
            Target::PgTx($exec, _, failed) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                let $exec = &mut *$exec;
                let $args = postgres_args(stmt.params)?;
                note_failure(async { Ok($body) }.await, failed)?
            }
        }
    }};
}

pub(crate) async fn fetch_all<M: crate::Model, P: Params>(
    target: Target<'_>,
    stmt: Statement<P>,
) -> Result<Vec<M>, Error> {
    Ok(on_target!(target, stmt, |sql, exec, args, Db| {
        sqlx::query_with(sql, args)
            .try_map(<Db as RowDecoder>::decode::<M>)
            .fetch_all(exec)
            .await?
    }))
}

pub(crate) async fn fetch_optional<M: crate::Model, P: Params>(
    target: Target<'_>,
    stmt: Statement<P>,
) -> Result<Option<M>, Error> {
    Ok(on_target!(target, stmt, |sql, exec, args, Db| {
        sqlx::query_with(sql, args)
            .try_map(<Db as RowDecoder>::decode::<M>)
            .fetch_optional(exec)
            .await?
    }))
}

pub(crate) async fn fetch_scalar<P: Params>(
    target: Target<'_>,
    stmt: Statement<P>,
) -> Result<i64, Error> {
    Ok(on_target!(target, stmt, |sql, exec, args, Db| {
        sqlx::query_scalar_with::<Db, i64, _>(sql, args)
            .fetch_one(exec)
            .await?
    }))
}

/// Runs an UPDATE or DELETE. In row-level-security mode a scoped one runs in
/// a transaction that sets the tenant first: the one-statement form cannot
/// order a write's table scan after `set_config` (the planner may scan the
/// table before the subquery that sets the tenant).
pub(crate) async fn execute_write<P: Params>(
    target: Target<'_>,
    stmt: Statement<P>,
) -> Result<u64, Error> {
    if let (Target::PgPool(pool, true), Some(tenant)) = (&target, stmt.tenant) {
        let args = postgres_args(stmt.params)?;
        let mut tx = TxConn::begin(pool, Some(begin_with_tenant(&tenant))).await?;
        let affected = sqlx::query_with(stmt.sql, args)
            .execute(tx.connection())
            .await?
            .rows_affected();
        tx.commit().await?;
        return Ok(affected);
    }
    execute(target, stmt).await
}

pub(crate) async fn execute<P: Params>(
    target: Target<'_>,
    stmt: Statement<P>,
) -> Result<u64, Error> {
    Ok(on_target!(target, stmt, |sql, exec, args, Db| {
        sqlx::query_with::<Db, _>(sql, args)
            .execute(exec)
            .await?
            .rows_affected()
    }))
}
