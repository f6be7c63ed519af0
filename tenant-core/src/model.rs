//! The traits `#[derive(TenantModel)]` implements. Users never implement them
//! by hand; they appear in bounds and error messages.

use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};

use crate::value::SqlType;

/// Statements of one model, rendered by the derive at compile time.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct ModelSql {
    /// The quoted table name: `"invoices"`. Every column that is read or
    /// compared is qualified with it (see `push_column`).
    pub qualifier: &'static str,
    /// `SELECT <columns> FROM <table>` plus ` WHERE <tenant> = $1` when scoped.
    pub select: &'static str,
    /// `SELECT COUNT(*) FROM <table>` plus the scope predicate.
    pub count: &'static str,
    /// ` WHERE <tenant> = $1`, or empty for a global model.
    pub scope_where: &'static str,
    /// `UPDATE <table> SET `.
    pub update: &'static str,
    /// `DELETE FROM <table>` plus the scope predicate.
    pub delete: &'static str,
    /// `INSERT INTO <table> (...) VALUES (...)`.
    pub insert: &'static str,
    /// The insert followed by `RETURNING <columns>`.
    pub insert_returning: &'static str,
    /// Number of the first free placeholder: 2 when `$1` is the tenant.
    pub first_param: usize,
    /// Row-level-security form of `select`, open: `SELECT "__tenant_row".*
    /// FROM (SELECT set_config(..)) CROSS JOIN LATERAL (SELECT .. WHERE
    /// <tenant> = <set value>` (filters, ordering and the closing follow).
    pub rls_select_head: &'static str,
    /// Row-level-security form of `count` over a page, open like
    /// `rls_select_head`: counts the rows the LATERAL subquery returns.
    pub rls_count_head: &'static str,
    /// Row-level-security form of `count` without paging, open: the
    /// `COUNT(*)` runs inside the LATERAL subquery; close with
    /// `) AS "__tenant_row"`.
    pub rls_count_agg_head: &'static str,
    /// `rls_select_head` closed with ` OFFSET 0) AS "__tenant_row"`.
    pub rls_select: &'static str,
    /// `rls_count_agg_head`, closed.
    pub rls_count: &'static str,
    /// `INSERT .. SELECT <set value>, $2, .. FROM (SELECT set_config(..))`.
    pub rls_insert: &'static str,
    /// `rls_insert` with `RETURNING <columns>`.
    pub rls_insert_returning: &'static str,
}

/// Facts about a model's fields, in field order, for the schema check
/// ([`TenantDb::verify`](crate::TenantDb::verify)). Written by the derive.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct ModelSchema {
    /// Each field's Rust type, as written.
    pub rust_types: &'static [&'static str],
    /// Whether each field is declared `Option<_>`.
    pub nullable: &'static [bool],
    /// Whether field `index`'s type reads a SQLite column of a declared type.
    pub sqlite_compatible: fn(usize, &sqlx::sqlite::SqliteTypeInfo) -> bool,
    /// Whether field `index`'s type reads a PostgreSQL column of a type.
    pub postgres_compatible: fn(usize, &sqlx::postgres::PgTypeInfo) -> bool,
    /// Columns of a global model declared `#[tenant(unscoped_tenant_id = "..")]`.
    pub unscoped_tenant_columns: &'static [&'static str],
}

