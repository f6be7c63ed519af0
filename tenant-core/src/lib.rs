//! Tenant-scoped query builders for [sqlx]: a query that forgets its tenant
//! does not compile.
//!
//! `#[derive(TenantModel)]` on a struct generates query builders for its
//! table. For a tenant-owned model every builder takes a [`TenantScope`], and
//! every statement it produces carries the tenant predicate, so there is no
//! code path that reads or writes tenant rows without a tenant filter.
//!
//! ```
//! use tenant_core::prelude::*;
//!
//! #[derive(Debug, Clone, TenantModel)]
//! #[tenant(table = "invoices")]
//! pub struct Invoice {
//!     #[tenant(primary_key)]
//!     pub id: i64,
//!     #[tenant(tenant_id)]
//!     pub tenant_id: TenantId,
//!     pub amount_cents: i64,
//!     pub customer_email: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tenant_core::Error> {
//! let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
//! sqlx::query(
//!     "CREATE TABLE invoices (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL,
//!      amount_cents INTEGER NOT NULL, customer_email TEXT NOT NULL)",
//! )
//! .execute(&pool)
//! .await?;
//! let db = TenantDb::sqlite(pool);
//!
//! let acme = TenantScope::new(TenantId::parse("acme")?);
//! let globex = TenantScope::new(TenantId::parse("globex")?);
//!
//! let created = Invoice::insert(&acme, NewInvoice {
//!     amount_cents: 12_000,
//!     customer_email: "a@example.com".into(),
//! })
//! .fetch_one(&db)
//! .await?;
//! assert_eq!(created.tenant_id.as_str(), "acme");
//!
//! let big = Invoice::query(&acme)
//!     .filter(Invoice::AMOUNT_CENTS.gt(10_000))
//!     .order_by(Invoice::ID.desc())
//!     .limit(50)
//!     .fetch_all(&db)
//!     .await?;
//! assert_eq!(big.len(), 1);
//!
//! // Another tenant holding the same id sees nothing.
//! assert!(Invoice::find(&globex, created.id).fetch_optional(&db).await?.is_none());
//! assert_eq!(Invoice::query(&globex).count(&db).await?, 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Attributes
//!
//! On the struct:
//! - `#[tenant(table = "name")]` (required): the table.
//! - `#[tenant(global)]`: a table shared by all tenants, with no tenant
//!   column; its builders take no scope (`Plan::query()`). A `TenantId`
//!   field is refused in a global model unless it is the primary key (a
//!   directory of tenants) or says why it does not scope the rows.
//! - `#[tenant(crate = "path")]`: where `tenant_core` is, when a crate
//!   re-exports or renames it.
//!
//! On fields:
//! - `#[tenant(tenant_id)]`: the tenant column, of type [`TenantId`]. It is
//!   never in `New<Model>`, never settable in an update, and always bound from
//!   the scope.
//! - `#[tenant(primary_key)]`: the key used by `find`. It is filled by the
//!   database (left out of `New<Model>`) unless also `client_generated`.
//! - `#[tenant(primary_key, client_generated)]`: a key the caller supplies,
//!   such as a UUID; it is a field of `New<Model>`.
//! - `#[tenant(generated)]`: a column the database fills on insert
//!   (`created_at DEFAULT CURRENT_TIMESTAMP`), left out of `New<Model>`.
//! - `#[tenant(rename = "column")]`: the SQL column name, when it differs from
//!   the field name. Names are compared without regard to ASCII case, as
//!   SQLite and MySQL compare them.
//! - `#[tenant(unscoped_tenant_id = "why")]`: on a `TenantId` field of a
//!   global model, the stated reason the table holds tenant ids without
//!   belonging to a tenant (a membership table, say).
//!
//! Table and column names must be safe SQL identifiers
//! (`[A-Za-z_][A-Za-z0-9_]*`, at most 63 bytes, not starting with the
//! reserved `__tenant`); this is checked at compile time, and the generated
//! SQL quotes them and qualifies every column with its table.
//!
//! # Generated items
//!
//! For `Invoice` above: the struct `NewInvoice`; the constants
//! `Invoice::ID`, `Invoice::AMOUNT_CENTS` ... ([`Column`]) and
//! `Invoice::TENANT_ID` ([`TenantColumn`]); and the constructors
//! `Invoice::query(&scope)` ([`Select`]), `Invoice::find(&scope, id)`
//! ([`Find`]), `Invoice::insert(&scope, new)` ([`Insert`]),
//! `Invoice::insert_many(&scope, rows)` ([`InsertMany`]),
//! `Invoice::upsert(&scope, new)` ([`Upsert`], tenant-owned models only),
//! `Invoice::update(&scope)` ([`Update`]) and `Invoice::delete(&scope)`
//! ([`Delete`]).
//!
//! # Transactions
//!
//! [`TenantDb::begin`] opens a transaction for one scope. Statements for that
//! tenant (and for global models) run on it with `&mut tx`; a statement scoped
//! to another tenant is refused with [`Error::ScopeMismatch`].
//!
//! [sqlx]: https://docs.rs/sqlx

