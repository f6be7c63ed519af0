//! `INSERT` of many rows: one multi-row statement per chunk, every chunk in
//! one transaction.

use std::fmt::Write as _;
use std::sync::Arc;

use super::{Output, RowsParams, add, finish, max_params, run_on_connection};
use crate::backend::{Backend, Driver};
use crate::db::Executor;
use crate::error::Error;
use crate::exec::{On, begin_with_tenant, dispatch, unit_begin};
use crate::model::{GlobalModel, Model, NewRow, TenantOwned};
use crate::params::{Sql, Statement};
use crate::reference::Checks;
use crate::sql::{push_column, quoted};
use crate::tenant::{TenantScope, TenantValue};
use crate::tx::TxConn;

/// `INSERT` of many rows, from `M::insert_many(&scope, rows)`.
///
/// Every row's tenant column is bound from the scope; a `New<Model>` has no
/// tenant field to get it from. The rows are sent as multi-row
/// `INSERT … VALUES (…), (…), …` statements, split into chunks that stay
/// under the backend's limit of bound parameters (SQLite 32 766, PostgreSQL
/// and MySQL 65 535; see [`rows_per_statement`](InsertMany::rows_per_statement)).
///
/// **All or nothing.** When the rows need more than one statement, every
/// statement runs in one transaction: on `&TenantDb` the builder opens it
/// (and commits after the last chunk); on `&mut TenantTransaction` the
/// chunks run inside that transaction, which a failed chunk marks failed
/// (its `commit` then rolls back and returns
/// [`Error::RolledBack`]). A future dropped part way (a timeout, a client
/// that went away) leaves no transaction open on a pooled connection and
/// nothing of the batch stored. One chunk is one statement, atomic by
/// itself, and runs without a transaction (except in row-level-security
/// mode, where the transaction sets the tenant first).
///
/// An empty batch sends nothing: `execute` returns `Ok(0)`, `fetch_all`
/// `Ok(vec![])`.
///
/// ```
/// use tenant_core::prelude::*;
///
/// #[derive(Debug, TenantModel)]
/// #[tenant(table = "invoices")]
/// struct Invoice {
///     #[tenant(primary_key)]
///     id: i64,
///     #[tenant(tenant_id)]
///     tenant_id: TenantId,
///     amount_cents: i64,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tenant_core::Error> {
/// # let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// # sqlx::query("CREATE TABLE invoices (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, amount_cents INTEGER NOT NULL)")
/// #     .execute(&pool).await?;
/// # let db = TenantDb::sqlite(pool);
/// let acme = TenantScope::new(TenantId::parse("acme")?);
/// let rows = (1..=3).map(|n| NewInvoice { amount_cents: n * 100 });
/// let stored: Vec<Invoice> = Invoice::insert_many(&acme, rows).fetch_all(&db).await?;
/// assert_eq!(stored.len(), 3);
/// assert!(stored.iter().all(|i| i.tenant_id.as_str() == "acme"));
///
/// let none: Vec<NewInvoice> = Vec::new();
/// assert_eq!(Invoice::insert_many(&acme, none).execute(&db).await?, 0);
/// # Ok(()) }
/// ```
#[must_use = "an insert does nothing until `execute` or `fetch_all` runs it"]
pub struct InsertMany<M: Model> {
    tenant: Option<TenantValue>,
    rows: Vec<M::New>,
    /// At most this many rows per statement (capped by the backend's limit).
    max_rows: Option<usize>,
}

impl<M: Model> std::fmt::Debug for InsertMany<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InsertMany")
            .field("table", &M::TABLE)
            .field("tenant", &self.tenant)
            .field("rows", &self.rows.len())
            .field("max_rows", &self.max_rows)
            .finish()
    }
}

impl<M: Model> InsertMany<M> {
    #[doc(hidden)]
    pub fn scoped(scope: &TenantScope<M::TenantKey>, rows: impl IntoIterator<Item = M::New>) -> Self
    where
        M: TenantOwned,
    {
        InsertMany {
            tenant: Some(scope.value()),
            rows: rows.into_iter().collect(),
            max_rows: None,
        }
    }

