//! Relations between models, declared on the referencing field with
//! `#[tenant(references = Parent)]`.
//!
//! A reference between two tenant-owned models is a *same-tenant*
//! reference: every join along it compares the tenant columns of both
//! sides as well as the key, so a row can only ever meet rows of its own
//! tenant, whatever ids the tables hold. A tenant-owned model may reference
//! a global one (a plan, a currency); a global model may not reference a
//! tenant-owned one — its rows belong to no tenant, so nothing could scope
//! the other side.
//!
//! ```
//! use tenant_core::prelude::*;
//!
//! #[derive(TenantModel)]
//! #[tenant(table = "customers")]
//! struct Customer {
//!     #[tenant(primary_key)]
//!     id: i64,
//!     #[tenant(tenant_id)]
//!     tenant_id: TenantId,
//!     name: String,
//! }
//!
//! #[derive(TenantModel)]
//! #[tenant(table = "invoices")]
//! struct Invoice {
//!     #[tenant(primary_key)]
//!     id: i64,
//!     #[tenant(tenant_id)]
//!     tenant_id: TenantId,
//!     #[tenant(references = Customer)]
//!     customer_id: i64,
//!     amount_cents: i64,
//! }
//!
//! let acme = TenantScope::new(TenantId::parse("acme").unwrap());
//! let join = Invoice::query(&acme)
//!     .inner_join::<Customer>()
//!     .filter(Customer::NAME.eq("Ada"));
//! assert_eq!(
//!     join.to_sql(),
//!     r#"SELECT "invoices"."id", "invoices"."tenant_id", "invoices"."customer_id", "invoices"."amount_cents", "customers"."id", "customers"."tenant_id", "customers"."name" FROM "invoices" INNER JOIN "customers" ON "customers"."tenant_id" = "invoices"."tenant_id" AND "customers"."id" = "invoices"."customer_id" WHERE "invoices"."tenant_id" = $1 AND "customers"."name" = $2"#
//! );
//! ```

use crate::model::{Global, HasPrimaryKey, Model, Scoped};
use crate::value::{KeyRef, ReferenceKey};

/// Model `Self` holds the key of a row of `P` in one of its columns:
/// generated for each `#[tenant(references = P)]` field.
#[doc(hidden)]
pub trait References<P: HasPrimaryKey>: Model {
    /// The referencing column's position in [`Model::COLUMNS`].
    const COLUMN: usize;
}

/// Models `Self` and `B` are related by a declared reference, in either
/// direction: `Self` may join `B`. Generated for both ends of each
/// `#[tenant(references = ..)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` and `{B}` are not related",
    label = "no declared reference between `{Self}` and `{B}`",
    note = "declare the reference on the field that holds the other model's key: `#[tenant(references = {B})]` on a field of `{Self}`, or `#[tenant(references = {Self})]` on a field of `{B}`"
)]
pub trait Related<B: Model>: Model {
    /// The columns the join compares: `(Self's column, B's column)`, as
    /// positions in each model's `COLUMNS`.
    #[doc(hidden)]
    const ON: (usize, usize);
}

/// Which models' rows a model's statement may reach: a tenant-owned model
/// reaches tenant-owned and global ones, a global model global ones only.
/// Implemented on the [`Model::Scope`] markers.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a global model cannot reach the rows of a tenant-owned model",
    label = "a global model's rows belong to no tenant, so nothing would scope the other side",
    note = "reference the global model from the tenant-owned one (`#[tenant(references = GlobalModel)]` on the tenant model's field), and start queries from the tenant-owned model with its scope: `Model::query(&scope)`"
)]
pub trait Reaches<To> {}

impl Reaches<Scoped> for Scoped {}
impl Reaches<Global> for Scoped {}
impl Reaches<Global> for Global {}

/// A tenant-owned model references a tenant-owned model of the same tenant
/// key type: their tenant columns are compared in every join.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "tenant models with different tenant key types cannot reference each other",
    label = "the tenant columns are compared in every join, so they must hold the same key type",
    note = "give both models the same tenant column type (`TenantId`, `i64`, `i32` or `uuid::Uuid`)"
)]
pub trait SameTenantKey<From, To> {}

