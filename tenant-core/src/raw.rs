//! Raw SQL for what the builders cannot express: [`query_as!`](crate::query_as!)
//! and the [`RawQuery`] it makes.
//!
//! The macro checked the statement at compile time (one query; every table
//! a `{Model}`, a CTE, a subquery or a parenthesized join). Here each
//! `{Model}` is expanded, per backend, into the model's own scoped select
//! (`ModelSql::select`: `(SELECT <columns> FROM "invoices" WHERE
//! "invoices"."tenant_id" = $1)`), a global model into its quoted table, and
//! each `?` into the backend's placeholder. The tenant is always a bound
//! parameter.

use std::marker::PhantomData;

use sqlx::error::BoxDynError;
use tracing::Instrument;

use crate::backend::{Backend, Driver};
use crate::db::Executor;
use crate::error::Error;
use crate::exec::{On, begin_with_tenant, dispatch};
use crate::model::{Global, Model, ModelSql, Scoped};
use crate::params::{Label, Params, Sql, Statement, arguments};
use crate::tenant::{TenantKey, TenantScope, TenantValue};
use crate::trace::Trace;
use crate::tx::TxConn;
use crate::value::{SqlType, Value};

/// A part of a checked statement, written by the macro.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawPiece {
    /// SQL text, as the user wrote it.
    Text(&'static str),
    /// The `index`th `{Model}`; `aliased` when the SQL gives it an alias.
    Model {
        /// Position among the statement's models.
        index: usize,
        /// Whether an alias follows it in the SQL.
        aliased: bool,
    },
    /// A `?` parameter.
    Param,
}

/// A `{Model}` of a raw statement: its facts, read from the derive.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct RawModel {
    table: &'static str,
    scoped: bool,
    sql: fn(Backend) -> &'static ModelSql,
}

impl std::fmt::Debug for RawModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawModel")
            .field("table", &self.table)
            .field("scoped", &self.scoped)
            .finish_non_exhaustive()
    }
}

/// Whether a model of scope kind `Self` may be read with a scope keyed by
/// `K`: a tenant-owned model when its key type is `K`, a global model
/// always.
#[doc(hidden)]
pub trait ScopeFits<M, K> {
    /// Whether the model is tenant-owned.
    const SCOPED: bool;
}

impl<M: Model, K> ScopeFits<M, K> for Scoped
where
    M::TenantKey: SameKey<K>,
{
    const SCOPED: bool = true;
}

impl<M, K> ScopeFits<M, K> for Global {
    const SCOPED: bool = false;
}

/// `Self` is the scope's key type `K`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this model's tenant key is `{Self}`, but the scope given to `query_as!` is keyed by `{K}`",
    label = "a scope of another key type",
    note = "pass a `TenantScope<{Self}>`: every tenant-owned `{{Model}}` of the SQL must be keyed like the scope"
)]
pub trait SameKey<K> {}

// One impl per key type rather than `impl<K> SameKey<K> for K`: a single
// generic impl would be read as a type equality, reported without the
// message above.
impl SameKey<crate::tenant::TenantId> for crate::tenant::TenantId {}
impl SameKey<i64> for i64 {}
impl SameKey<i32> for i32 {}
#[cfg(feature = "uuid")]
impl SameKey<uuid::Uuid> for uuid::Uuid {}
// A second impl for every key type, so that a key type alone never
// decides the scope's key by inference (it is read from the scope).
#[diagnostic::do_not_recommend]
impl<K: TenantKey> SameKey<Unmatched> for K {}

/// Never a scope's key: see the impls of [`SameKey`].
#[doc(hidden)]
#[derive(Debug)]
pub enum Unmatched {}

/// A scope, by its key type (the bound below reads the key from the
/// scope's type, so the model cannot steer its inference).
#[doc(hidden)]
pub trait RawScope {
    /// The scope's key type.
    type Key;
}

impl<K: TenantKey> RawScope for TenantScope<K> {
    type Key = K;
}

/// The facts of `{M}` in a statement scoped by `scope`; fails to compile
/// unless `M` is a model whose key type fits the scope.
#[doc(hidden)]
pub fn raw_model<M: Model, S: RawScope>(_scope: &S) -> RawModel
where
    M::Scope: ScopeFits<M, S::Key>,
{
    RawModel {
        table: M::TABLE,
        scoped: <M::Scope as ScopeFits<M, S::Key>>::SCOPED,
        sql: M::sql,
    }
}

/// A value a `?` binds: any column type, borrowed or owned, or a `str`.
#[doc(hidden)]
pub trait RawParam {
    /// The value, copied into the statement.
    fn raw_value(&self) -> Value;
}

impl<T: SqlType + Clone> RawParam for T {
    fn raw_value(&self) -> Value {
        Value::new(self.clone())
    }
}

impl RawParam for str {
    fn raw_value(&self) -> Value {
        Value::new(self.to_owned())
    }
}

