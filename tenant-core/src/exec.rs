//! The executor: runs a [`Statement`] on a pool or a tenant's transaction of
//! any backend. Each operation is written once, generic over
//! [`Driver`]; [`dispatch!`] picks the backend.

use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};
use tracing::Instrument;

use crate::backend::{Backend, Driver};
use crate::error::Error;
use crate::model::{DecodeToken, Model};
use crate::params::{Params, Statement, arguments};
use crate::tenant::TenantValue;
use crate::trace::Trace;
use crate::tx::TxConn;

/// Where a statement runs, on backend `DB`.
#[doc(hidden)]
#[derive(Debug)]
pub enum On<'c, DB: Driver> {
    /// A pool; `rls`: row-level-security mode.
    Pool { pool: &'c sqlx::Pool<DB>, rls: bool },
    /// A tenant's transaction; `failed` is set when a statement fails (see
    /// [`TenantTransaction::commit`](crate::TenantTransaction::commit)).
    Tx {
        conn: &'c mut DB::Connection,
        tenant: &'c TenantValue,
        failed: &'c mut bool,
    },
}

/// A resolved executor: [`On`] for the backend it runs on.
#[doc(hidden)]
#[derive(Debug)]
pub enum Target<'c> {
    #[cfg(feature = "sqlite")]
    Sqlite(On<'c, sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(On<'c, sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(On<'c, sqlx::MySql>),
}

/// Runs `$body` with `$on` bound to the [`On`] of `$target`'s backend: the
/// one place that lists the backends for a statement.
macro_rules! dispatch {
    ($target:expr, $on:ident => $body:expr) => {
        match $target {
            #[cfg(feature = "sqlite")]
            $crate::exec::Target::Sqlite($on) => $body,
            #[cfg(feature = "postgres")]
            $crate::exec::Target::Postgres($on) => $body,
            #[cfg(feature = "mysql")]
            $crate::exec::Target::MySql($on) => $body,
        }
    };
}
pub(crate) use dispatch;

/// How a statement must be written for its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// The statement as it is: the tenant predicate binds the first
    /// placeholder.
    Plain,
    /// Row-level-security one-statement form: `$1` goes to `set_config`.
    Rls,
}

impl<DB: Driver> On<'_, DB> {
    fn form(&self, tenant: Option<&TenantValue>) -> Form {
        match self {
            On::Pool { rls: true, .. } if tenant.is_some() => Form::Rls,
            _ => Form::Plain,
        }
    }

    /// Refuses a statement for another tenant on a tenant's transaction.
    fn check_scope(&self, statement: Option<&TenantValue>) -> Result<(), Error> {
        match (self, statement) {
            (On::Tx { tenant, .. }, Some(statement)) if statement != *tenant => {
                Err(Error::ScopeMismatch {
                    transaction: tenant.to_string(),
                    statement: statement.to_string(),
                })
            }
            _ => Ok(()),
        }
    }
}

impl<DB: Driver> On<'_, DB> {
    /// The same target for one more statement.
    pub(crate) fn reborrow(&mut self) -> On<'_, DB> {
        match self {
            On::Pool { pool, rls } => On::Pool { pool, rls: *rls },
            On::Tx {
                conn,
                tenant,
                failed,
            } => On::Tx {
                conn: &mut **conn,
                tenant,
                failed,
            },
        }
    }
}

impl Target<'_> {
    /// The same target for one more statement (an operation that runs
    /// several).
    pub(crate) fn reborrow(&mut self) -> Target<'_> {
        match self {
            #[cfg(feature = "sqlite")]
            Target::Sqlite(on) => Target::Sqlite(on.reborrow()),
            #[cfg(feature = "postgres")]
            Target::Postgres(on) => Target::Postgres(on.reborrow()),
            #[cfg(feature = "mysql")]
            Target::MySql(on) => Target::MySql(on.reborrow()),
        }
    }

    /// The backend the statement runs on.
    pub(crate) fn backend(&self) -> Backend {
        fn of<DB: Driver>(_: &On<'_, DB>) -> Backend {
            DB::BACKEND
        }
        dispatch!(self, on => of(on))
    }

    /// The form a statement scoped to `tenant` takes on this target. Global
    /// statements and statements in a transaction (which set the tenant when
    /// it began) stay plain.
    pub(crate) fn form(&self, tenant: Option<&TenantValue>) -> Form {
        dispatch!(self, on => on.form(tenant))
    }
}