impl<K> SameTenantKey<K, K> for (Scoped, Scoped) {}
impl<K1, K2> SameTenantKey<K1, K2> for (Scoped, Global) {}
impl<K1, K2> SameTenantKey<K1, K2> for (Global, Global) {}
// Refused by `Reaches` already (one error per mistake).
impl<K1, K2> SameTenantKey<K1, K2> for (Global, Scoped) {}

/// A field type that can hold a key of type `K`: `K`, or `Option<K>` for an
/// optional reference.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a field of type `{Self}` cannot hold a key of type `{K}`",
    label = "the referenced model's primary key is a `{K}`",
    note = "declare the field as `{K}`, or `Option<{K}>` for an optional reference"
)]
pub trait KeyField<K> {
    /// The key held, if any (`None` for an empty optional reference).
    fn key(&self) -> Option<&K>;
}

impl<K> KeyField<K> for K {
    fn key(&self) -> Option<&K> {
        Some(self)
    }
}

impl<K> KeyField<K> for Option<K> {
    fn key(&self) -> Option<&K> {
        self.as_ref()
    }
}

/// The checks of one `#[tenant(references = P)]` on a field of type `F` of
/// model `C`: the direction is allowed, the tenant key types match, and the
/// field holds `P`'s key. Called (never run) by generated code, spanned on
/// the attribute.
#[doc(hidden)]
pub const fn check_reference<C, P, F>()
where
    C: Model,
    P: HasPrimaryKey,
    C::Scope: Reaches<P::Scope>,
    (C::Scope, P::Scope): SameTenantKey<C::TenantKey, P::TenantKey>,
{
}

/// The field check of a `#[tenant(references = P)]` field that a
/// `New<Model>` does not hold (a database-filled one); for the others,
/// [`key_of`] checks it where it reads the key.
#[doc(hidden)]
pub const fn check_key_field<P: HasPrimaryKey, F: KeyField<P::PrimaryKey>>() {}

/// The key a `New<Model>`'s field of type `F` refers to in `P`, for the
/// check that the referenced row exists before the write.
#[doc(hidden)]
pub fn key_of<P, F>(field: &F) -> Option<KeyRef<'_>>
where
    P: HasPrimaryKey,
    P::PrimaryKey: ReferenceKey,
    F: KeyField<P::PrimaryKey>,
{
    field.key().map(KeyRef::new)
}

/// One `#[tenant(references = P)]` of a model, as the check on write reads
/// it: the referencing column and the referenced table's facts.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// The referencing model's name, for errors.
    pub model: &'static str,
    /// The referencing column's position in the model's `COLUMNS`.
    pub column: usize,
    /// The referencing column.
    pub column_name: &'static str,
    /// The referenced model's name, for errors.
    pub parent: &'static str,
    /// The referenced table.
    pub parent_table: &'static str,
    /// Its tenant column; `None` for a global model.
    pub parent_tenant_column: Option<&'static str>,
    /// Its primary key column.
    pub parent_key: &'static str,
}

impl Reference {
    /// The reference held in column `column` of model `C` (named `model`)
    /// to model `P` (named `parent`).
    pub const fn of<C: Model, P: HasPrimaryKey>(
        column: usize,
        model: &'static str,
        parent: &'static str,
    ) -> Self {
        Reference {
            model,
            column,
            column_name: C::COLUMNS[column],
            parent,
            parent_table: P::TABLE,
            parent_tenant_column: P::TENANT_COLUMN,
            parent_key: P::COLUMNS[P::PRIMARY_KEY_INDEX],
        }
    }
}

/// The keys a `New<Model>` refers to: `(position in Model::REFERENCES,
/// key)`, filled by the generated [`NewRow::reference_keys`](crate::model::NewRow::reference_keys).
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct ReferenceKeys<'a>(pub(crate) Vec<(usize, KeyRef<'a>)>);

impl<'a> ReferenceKeys<'a> {
    /// Adds the key of reference `reference`, if the field holds one.
    pub fn push(&mut self, reference: usize, key: Option<KeyRef<'a>>) {
        if let Some(key) = key {
            self.0.push((reference, key));
        }
    }
}