mod row {
    /// The bounds a row type meets for one backend: sqlx's `FromRow` when
    /// the backend's feature is on.
    macro_rules! row_bound {
        ($name:ident, $feature:literal, $row:ty) => {
            #[cfg(feature = $feature)]
            #[doc(hidden)]
            pub trait $name: for<'r> sqlx::FromRow<'r, $row> {}
            #[cfg(feature = $feature)]
            impl<T> $name for T where T: for<'r> sqlx::FromRow<'r, $row> {}
            #[cfg(not(feature = $feature))]
            #[doc(hidden)]
            pub trait $name {}
            #[cfg(not(feature = $feature))]
            impl<T: ?Sized> $name for T {}
        };
    }
    row_bound!(SqliteRow, "sqlite", sqlx::sqlite::SqliteRow);
    row_bound!(PostgresRow, "postgres", sqlx::postgres::PgRow);
    row_bound!(MySqlRow, "mysql", sqlx::mysql::MySqlRow);
}

/// A row of a [`RawQuery`]: a tuple of column types (`(i64, String)`), or
/// a struct with `#[derive(sqlx::FromRow)]`, readable on every backend
/// compiled in. A model is not a row: models are read through their
/// builders.
///
/// ```
/// fn rows<R: tenant_core::RawRow>() {}
/// rows::<(i64, String, Option<f64>)>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold a row of `query_as!`",
    label = "not readable with sqlx's `FromRow` on every enabled backend",
    note = "use a tuple of column types, e.g. `(i64, String)`, or a struct with `#[derive(sqlx::FromRow)]` whose fields are named like the query's columns"
)]
pub trait RawRow:
    Send + Unpin + 'static + row::SqliteRow + row::PostgresRow + row::MySqlRow
{
}

impl<T> RawRow for T where
    T: Send + Unpin + 'static + row::SqliteRow + row::PostgresRow + row::MySqlRow
{
}

/// A raw query checked by [`query_as!`](crate::query_as!), scoped to one
/// tenant; rows decode as `R`. Run it with [`fetch_all`](Self::fetch_all),
/// [`fetch_one`](Self::fetch_one) or [`fetch_optional`](Self::fetch_optional)
/// on a `&TenantDb` or a `&mut TenantTransaction`.
#[must_use = "a query does nothing until `fetch_all` runs it"]
pub struct RawQuery<R> {
    tenant: TenantValue,
    pieces: &'static [RawPiece],
    models: Vec<RawModel>,
    values: Vec<Value>,
    _row: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for RawQuery<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawQuery")
            .field("tenant", &self.tenant)
            .field("models", &self.models)
            .finish_non_exhaustive()
    }
}

/// The bound values of a raw statement, in placeholder order.
struct RawParams(Vec<Bound>);

enum Bound {
    Tenant(TenantValue),
    Value(Value),
}

impl Params for RawParams {
    fn bind<DB: Driver>(self, args: &mut DB::Arguments) -> Result<(), BoxDynError> {
        for bound in self.0 {
            match bound {
                Bound::Tenant(tenant) => tenant.bind::<DB>(args)?,
                Bound::Value(value) => DB::add_value(args, value)?,
            }
        }
        Ok(())
    }
}

impl<R: RawRow> RawQuery<R> {
    /// Made by `query_as!` only.
    #[doc(hidden)]
    pub fn __new<K: TenantKey>(
        scope: &TenantScope<K>,
        pieces: &'static [RawPiece],
        models: Vec<RawModel>,
        values: Vec<Value>,
    ) -> Self {
        RawQuery {
            tenant: scope.value(),
            pieces,
            models,
            values,
            _row: PhantomData,
        }
    }

    /// Whether a tenant-owned model is in the statement.
    fn scoped(&self) -> bool {
        self.models.iter().any(|m| m.scoped)
    }

    /// The statement's text for `backend`, and its parameters in order.
    fn render(self, backend: Backend) -> (String, RawParams) {
        let numbered = backend.numbered_placeholders();
        let scoped = self.scoped();
        let mut values = self.values.into_iter();
        let mut bound = Vec::new();
        // Numbered placeholders: the tenant is `$1` (each model's select
        // uses `$1`), the parameters follow. Positional ones bind in text
        // order, the tenant once per tenant-owned model.
        if numbered && scoped {
            bound.push(Bound::Tenant(self.tenant));
        }
        let mut next = bound.len() + 1;
        let mut sql = String::with_capacity(256);
        for piece in self.pieces {
            match *piece {
                RawPiece::Text(text) => sql.push_str(text),
                RawPiece::Param => {
                    if numbered {
                        sql.push_str(&format!("${next}"));
                        next += 1;
                    } else {
                        sql.push('?');
                    }
                    if let Some(value) = values.next() {
                        bound.push(Bound::Value(value));
                    }
                }
                RawPiece::Model { index, aliased } => {
                    let model = self.models[index];
                    let facts = (model.sql)(backend);
                    if model.scoped {
                        sql.push('(');
                        sql.push_str(&facts.select);
                        sql.push(')');
                        if !aliased {
                            sql.push_str(" AS ");
                            sql.push_str(&facts.qualifier);
                        }
                        if !numbered {
                            bound.push(Bound::Tenant(self.tenant));
                        }
                    } else {
                        sql.push_str(&facts.qualifier);
                    }
                }
            }
        }
        (sql, RawParams(bound))
    }