/// Runs `stmt` on `on`; inside a transaction, a database error marks the
/// transaction failed, and a failed transaction runs nothing more.
///
/// That last rule is what makes a failed transaction all-or-nothing on every
/// backend: PostgreSQL refuses every later statement by itself, but MySQL
/// ends the whole transaction on a deadlock or lock-wait timeout and runs
/// the next statements in autocommit — an insert after the failure would be
/// stored at once while `commit` reports [`Error::RolledBack`]. `$body`
/// gets the sqlx executor and the arguments; it runs in the statement's
/// span (see [`crate::trace`]), which records `$rows` of its result.
macro_rules! on_executor {
    ($on:expr, $stmt:expr, |$sql:ident, $exec:ident, $args:ident| $body:expr, rows = $rows:expr) => {{
        let stmt = $stmt;
        $on.check_scope(stmt.tenant.as_ref())?;
        if let On::Tx { failed: true, .. } = &$on {
            return Err(Error::RolledBack);
        }
        let $sql = stmt.sql;
        let $args = arguments::<DB, _>(stmt.params)?;
        let trace = Trace::start(stmt.label, stmt.tenant.as_ref());
        let result = match $on {
            On::Pool { pool, .. } => {
                let $exec = DB::on_pool(pool);
                async { $body }
                    .instrument(trace.span())
                    .await
                    .map_err(Error::from)
            }
            On::Tx { conn, failed, .. } => {
                let $exec = DB::on_connection(conn);
                let result = async { $body }
                    .instrument(trace.span())
                    .await
                    .map_err(Error::from);
                if matches!(result, Err(Error::Database(_))) {
                    *failed = true;
                }
                result
            }
        };
        trace.finish(&result, $rows);
        result
    }};
}

/// Every row, as models `M`.
pub(crate) async fn fetch_all<DB: Driver, M: Model, P: Params>(
    on: On<'_, DB>,
    stmt: Statement<P>,
) -> Result<Vec<M>, Error> {
    fetch_all_as(on, stmt, |row| M::decode::<DB>(row, 0, DecodeToken::new())).await
}

/// Every row, read by `decode` (a join's tuple).
pub(crate) async fn fetch_all_as<DB: Driver, R: Send + Unpin, P: Params>(
    on: On<'_, DB>,
    stmt: Statement<P>,
    decode: impl Fn(&DB::Row) -> Result<R, sqlx::Error> + Send + Sync,
) -> Result<Vec<R>, Error> {
    on_executor!(
        on,
        stmt,
        |sql, exec, args| {
            sqlx::query_with::<DB, _>(sql, args)
                .try_map(move |row: DB::Row| decode(&row))
                .fetch_all(exec)
                .await
        },
        rows = |rows| rows.len() as u64
    )
}

/// The first row, as a model `M`.
pub(crate) async fn fetch_optional<DB: Driver, M: Model, P: Params>(
    on: On<'_, DB>,
    stmt: Statement<P>,
) -> Result<Option<M>, Error> {
    on_executor!(
        on,
        stmt,
        |sql, exec, args| {
            sqlx::query_with::<DB, _>(sql, args)
                .try_map(|row: DB::Row| M::decode::<DB>(&row, 0, DecodeToken::new()))
                .fetch_optional(exec)
                .await
        },
        rows = |row| u64::from(row.is_some())
    )
}

/// One `i64` (a count).
pub(crate) async fn fetch_scalar<DB: Driver, P: Params>(
    on: On<'_, DB>,
    stmt: Statement<P>,
) -> Result<i64, Error> {
    on_executor!(
        on,
        stmt,
        |sql, exec, args| {
            sqlx::query_with::<DB, _>(sql, args)
                .try_map(|row: DB::Row| DB::get::<i64>(&row, 0))
                .fetch_one(exec)
                .await
        },
        rows = |_| 1
    )
}

/// The number of rows a statement changed.
pub(crate) async fn execute<DB: Driver, P: Params>(
    on: On<'_, DB>,
    stmt: Statement<P>,
) -> Result<u64, Error> {
    on_executor!(
        on,
        stmt,
        |sql, exec, args| {
            sqlx::query_with::<DB, _>(sql, args)
                .execute(exec)
                .await
                .map(|done| DB::rows_affected(&done))
        },
        rows = |rows| *rows
    )
}