    #[doc(hidden)]
    pub fn global(rows: impl IntoIterator<Item = M::New>) -> Self
    where
        M: GlobalModel,
    {
        InsertMany {
            tenant: None,
            rows: rows.into_iter().collect(),
            max_rows: None,
        }
    }

    /// The number of rows to insert.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let rows = [("open", 10), ("open", 20), ("paid", 30)].map(|(status, amount_cents)| NewInvoice {
    ///     customer_id: 2,
    ///     status: status.into(),
    ///     amount_cents,
    ///     note: None,
    /// });
    /// let insert = Invoice::insert_many(&acme, rows);
    /// assert_eq!(insert.len(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// `true` when there is no row to insert (nothing will be sent).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let insert = Invoice::insert_many(&acme, Vec::new());
    /// assert!(insert.is_empty());
    /// assert_eq!(insert.execute(&db).await?, 0); // nothing is sent
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Sends at most `rows` rows per statement (at least one; never more
    /// than the backend's parameter limit allows). Smaller statements cost
    /// more round trips; they can keep a statement under a server's packet
    /// size (MySQL's `max_allowed_packet`) when rows are large. The batch is
    /// still all or nothing.
    ///
    /// ```
    /// # use tenant_core::prelude::*;
    /// # use tenant_core::Backend;
    /// # #[derive(TenantModel)]
    /// # #[tenant(table = "invoices")]
    /// # struct Invoice { #[tenant(primary_key)] id: i64, #[tenant(tenant_id)] tenant_id: TenantId, amount_cents: i64 }
    /// let acme = TenantScope::new(TenantId::parse("acme").unwrap());
    /// let rows = (0..10).map(|n| NewInvoice { amount_cents: n });
    /// let insert = Invoice::insert_many(&acme, rows).rows_per_statement(4);
    /// assert_eq!(insert.statements_for(Backend::Sqlite), 3); // 4 + 4 + 2
    /// ```
    pub fn rows_per_statement(mut self, rows: usize) -> Self {
        self.max_rows = Some(rows.max(1));
        self
    }

    /// How many rows each statement carries on `backend`.
    fn chunk_rows(&self, backend: Backend) -> usize {
        let has_tenant = self.tenant.is_some() && M::TENANT_COLUMN.is_some();
        let limit = if insert_columns::<M>().is_empty() && !has_tenant {
            // No column to list: one `DEFAULT VALUES` row per statement.
            1
        } else {
            let numbered = !positional(backend);
            let shared = usize::from(numbered && has_tenant);
            let per_row = M::New::LEN + usize::from(!numbered && has_tenant);
            ((max_params(backend) - shared) / per_row.max(1)).max(1)
        };
        self.max_rows.map_or(limit, |max| max.min(limit))
    }

    /// The number of statements the rows take on `backend` (0 for no rows).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::Backend;
    ///
    /// let rows = (0..5).map(|n| NewInvoice {
    ///     customer_id: 1,
    ///     status: "open".into(),
    ///     amount_cents: n,
    ///     note: None,
    /// });
    /// let insert = Invoice::insert_many(&acme, rows).rows_per_statement(2);
    /// assert_eq!(insert.statements_for(Backend::Postgres), 3); // 2 + 2 + 1
    /// # Ok(())
    /// # }
    /// ```
    pub fn statements_for(&self, backend: Backend) -> usize {
        self.rows.len().div_ceil(self.chunk_rows(backend))
    }

    /// The SQL of a statement of `rows` rows on `backend`, as
    /// [`execute`](InsertMany::execute) (`returning` false) or
    /// [`fetch_all`](InsertMany::fetch_all) (`returning` true) sends it.
    ///
    /// ```
    /// # use tenant_core::prelude::*;
    /// # use tenant_core::Backend;
    /// # #[derive(TenantModel)]
    /// # #[tenant(table = "invoices")]
    /// # struct Invoice { #[tenant(primary_key)] id: i64, #[tenant(tenant_id)] tenant_id: TenantId, amount_cents: i64 }
    /// let acme = TenantScope::new(TenantId::parse("acme").unwrap());
    /// let insert = Invoice::insert_many(&acme, Vec::new());
    /// assert_eq!(
    ///     insert.to_sql_for(Backend::Postgres, 2, false),
    ///     r#"INSERT INTO "invoices" ("tenant_id", "amount_cents") VALUES ($1, $2), ($1, $3)"#
    /// );
    /// assert_eq!(
    ///     insert.to_sql_for(Backend::MySql, 2, false),
    ///     "INSERT INTO `invoices` (`tenant_id`, `amount_cents`) VALUES (?, ?), (?, ?)"
    /// );
    /// ```
    pub fn to_sql_for(&self, backend: Backend, rows: usize, returning: bool) -> String {
        render::<M>(
            backend,
            positional(backend),
            self.tenant.is_some(),
            rows,
            returning,
        )
    }

    /// Inserts every row; returns the number of rows inserted.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let rows = [("open", 10), ("open", 20), ("paid", 30)].map(|(status, amount_cents)| NewInvoice {
    ///     customer_id: 2,
    ///     status: status.into(),
    ///     amount_cents,
    ///     note: None,
    /// });
    /// assert_eq!(Invoice::insert_many(&acme, rows).execute(&db).await?, 3);
    /// assert_eq!(Invoice::query(&acme).count(&db).await?, 6);
    ///
    /// // All or nothing: one row pointing at another tenant's customer, and
    /// // none of the batch is stored.
    /// let mixed = [1, 3].map(|customer_id| NewInvoice {
    ///     customer_id,
    ///     status: "open".into(),
    ///     amount_cents: 1,
    ///     note: None,
    /// });
    /// assert!(Invoice::insert_many(&acme, mixed).execute(&db).await.is_err());
    /// assert_eq!(Invoice::query(&acme).count(&db).await?, 6);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn execute<'c>(self, executor: impl Executor<'c>) -> Result<u64, Error> {
        match self.run(executor, false).await? {
            Output::Count(n) => Ok(n),
            Output::Rows(rows) => Ok(rows.len() as u64),
        }
    }