    /// The SQL this query sends to `backend`, with its placeholders.
    ///
    /// ```
    /// # include!("doctest_setup.rs");
    /// # fn main() {
    /// # let acme = TenantScope::new(TenantId::parse("acme").unwrap());
    /// let q = tenant_core::query_as!((i64,), &acme, "SELECT i.id FROM {Invoice} i WHERE i.amount_cents > ?", 100_i64);
    /// assert_eq!(
    ///     q.to_sql(tenant_core::Backend::Postgres),
    ///     r#"SELECT i.id FROM (SELECT "invoices"."id", "invoices"."tenant_id", "invoices"."customer_id", "invoices"."status", "invoices"."amount_cents", "invoices"."note" FROM "invoices" WHERE "invoices"."tenant_id" = $1) i WHERE i.amount_cents > $2"#
    /// );
    /// // MySQL binds the tenant where the model's select stands.
    /// assert!(q.to_sql(tenant_core::Backend::MySql).ends_with("WHERE `invoices`.`tenant_id` = ?) i WHERE i.amount_cents > ?"));
    /// # }
    /// ```
    pub fn to_sql(&self, backend: Backend) -> String {
        let copy = RawQuery::<R> {
            tenant: self.tenant,
            pieces: self.pieces,
            models: self.models.clone(),
            values: Vec::new(),
            _row: PhantomData,
        };
        copy.render(backend).0
    }

    fn statement(self, backend: Backend) -> Statement<RawParams> {
        let label = Label {
            model: self.models.first().map_or("", |m| m.table),
            kind: crate::trace::kind::RAW,
        };
        let tenant = self.scoped().then_some(self.tenant);
        let (sql, params) = self.render(backend);
        Statement {
            label,
            sql: Sql::Owned(sql),
            tenant,
            params,
        }
    }

    /// Every row.
    ///
    /// ```
    /// # include!("doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let rows: Vec<(String, i64)> = tenant_core::query_as!(
    ///     (String, i64),
    ///     &acme,
    ///     "SELECT c.email, SUM(i.amount_cents) FROM {Invoice} i
    ///      JOIN {Customer} c ON c.id = i.customer_id
    ///      GROUP BY c.email ORDER BY c.email",
    /// )
    /// .fetch_all(&db)
    /// .await?;
    /// assert_eq!(rows.len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_all<'c>(self, executor: impl Executor<'c>) -> Result<Vec<R>, Error> {
        let target = executor.into_target();
        let stmt = self.statement(target.backend());
        dispatch!(target, on => fetch_rows(on, stmt, |row| sqlx::FromRow::from_row(row)).await)
    }

    /// The first row, or `None`. Reads every row the query returns: write
    /// `LIMIT 1` when there can be many.
    ///
    /// ```
    /// # include!("doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let none: Option<(i64,)> =
    ///     tenant_core::query_as!((i64,), &acme, "SELECT id FROM {Invoice} WHERE id = ?", -1_i64)
    ///         .fetch_optional(&db)
    ///         .await?;
    /// assert!(none.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_optional<'c>(self, executor: impl Executor<'c>) -> Result<Option<R>, Error> {
        Ok(self.fetch_all(executor).await?.into_iter().next())
    }

    /// The first row, or [`Error::NotFound`].
    ///
    /// ```
    /// # include!("doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let (n,): (i64,) = tenant_core::query_as!((i64,), &globex, "SELECT COUNT(*) FROM {Invoice}")
    ///     .fetch_one(&db)
    ///     .await?;
    /// assert_eq!(n, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_one<'c>(self, executor: impl Executor<'c>) -> Result<R, Error> {
        self.fetch_optional(executor).await?.ok_or(Error::NotFound)
    }
}

/// Runs a raw query on backend `DB`: on a row-level-security pool, in a
/// transaction that sets the tenant first (`set_config(.., true)`), whose
/// connection [`TxConn`] closes if the future is dropped mid-way;
/// elsewhere as any read.
async fn fetch_rows<DB: Driver, R: Send + Unpin, P: Params>(
    on: On<'_, DB>,
    stmt: Statement<P>,
    decode: impl Fn(&DB::Row) -> Result<R, sqlx::Error> + Send + Sync,
) -> Result<Vec<R>, Error> {
    if let (On::Pool { pool, rls: true }, Some(tenant)) = (&on, stmt.tenant) {
        let args = arguments::<DB, _>(stmt.params)?;
        let mut tx = TxConn::begin(pool, Some(begin_with_tenant(&tenant))).await?;
        let trace = Trace::start(stmt.label, Some(&tenant));
        let out = {
            let conn = DB::on_connection(tx.connection());
            async {
                sqlx::query_with::<DB, _>(stmt.sql, args)
                    .try_map(|row: DB::Row| decode(&row))
                    .fetch_all(conn)
                    .await
            }
            .instrument(trace.span())
            .await
            .map_err(Error::from)
        };
        trace.finish(&out, |rows| rows.len() as u64);
        let out = out?;
        tx.commit().await?;
        return Ok(out);
    }
    crate::exec::fetch_all_as(on, stmt, decode).await
}