/// A struct that `#[derive(TenantModel)]` maps to a table.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tenant model",
    label = "add #[derive(TenantModel)] to this type",
    note = "models are declared with `#[derive(TenantModel)]` and `#[tenant(table = \"...\")]`"
)]
pub trait Model: Sized + Send + Unpin + 'static {
    /// The table name.
    const TABLE: &'static str;
    /// Every column, in field order.
    const COLUMNS: &'static [&'static str];
    /// The tenant column; `None` for a `#[tenant(global)]` model.
    const TENANT_COLUMN: Option<&'static str>;
    /// The primary key column, if one is marked.
    const PRIMARY_KEY: Option<&'static str>;
    /// The generated `New<Model>` insert struct.
    type New: NewRow;
    /// [`Scoped`] or [`Global`], set by the derive. [`TenantOwned`] and
    /// [`GlobalModel`] follow from it, so neither can be claimed by hand.
    #[doc(hidden)]
    type Scope;
    #[doc(hidden)]
    const SQL: ModelSql;
    /// What the schema check compares with the live table.
    #[doc(hidden)]
    const SCHEMA: ModelSchema;

    /// Decodes a row of the model's `SELECT`. Only the executor can call it:
    /// a [`DecodeToken`] cannot be made outside this crate, so raw rows of
    /// every tenant cannot be turned into models.
    #[doc(hidden)]
    fn decode_sqlite(row: &SqliteRow, token: DecodeToken) -> Result<Self, sqlx::Error>;
    #[doc(hidden)]
    fn decode_postgres(row: &PgRow, token: DecodeToken) -> Result<Self, sqlx::Error>;
}

/// Proof that a row comes from a builder's own statement: only this crate
/// can make one (its field is private), so [`Model`]'s decoders cannot be
/// called on rows read with raw SQL.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct DecodeToken(());

impl DecodeToken {
    pub(crate) const fn new() -> Self {
        DecodeToken(())
    }
}

/// [`Model::Scope`] of a tenant-owned model.
#[doc(hidden)]
#[derive(Debug)]
pub enum Scoped {}

/// [`Model::Scope`] of a `#[tenant(global)]` model.
#[doc(hidden)]
#[derive(Debug)]
pub enum Global {}

#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a global model has no tenant column to scope",
    label = "this model is #[tenant(global)]",
    note = "a #[tenant(global)] model is queried without a scope: `Model::query()`"
)]
pub trait IsScoped {}
impl IsScoped for Scoped {}

#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a tenant-owned model cannot be queried without a `TenantScope`",
    label = "this model is owned by tenants",
    note = "pass the request's scope: `Model::query(&scope)`, `Model::find(&scope, id)`, `Model::delete(&scope)` ..."
)]
pub trait IsGlobal {}
impl IsGlobal for Global {}

/// A model whose rows belong to tenants: every builder needs a
/// [`TenantScope`](crate::TenantScope). Follows from the derive; it cannot
/// be implemented by hand.
pub trait TenantOwned: Model {}

impl<M: Model> TenantOwned for M where M::Scope: IsScoped {}

/// A model marked `#[tenant(global)]`: a table shared by all tenants, queried
/// without a scope. Follows from the derive; it cannot be implemented by
/// hand, so no tenant-owned model can be made global.
pub trait GlobalModel: Model {}

impl<M: Model> GlobalModel for M where M::Scope: IsGlobal {}

/// Never implemented: models are read only through their builders, so
/// `sqlx::query_as::<_, Model>` does not compile.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{M}` cannot be loaded with `sqlx::query_as` / `sqlx::FromRow`",
    label = "a tenant model is read only through its builders",
    note = "use `{M}::query(&scope)` or `{M}::find(&scope, id)`: they always carry the tenant predicate"
)]
pub trait LoadThroughBuilders<M> {
    #[doc(hidden)]
    fn refuse() -> std::convert::Infallible;
}

/// A model with a `#[tenant(primary_key)]` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no primary key",
    label = "`find` needs a primary key",
    note = "mark the key field with #[tenant(primary_key)]"
)]
pub trait HasPrimaryKey: Model {
    /// The primary key's Rust type.
    type PrimaryKey: SqlType;
    #[doc(hidden)]
    const FIND_SQL: &'static str;
    #[doc(hidden)]
    const RLS_FIND_SQL: &'static str;
}

/// The generated `New<Model>` struct: the columns an insert supplies.
pub trait NewRow: Send + 'static {
    /// Number of values bound.
    const LEN: usize;
    #[doc(hidden)]
    fn bind_sqlite(self, args: &mut SqliteArguments) -> Result<(), BoxDynError>;
    #[doc(hidden)]
    fn bind_postgres(self, args: &mut PgArguments) -> Result<(), BoxDynError>;
}