    /// Inserts every row and returns the stored rows (`RETURNING`), with
    /// the values the database filled in, in the order given. On MySQL this
    /// needs MariaDB 10.5 or later (MySQL 8 has no `INSERT … RETURNING`;
    /// use [`execute`](InsertMany::execute)).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let rows = [("open", 10), ("open", 20), ("paid", 30)].map(|(status, amount_cents)| NewInvoice {
    ///     customer_id: 2,
    ///     status: status.into(),
    ///     amount_cents,
    ///     note: None,
    /// });
    /// let stored = Invoice::insert_many(&acme, rows).fetch_all(&db).await?;
    /// assert_eq!(stored.iter().map(|i| i.amount_cents).collect::<Vec<_>>(), [10, 20, 30]);
    /// assert!(stored.iter().all(|i| i.tenant_id.as_str() == "acme" && i.id > 4));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_all<'c>(self, executor: impl Executor<'c>) -> Result<Vec<M>, Error> {
        match self.run(executor, true).await? {
            Output::Rows(rows) => Ok(rows),
            Output::Count(_) => Ok(Vec::new()),
        }
    }

    async fn run<'c>(
        self,
        executor: impl Executor<'c>,
        returning: bool,
    ) -> Result<Output<M>, Error> {
        let out = if returning {
            Output::Rows(Vec::with_capacity(self.rows.len()))
        } else {
            Output::Count(0)
        };
        if self.rows.is_empty() {
            return Ok(out);
        }
        let target = executor.into_target();
        dispatch!(target, on => self.run_on(on, returning, out).await)
    }

    async fn run_on<DB: Driver>(
        self,
        on: On<'_, DB>,
        returning: bool,
        mut out: Output<M>,
    ) -> Result<Output<M>, Error> {
        let mut chunks = Chunks::<M>::new(&self, DB::BACKEND, returning);
        let tenant = self.tenant;
        // The keys the rows refer to, looked up for the tenant first (see
        // `crate::reference`), in the insert's transaction.
        let checked = Checks::tenant_for_rows::<M>(tenant, &self.rows);
        let mut rows = self.rows;
        match on {
            On::Tx {
                conn,
                tenant: tx_tenant,
                failed,
            } => {
                if let Some(tenant) = checked {
                    let mut on: On<'_, DB> = On::Tx {
                        conn: &mut *conn,
                        tenant: tx_tenant,
                        failed: &mut *failed,
                    };
                    Checks::of_rows::<M>(&rows)
                        .run::<DB, M>(&mut on, tenant)
                        .await?;
                }
                let mut rows = rows.into_iter();
                // The caller's transaction: every chunk is checked against
                // its tenant, and a failed chunk marks it failed.
                while let Some(stmt) = chunks.next(&mut rows) {
                    let on: On<'_, DB> = On::Tx {
                        conn: &mut *conn,
                        tenant: tx_tenant,
                        failed: &mut *failed,
                    };
                    add(&mut out, on, stmt).await?;
                }
                Ok(out)
            }
            On::Pool { pool, rls } => {
                let set_tenant = match tenant {
                    Some(tenant) if rls => Some(begin_with_tenant(&tenant)),
                    _ => None,
                };
                if chunks.count == 1 && set_tenant.is_none() && checked.is_none() {
                    // One statement is atomic by itself.
                    if let Some(stmt) = chunks.next(&mut rows.into_iter()) {
                        add(&mut out, On::Pool { pool, rls }, stmt).await?;
                    }
                    return Ok(out);
                }
                // A lookup before the writes takes SQLite's write lock
                // first (see `unit_begin`).
                let begin = match checked {
                    Some(tenant) => unit_begin::<DB>(rls, &tenant),
                    None => set_tenant,
                };
                let mut tx = TxConn::begin(pool, begin).await?;
                let result = async {
                    if let Some(tenant) = checked {
                        let mut failed = false;
                        let mut on: On<'_, DB> = On::Tx {
                            conn: tx.connection(),
                            tenant: &tenant,
                            failed: &mut failed,
                        };
                        Checks::of_rows::<M>(&rows)
                            .run::<DB, M>(&mut on, tenant)
                            .await?;
                    }
                    let mut rows = std::mem::take(&mut rows).into_iter();
                    while let Some(stmt) = chunks.next(&mut rows) {
                        run_on_connection::<DB, M, _>(tx.connection(), stmt, &mut out).await?;
                    }
                    Ok(())
                }
                .await;
                finish(tx, result).await?;
                Ok(out)
            }
        }
    }
}