/// The row-level-security rule of writes: on a row-level-security pool, a
/// scoped statement runs in a transaction that sets the tenant first
/// (`$run`, given `$sql`, `$args` and the connection as `$conn`, yields the
/// result); the one-statement form cannot order a write's table scan after
/// `set_config` (the planner may scan the table before the subquery that
/// sets the tenant). Elsewhere the statement runs as `$plain`.
macro_rules! write_in_tenant_tx {
    ($on:ident, $stmt:ident, |$sql:ident, $args:ident, $conn:ident| $run:expr, rows = $rows:expr, else $plain:expr) => {{
        if let (On::Pool { pool, rls: true }, Some(tenant)) = (&$on, $stmt.tenant) {
            let $args = arguments::<DB, _>($stmt.params)?;
            let $sql = $stmt.sql;
            let mut tx = TxConn::begin(pool, Some(begin_with_tenant(&tenant))).await?;
            let trace = Trace::start($stmt.label, Some(&tenant));
            let out = {
                let $conn = DB::on_connection(tx.connection());
                async { $run }
                    .instrument(trace.span())
                    .await
                    .map_err(Error::from)
            };
            trace.finish(&out, $rows);
            let out = out?;
            tx.commit().await?;
            return Ok(out);
        }
        $plain
    }};
}

/// Runs `$body` with `$unit` bound to an [`On::Tx`] for `$tenant`, so that
/// the statements it runs are one unit: on a caller's transaction, in it
/// (scope-checked, a failure marks it failed); on a pool, in a transaction
/// the framework opens (with the tenant set first in row-level-security
/// mode), committed after `$body` succeeded and rolled back after it
/// failed, and left to [`TxConn`]'s drop rules if the future is dropped.
/// `$body` is an expression of type `Result<T, Error>` (an `async` block's
/// result), so an early `?` inside it never skips the rollback.
macro_rules! in_one_transaction {
    ($on:expr, $tenant:expr, |$unit:ident| $body:expr) => {{
        let tenant: $crate::tenant::TenantValue = $tenant;
        match $on {
            $crate::exec::On::Tx {
                conn,
                tenant: tx_tenant,
                failed,
            } => {
                #[allow(unused_mut)]
                let mut $unit = $crate::exec::On::Tx {
                    conn,
                    tenant: tx_tenant,
                    failed,
                };
                $body
            }
            $crate::exec::On::Pool { pool, rls } => {
                let begin = $crate::exec::unit_begin::<DB>(rls, &tenant);
                let mut tx = $crate::tx::TxConn::begin(pool, begin).await?;
                let mut failed = false;
                let result = {
                    #[allow(unused_mut)]
                    let mut $unit = $crate::exec::On::Tx {
                        conn: tx.connection(),
                        tenant: &tenant,
                        failed: &mut failed,
                    };
                    $body
                };
                $crate::bulk::finish(tx, result).await
            }
        }
    }};
}
pub(crate) use in_one_transaction;

/// The statement that opens [`in_one_transaction!`]'s transaction on a
/// pool: the tenant set first in row-level-security mode; on SQLite
/// `BEGIN IMMEDIATE`, which takes the write lock before the unit's first
/// read, so a unit that reads (a lookup) and then writes waits for other
/// writers instead of failing as busy when one committed in between.
pub(crate) fn unit_begin<DB: Driver>(rls: bool, tenant: &TenantValue) -> Option<SqlStr> {
    if rls {
        Some(begin_with_tenant(tenant))
    } else if DB::BACKEND == Backend::Sqlite {
        Some(SqlStr::from_static("BEGIN IMMEDIATE"))
    } else {
        None
    }
}

/// Runs an UPDATE or DELETE; returns the rows it changed (see
/// `write_in_tenant_tx!` for row-level-security mode).
pub(crate) async fn execute_write<DB: Driver, P: Params>(
    on: On<'_, DB>,
    stmt: Statement<P>,
) -> Result<u64, Error> {
    write_in_tenant_tx!(on, stmt, |sql, args, conn| {
        sqlx::query_with::<DB, _>(sql, args)
            .execute(conn)
            .await
            .map(|done| DB::rows_affected(&done))
    }, rows = |rows| *rows, else execute(on, stmt).await)
}

/// Runs an UPDATE or DELETE with `RETURNING` and reads the rows it
/// changed, as [`execute_write`].
pub(crate) async fn fetch_all_write<DB: Driver, M: Model, P: Params>(
    on: On<'_, DB>,
    stmt: Statement<P>,
) -> Result<Vec<M>, Error> {
    write_in_tenant_tx!(on, stmt, |sql, args, conn| {
        sqlx::query_with::<DB, _>(sql, args)
            .try_map(|row: DB::Row| M::decode::<DB>(&row, 0, DecodeToken::new()))
            .fetch_all(conn)
            .await
    }, rows = |rows| rows.len() as u64, else fetch_all(on, stmt).await)
}