mod ast;
mod backend;
mod bulk;
mod condition;
mod connect;
pub mod cross;
mod db;
pub mod doctor;
mod error;
mod exec;
mod model;
mod params;
mod query;
mod raw;
mod reference;
mod relation;
mod render;
pub mod rls;
pub mod schema;
mod shape;
#[cfg(feature = "snapshot")]
pub mod snapshot;
mod sql;
mod tenant;
pub mod trace;
mod tx;
mod value;
pub mod verify;

pub use backend::{Backend, Driver};
pub use bulk::{
    ColumnOf, ConflictTarget, InsertMany, NeedsAction, NeedsTarget, Ready, UnfinishedUpsert,
    UpdatableColumnOf, Upsert, UpsertColumns,
};
pub use condition::{
    Assignable, Column, Condition, ConditionOn, InOperand, NotNull, Null, Nullability, Nullable,
    Order, OrderOn, PrimaryKey, Settable, TenantColumn, TextColumn,
};
pub use connect::{ConnectFailure, TenantDbOptions};
pub use cross::{CrossTenant, Tenants};
pub use db::{Executor, TenantDb, TenantTransaction};
pub use error::Error;
pub use model::{GlobalModel, HasPrimaryKey, Model, NewRow, TenantOwned};
pub use query::{
    Across, Aggregate, Aggregated, As, Assigned, Count, Delete, Expr, Find, GroupKey,
    HasAssignments, Having, HavingOn, Inner, Insert, Join, JoinCondition, JoinKind, JoinOrder,
    Keyset, Left, NoAssignments, Numeric, Operand, Page, PerTenant, Projection, Select, SortOrder,
    Subquery, Summable, Summed, TenantProjection, Update, count,
};
pub use raw::{RawQuery, RawRow};
pub use relation::Related;
pub use tenant::{InvalidTenantId, MAX_TENANT_ID_LEN, TenantId, TenantKey, TenantScope};
pub use value::{IntoValue, SqlType};

/// Derives query builders for a model. See the [crate documentation](crate).
pub use tenant_macros::TenantModel;

/// Derives [`TenantProjection`](trait@TenantProjection) for a struct of
/// some of a model's columns: `#[tenant(model = Invoice)]`, each field
/// named and typed like the model's column it reads.
pub use tenant_macros::TenantProjection;

#[doc(hidden)]
pub use model::ModelSql;

/// Raw SQL for what the builders cannot express, still tenant-checked:
/// `query_as!(Row, &scope, "SQL", args..)` makes a [`RawQuery`].
///
/// - Tenant tables are named only through their model types in braces,
///   `{Invoice}`; each runs as the model's scoped select, `(SELECT <columns>
///   FROM "invoices" WHERE "invoices"."tenant_id" = $1)`, with the scope's
///   tenant bound (a `#[tenant(global)]` model runs as its table). A
///   tenant-owned model must be keyed like the scope.
/// - The SQL is parsed at compile time (sqlparser, with the generic,
///   PostgreSQL, SQLite and MySQL dialects) and refused unless it is one
///   `SELECT`/`WITH` query whose every table is a `{Model}`, a CTE of the
///   statement, a subquery or a parenthesized join: a table named directly
///   (`FROM invoices`, `public.invoices`, in a subquery, a CTE, a UNION arm
///   or a LATERAL join), a table function, a write, or a `?` count that does
///   not match the values is a compile error.
/// - Each `?` binds the Rust value that follows, in order (any column type,
///   borrowed or owned, or a `&str`); placeholders are numbered per backend.
/// - Rows decode as `Row`: a tuple of column types or a struct with
///   `#[derive(sqlx::FromRow)]` ([`RawRow`]).
///
/// See `docs/raw-sql.md`.
///
/// ```
/// # include!("doctest_setup.rs");
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tenant_core::Error> {
/// # let (db, acme, globex) = setup().await?;
/// // Customers whose open invoices add up to more than `min`.
/// let min = 1_000_i64;
/// let rows: Vec<(String, i64)> = tenant_core::query_as!(
///     (String, i64),
///     &acme,
///     "WITH open AS (SELECT customer_id, amount_cents FROM {Invoice} WHERE status = ?)
///      SELECT c.email, SUM(o.amount_cents) AS total
///      FROM open o JOIN {Customer} c ON c.id = o.customer_id
///      GROUP BY c.email HAVING SUM(o.amount_cents) > ? ORDER BY c.email",
///     "open",
///     min,
/// )
/// .fetch_all(&db)
/// .await?;
/// assert_eq!(rows, [("bob@acme.test".to_owned(), 5000)]);
/// # Ok(())
/// # }
/// ```
pub use tenant_macros::query_as;

extern crate self as tenant_core;

/// Everything a model file and a handler need: `use tenant_core::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Column, Condition, CrossTenant, Error, Executor, TenantDb, TenantDbOptions, TenantId,
        TenantModel, TenantProjection, TenantScope, TenantTransaction, Tenants,
    };
}