/// The statements of one insert, chunk by chunk. The text of a full chunk
/// is rendered once and shared by every full chunk; the last, shorter one
/// gets its own.
struct Chunks<M: Model> {
    backend: Backend,
    tenant: Option<TenantValue>,
    returning: bool,
    per_chunk: usize,
    count: usize,
    full: Option<Arc<str>>,
    _model: std::marker::PhantomData<fn() -> M>,
}

impl<M: Model> Chunks<M> {
    fn new(insert: &InsertMany<M>, backend: Backend, returning: bool) -> Self {
        let per_chunk = insert.chunk_rows(backend);
        Chunks {
            backend,
            tenant: insert.tenant,
            returning,
            per_chunk,
            count: insert.rows.len().div_ceil(per_chunk),
            full: None,
            _model: std::marker::PhantomData,
        }
    }

    fn next(
        &mut self,
        rows: &mut std::vec::IntoIter<M::New>,
    ) -> Option<Statement<RowsParams<M::New>>> {
        let chunk: Vec<M::New> = rows.by_ref().take(self.per_chunk).collect();
        if chunk.is_empty() {
            return None;
        }
        let has_tenant = self.tenant.is_some();
        let sql = if chunk.len() == self.per_chunk {
            let (backend, returning, n) = (self.backend, self.returning, chunk.len());
            let text = self.full.get_or_insert_with(|| {
                render::<M>(backend, positional(backend), has_tenant, n, returning).into()
            });
            Sql::Shared(Arc::clone(text))
        } else {
            Sql::Owned(render::<M>(
                self.backend,
                positional(self.backend),
                has_tenant,
                chunk.len(),
                self.returning,
            ))
        };
        Some(Statement {
            label: crate::params::Label::of::<M>(crate::trace::kind::INSERT_MANY),
            sql,
            tenant: self.tenant,
            params: RowsParams {
                tenant: self.tenant,
                tenant_per_row: positional(self.backend),
                rows: chunk,
            },
        })
    }
}

