//! The traits `#[derive(TenantModel)]` implements. Users never implement them
//! by hand; they appear in bounds and error messages.

use sqlx::error::BoxDynError;

use crate::backend::{Backend, Driver};
use crate::error::Error;
use crate::tenant::TenantKey;
use crate::value::SqlType;
use crate::value::TypeChecks;

pub use crate::render::ModelSql;

/// Facts about a model's fields, in field order, for the schema check
/// ([`TenantDb::verify`](crate::TenantDb::verify)). Written by the derive.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct ModelSchema {
    /// Each field's Rust type, as written.
    pub rust_types: &'static [&'static str],
    /// Whether each field is declared `Option<_>`.
    pub nullable: &'static [bool],
    /// Whether each field's type reads a live column of a type, per backend.
    pub types: &'static [TypeChecks],
    /// The columns a `New<Model>` supplies, in bind order.
    pub insert_columns: &'static [&'static str],
    /// Columns of a global model declared `#[tenant(unscoped_tenant_id = "..")]`.
    pub unscoped_tenant_columns: &'static [&'static str],
    /// Unique keys declared with `#[tenant(unique)]` / `#[tenant(unique(a, b))]`,
    /// as column lists (without the tenant column, which leads them on a
    /// tenant model).
    pub unique: &'static [&'static [&'static str]],
    /// Indexes declared with `#[tenant(index)]` / `#[tenant(index(a, b))]`.
    pub indexes: &'static [&'static [&'static str]],
}

impl std::fmt::Debug for ModelSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSchema")
            .field("rust_types", &self.rust_types)
            .field("nullable", &self.nullable)
            .field("insert_columns", &self.insert_columns)
            .field("unscoped_tenant_columns", &self.unscoped_tenant_columns)
            .field("unique", &self.unique)
            .field("indexes", &self.indexes)
            .finish_non_exhaustive()
    }
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
    /// The type of the tenant column ([`TenantId`](crate::TenantId) for a
    /// global model, which has none): the key type of the scopes it takes.
    type TenantKey: TenantKey;
    /// [`Scoped`] or [`Global`], set by the derive. [`TenantOwned`] and
    /// [`GlobalModel`] follow from it, so neither can be claimed by hand.
    #[doc(hidden)]
    type Scope;
    /// The model's fixed statements for `backend`, rendered by the core
    /// once (the derive keeps them in a `static` [`SqlCell`](crate::__private::SqlCell)).
    #[doc(hidden)]
    fn sql(backend: Backend) -> &'static ModelSql;
    /// What the schema check compares with the live table.
    #[doc(hidden)]
    const SCHEMA: ModelSchema;
    /// The model's `#[tenant(references = ..)]` fields, checked on write.
    #[doc(hidden)]
    const REFERENCES: &'static [crate::relation::Reference] = &[];

    /// Decodes a row of the model's `SELECT`. Only the executor can call it:
    /// a [`DecodeToken`] cannot be made outside this crate, so raw rows of
    /// every tenant cannot be turned into models.
    #[doc(hidden)]
    /// The model's columns are at `offset..offset + COLUMNS.len()` of the
    /// row (after another model's in a join).
    #[doc(hidden)]
    fn decode<DB: Driver>(
        row: &DB::Row,
        offset: usize,
        token: DecodeToken,
    ) -> Result<Self, sqlx::Error>;
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
    /// The primary key's position in [`Model::COLUMNS`].
    #[doc(hidden)]
    const PRIMARY_KEY_INDEX: usize;
}

/// Never implemented: `find`, `update_by_id` and `delete_by_id` of a model
/// without a `#[tenant(primary_key)]` field exist only to fail with this
/// message (instead of rustc's guess that `find` is `Iterator::find`). The
/// bound names the key's type `K` so that it is not trivially false where
/// it is declared.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no primary key: mark one field #[tenant(primary_key)]",
    label = "`find`, `update_by_id` and `delete_by_id` look a row up by its primary key",
    note = "add #[tenant(primary_key)] to the key field (database-filled, or `#[tenant(primary_key, client_generated)]` when the caller supplies it); without a key, select rows with `.filter(..)`"
)]
pub trait NoPrimaryKey<K> {
    #[doc(hidden)]
    fn refuse() -> std::convert::Infallible;
}

/// The generated `New<Model>` struct: the columns an insert supplies.
pub trait NewRow: Send + 'static {
    /// Number of values bound.
    const LEN: usize;
    #[doc(hidden)]
    fn bind<DB: Driver>(self, args: &mut DB::Arguments) -> Result<(), BoxDynError>;
    /// Adds the keys the row refers to through `#[tenant(references = ..)]`
    /// fields (position in `Model::REFERENCES`, key).
    #[doc(hidden)]
    fn reference_keys<'a>(&'a self, keys: &mut crate::relation::ReferenceKeys<'a>) {
        let _ = keys;
    }
}

/// Refuses an update of `M` that would set the tenant column (a row never
/// moves to another tenant) or the primary key (a row keeps its key),
/// compared without case as SQLite and MySQL compare names. The derive's
/// constants cannot name either there; this catches a hand-made column
/// constant, for `update` and `upsert` alike. The tenant column is looked
/// for first, among all of `columns`.
pub(crate) fn refuse_unsettable<M: Model>(
    columns: impl Iterator<Item = &'static str> + Clone,
) -> Result<(), Error> {
    let named = |key: Option<&'static str>| {
        let key = key?;
        columns.clone().find(|c| c.eq_ignore_ascii_case(key))
    };
    if let Some(column) = named(M::TENANT_COLUMN) {
        return Err(Error::TenantColumnNotSettable { column });
    }
    if let Some(column) = named(M::PRIMARY_KEY) {
        return Err(Error::PrimaryKeyNotSettable { column });
    }
    Ok(())
}