/// The statement that opens a transaction and sets the tenant in it,
/// transaction-locally: one message, one round trip (PostgreSQL's
/// row-level-security mode). Run through [`TxConn::begin`], which closes the
/// connection if the future is dropped before the reply arrives (see
/// [`crate::tx`]).
pub(crate) fn begin_with_tenant(tenant: &TenantValue) -> SqlStr {
    // A key's text is a TenantId (`[a-z0-9][a-z0-9_-]*`, validated on
    // construction), a decimal integer or a hyphenated UUID, so it cannot
    // break out of the literal. The simple-query protocol, needed for two
    // statements in one message, takes no parameters.
    AssertSqlSafe(format!(
        "BEGIN; SELECT set_config('{}', '{}', true)",
        crate::rls::TENANT_SETTING,
        tenant
    ))
    .into_sql_str()
}

/// The rows of `stmt` as a stream of models `M`, read as the consumer
/// polls (see [`Select::fetch`](crate::Select::fetch)).
///
/// On a pool the statement runs on a connection the stream holds until it
/// ends or is dropped. In row-level-security mode it is the one-statement
/// form: `set_config(.., true)` is local to the statement's own implicit
/// transaction, which ends when the statement does, so a stream needs no
/// explicit transaction. A stream dropped halfway returns its connection
/// with unread rows; the pool's release ping reads them off before anyone
/// else can acquire it, leaving no transaction and no setting. In a
/// tenant's transaction the stream borrows it: the transaction cannot be
/// committed while the stream lives, and a database error marks it failed.
pub(crate) fn fetch_stream<'c, DB: Driver, M: Model, P: Params>(
    on: On<'c, DB>,
    stmt: Statement<P>,
) -> futures_core::stream::BoxStream<'c, Result<M, Error>> {
    let refusal = on
        .check_scope(stmt.tenant.as_ref())
        .err()
        .or_else(|| matches!(on, On::Tx { failed: true, .. }).then_some(Error::RolledBack));
    let args = match refusal {
        Some(err) => Err(err),
        None => arguments::<DB, _>(stmt.params).map_err(Error::from),
    };
    let args = match args {
        Ok(args) => args,
        Err(err) => return refused(err),
    };
    let trace = Trace::start(stmt.label, stmt.tenant.as_ref());
    let query = sqlx::query_with::<DB, _>(stmt.sql, args)
        .try_map(|row: DB::Row| M::decode::<DB>(&row, 0, DecodeToken::new()));
    let (rows, failed) = match on {
        On::Pool { pool, .. } => (query.fetch(DB::on_pool(pool)), None),
        On::Tx { conn, failed, .. } => (query.fetch(DB::on_connection(conn)), Some(failed)),
    };
    Box::pin(Traced {
        rows,
        trace,
        read: 0,
        failed,
    })
}

/// A stream of one error: a statement refused before it was sent.
pub(crate) fn refused<'c, T: 'c>(
    err: Error,
) -> futures_core::stream::BoxStream<'c, Result<T, Error>> {
    Box::pin(Refused(Some(err), std::marker::PhantomData))
}

/// The stream of [`refused`].
struct Refused<T>(Option<Error>, std::marker::PhantomData<fn() -> T>);

impl<T> futures_core::Stream for Refused<T> {
    type Item = Result<T, Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.get_mut().0.take().map(Err))
    }
}

/// sqlx's row stream, polled in the statement's span, counting rows; a
/// database error marks the caller's transaction failed.
struct Traced<'c, M> {
    rows: futures_core::stream::BoxStream<'c, Result<M, sqlx::Error>>,
    trace: Trace,
    read: u64,
    failed: Option<&'c mut bool>,
}

impl<M> futures_core::Stream for Traced<'_, M> {
    type Item = Result<M, Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = {
            let _entered = this.trace.enter();
            this.rows.as_mut().poll_next(cx)
        };
        let std::task::Poll::Ready(next) = polled else {
            return std::task::Poll::Pending;
        };
        std::task::Poll::Ready(next.map(|row| {
            let row = row.map_err(Error::from);
            match &row {
                Ok(_) => this.read += 1,
                Err(err) => {
                    this.trace.record_failed();
                    if let (Error::Database(_), Some(failed)) = (err, this.failed.as_deref_mut()) {
                        *failed = true;
                    }
                }
            }
            row
        }))
    }
}

impl<M> Drop for Traced<'_, M> {
    fn drop(&mut self) {
        // Ended or dropped halfway: the span closes with what was read.
        self.trace.record_rows(self.read);
        self.trace.record_elapsed();
    }
}