/// The columns a `New<M>` binds, in order.
fn insert_columns<M: Model>() -> &'static [&'static str] {
    M::SCHEMA.insert_columns
}

/// Appends `$n`. Written digit by digit: a 1 000-row statement of eight
/// columns has 8 000 placeholders, and `write!` took 390 µs for them, this
/// a tenth of that.
fn push_numbered(sql: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    sql.push('$');
    for &digit in &digits[start..] {
        sql.push(char::from(digit));
    }
}

/// Whether a multi-row insert on `backend` uses positional `?`
/// placeholders, binding the tenant with each row, rather than `$n`.
///
/// MySQL has only `?`. SQLite takes both, but looks a `$n` up by walking
/// the statement's list of parameter names, at parse time and again for
/// each value sqlx binds (`sqlite3_bind_parameter_name`): quadratic in the
/// number of parameters, 5 ms of a 1 000-row insert's 7 ms. A `?` has no
/// name, so binding is linear. PostgreSQL keeps `$1` for the tenant.
pub(crate) const fn positional(backend: Backend) -> bool {
    matches!(backend, Backend::Sqlite | Backend::MySql)
}

/// `INSERT INTO <table> (<tenant>, <columns>) VALUES (…), (…)` for `rows`
/// rows, with `RETURNING <every column>` when `returning`. With numbered
/// placeholders every row's tenant is `$1`; with `positional` `?` each row
/// binds it.
pub(crate) fn render<M: Model>(
    backend: Backend,
    positional: bool,
    has_tenant: bool,
    rows: usize,
    returning: bool,
) -> String {
    let table = quoted(backend, M::TABLE);
    let tenant_column = M::TENANT_COLUMN.filter(|_| has_tenant);
    let columns = insert_columns::<M>();
    let mut sql = String::with_capacity(64 + rows * (columns.len() + 1) * 6);
    let _ = write!(sql, "INSERT INTO {table} ");
    let listed = usize::from(tenant_column.is_some()) + columns.len();
    if listed == 0 {
        // Nothing to list: one row of defaults (chunks are one row long).
        sql.push_str(match backend {
            Backend::MySql => "() VALUES ()",
            _ => "DEFAULT VALUES",
        });
    } else {
        sql.push('(');
        for (i, column) in tenant_column.iter().chain(columns).enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&quoted(backend, column));
        }
        sql.push_str(") VALUES ");
        let numbered = !positional;
        let mut next = 1;
        if numbered && tenant_column.is_some() {
            next = 2;
        }
        for row in 0..rows {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            let mut first = true;
            if tenant_column.is_some() {
                if numbered {
                    sql.push_str("$1");
                } else {
                    sql.push('?');
                }
                first = false;
            }
            for _ in columns {
                if !first {
                    sql.push_str(", ");
                }
                first = false;
                if numbered {
                    push_numbered(&mut sql, next);
                    next += 1;
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
    }
    if returning {
        sql.push_str(" RETURNING ");
        for (i, column) in M::COLUMNS.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            push_column(&mut sql, backend, &table, column);
        }
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_have_every_digit() {
        let mut sql = String::new();
        for n in [1, 9, 10, 99, 100, 65_535] {
            push_numbered(&mut sql, n);
        }
        assert_eq!(sql, "$1$9$10$99$100$65535");
    }

    #[test]
    fn sqlite_and_mysql_bind_the_tenant_with_each_row() {
        assert!(positional(Backend::Sqlite) && positional(Backend::MySql));
        assert!(!positional(Backend::Postgres));
        assert_eq!(max_params(Backend::Sqlite), 32_766);
    }
}
