//! Bulk writes: [`InsertMany`] (many rows, chunked, all or nothing) and
//! [`Upsert`] (insert or update one row on a conflict that always includes
//! the tenant column). See `docs/bulk-writes.md`.
//!
//! Both build their SQL from the model's facts for the backend they run on
//! and bind the tenant from the scope, never from a row. Statements that
//! must run together (the chunks of one insert, a write in row-level-security
//! mode) run in one framework-opened transaction ([`TxConn`]), so a dropped
//! future or an error leaves nothing behind on a pooled connection.

mod insert_many;
mod upsert;

pub use insert_many::InsertMany;
pub use upsert::{
    ColumnOf, ConflictTarget, NeedsAction, NeedsTarget, Ready, UnfinishedUpsert, UpdatableColumnOf,
    Upsert, UpsertColumns,
};

use sqlx::Arguments as _;
use sqlx::error::BoxDynError;

use crate::backend::{Backend, Driver};
use crate::error::Error;
use crate::exec::{self, On};
use crate::model::{DecodeToken, Model, NewRow};
use crate::params::{Params, Statement, arguments};
use crate::tenant::TenantValue;
use crate::trace::Trace;
use crate::tx::TxConn;
use tracing::Instrument;

/// The most bound parameters one statement may carry on `backend`.
///
/// - SQLite: `SQLITE_MAX_VARIABLE_NUMBER`, 32 766 since SQLite 3.32 (the
///   bundled SQLite of `libsqlite3-sys`, which sqlx uses, keeps the
///   default).
/// - PostgreSQL: 65 535 (the wire protocol counts parameters in 16 bits).
/// - MySQL/MariaDB: 65 535 placeholders per prepared statement.
pub(crate) const fn max_params(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 32_766,
        Backend::Postgres | Backend::MySql => 65_535,
    }
}

/// Several rows of a `New<Model>`, with the tenant (if any): bound once as
/// `$1` where placeholders are numbered (every row's tenant column reads
/// `$1`), or before each row with positional `?` placeholders (MySQL).
pub(crate) struct RowsParams<N> {
    pub(crate) tenant: Option<TenantValue>,
    pub(crate) tenant_per_row: bool,
    pub(crate) rows: Vec<N>,
}

impl<N: NewRow> Params for RowsParams<N> {
    fn bind<DB: Driver>(self, args: &mut DB::Arguments) -> Result<(), BoxDynError> {
        let per_row = N::LEN + usize::from(self.tenant_per_row);
        args.reserve(self.rows.len() * per_row + 1, 0);
        let tenant = self.tenant;
        if !self.tenant_per_row
            && let Some(tenant) = tenant
        {
            tenant.bind::<DB>(args)?;
        }
        for row in self.rows {
            if self.tenant_per_row
                && let Some(tenant) = tenant
            {
                tenant.bind::<DB>(args)?;
            }
            row.bind::<DB>(args)?;
        }
        Ok(())
    }
}

/// What a statement returns to its builder: a count or the stored rows.
#[derive(Debug)]
pub(crate) enum Output<M> {
    Count(u64),
    Rows(Vec<M>),
}

impl<M> Output<M> {
    /// The rows returned (none for a count).
    pub(crate) fn into_rows(self) -> Vec<M> {
        match self {
            Output::Rows(rows) => rows,
            Output::Count(_) => Vec::new(),
        }
    }

    /// The number of rows written.
    pub(crate) fn count(&self) -> u64 {
        match self {
            Output::Count(n) => *n,
            Output::Rows(rows) => rows.len() as u64,
        }
    }
}

/// Runs one statement on a connection of the framework's own transaction
/// (no scope check needed: the builder made the statement from its own
/// scope) and adds what it returns to `out`, in the statement's span (see
/// [`crate::trace`]).
pub(crate) async fn run_on_connection<DB: Driver, M: Model, P: Params>(
    conn: &mut DB::Connection,
    stmt: Statement<P>,
    out: &mut Output<M>,
) -> Result<(), Error> {
    let args = arguments::<DB, _>(stmt.params)?;
    let query = sqlx::query_with::<DB, _>(stmt.sql, args);
    let trace = Trace::start(stmt.label, stmt.tenant.as_ref());
    let result = async {
        Ok(match out {
            Output::Count(n) => {
                let done = query.execute(DB::on_connection(conn)).await?;
                *n += DB::rows_affected(&done);
                DB::rows_affected(&done)
            }
            Output::Rows(rows) => {
                let mut fetched = query
                    .try_map(|row: DB::Row| M::decode::<DB>(&row, 0, DecodeToken::new()))
                    .fetch_all(DB::on_connection(conn))
                    .await?;
                let n = fetched.len() as u64;
                rows.append(&mut fetched);
                n
            }
        })
    }
    .instrument(trace.span())
    .await;
    trace.finish(&result, |rows| *rows);
    result.map(drop)
}

/// Ends a framework-opened transaction: commits after `result` succeeded,
/// rolls back (and returns the statement's error) after it failed. A
/// transaction dropped before this (a cancelled future) is ended by
/// [`TxConn`]'s drop rules.
pub(crate) async fn finish<DB: Driver, T>(
    tx: TxConn<DB>,
    result: Result<T, Error>,
) -> Result<T, Error> {
    match result {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(err) => {
            // The statement's error is the one to report; a rollback that
            // fails too leaves the connection to TxConn's drop rules.
            let _ = tx.rollback().await;
            Err(err)
        }
    }
}

/// Runs one statement on `on` through the executor (scope check, failure
/// marking in a caller's transaction) and adds its result to `out`.
pub(crate) async fn add<DB: Driver, M: Model, P: Params>(
    out: &mut Output<M>,
    on: On<'_, DB>,
    stmt: Statement<P>,
) -> Result<(), Error> {
    match out {
        Output::Count(n) => *n += exec::execute(on, stmt).await?,
        Output::Rows(rows) => rows.append(&mut exec::fetch_all::<DB, M, P>(on, stmt).await?),
    }
    Ok(())
}