/// Support for the code `#[derive(TenantModel)]` generates. Not a public API:
/// it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use sqlx;
    pub use sqlx::error::BoxDynError;

    pub use crate::backend::{Backend, Driver};
    pub use crate::render::SqlCell;

    pub use crate::raw::{RawModel, RawParam, RawPiece, RawScope, SameKey, ScopeFits, raw_model};

    pub use crate::bulk::{InsertMany, Upsert};
    pub use crate::condition::{Column, NotNull, Null, PrimaryKey, TenantColumn};
    pub use crate::cross::{CrossTenant, Tenants};
    pub use crate::model::{
        DecodeToken, Global, GlobalModel, HasPrimaryKey, LoadThroughBuilders, Model, ModelSchema,
        ModelSql, NewRow, NoPrimaryKey, Scoped, TenantOwned,
    };
    pub use crate::query::{
        Across, Delete, Find, Insert, KeylessFind, NoAssignments, NumericRange, Prepare, Refused,
        Select, SetsAColumn, Update,
    };
    pub use crate::query::{ExprNode, ProjectsAs, projected};
    pub use crate::relation::{
        Reference, ReferenceKeys, References, Related, check_key_field, check_reference, key_of,
    };
    pub use crate::tenant::TenantValue;
    pub use crate::tenant::{TenantId, TenantScope};

    /// The operations of `M`'s tenant column, from its key type (whose
    /// `TenantKey` bound is checked on the `Model` impl, once).
    #[inline]
    pub const fn key_col<M: Model>() -> Col<M::TenantKey> {
        col::<M::TenantKey>()
    }

    /// Probes a global model's field type: [`FieldProbe::probe`] resolves to
    /// the inherent method (a [`HoldsTenantId`]) when the type is
    /// `TenantId` or `Option<TenantId>` under any name, and to
    /// [`OrdinaryField::probe`] otherwise. Method resolution on a concrete
    /// type prefers inherent methods, so this sees through type aliases.
    pub struct FieldProbe<T>(core::marker::PhantomData<T>);

    impl<T> FieldProbe<T> {
        /// A probe of `T`.
        pub const fn new() -> Self {
            FieldProbe(core::marker::PhantomData)
        }
    }

    impl<T> Default for FieldProbe<T> {
        fn default() -> Self {
            Self::new()
        }
    }

    /// The probe's answer for a field that holds a tenant id.
    pub struct HoldsTenantId;

    /// The probe's answer for any other field.
    pub struct Ordinary;

    impl FieldProbe<crate::TenantId> {
        /// This field holds a tenant id.
        pub fn probe(&self) -> HoldsTenantId {
            HoldsTenantId
        }
    }

    impl FieldProbe<Option<crate::TenantId>> {
        /// This field holds a tenant id.
        pub fn probe(&self) -> HoldsTenantId {
            HoldsTenantId
        }
    }

    /// The fallback of [`FieldProbe::probe`].
    pub trait OrdinaryField {
        /// This field holds no tenant id.
        fn probe(&self) -> Ordinary {
            Ordinary
        }
    }

    impl<T> OrdinaryField for FieldProbe<T> {}

    /// Implemented by the probe's answer for an ordinary field only.
    #[diagnostic::on_unimplemented(
        message = "this field of a #[tenant(global)] model holds a `TenantId` (through a type alias)",
        label = "a global model reads and rewrites every tenant's rows",
        note = "if the table belongs to tenants, remove `global` and mark this field #[tenant(tenant_id)]; if it really is shared, say why with #[tenant(unscoped_tenant_id = \"...\")]"
    )]
    pub trait NotTenantId {}

    impl NotTenantId for Ordinary {}

    /// Fails to compile unless the probe found an ordinary field.
    pub fn assert_not_tenant_id<R: NotTenantId>(_: R) {}
    pub use crate::value::{Col, TypeChecks, UnsignedColumn, col, unsigned_col};
}
