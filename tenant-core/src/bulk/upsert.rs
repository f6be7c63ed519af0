//! `INSERT … ON CONFLICT` (SQLite, PostgreSQL) / `INSERT … ON DUPLICATE KEY
//! UPDATE` (MySQL) of one row, whose conflict can only ever touch the
//! acting tenant's row.

use std::fmt::Write as _;
use std::marker::PhantomData;

use super::{Output, RowsParams, add, finish, insert_many, run_on_connection};
use crate::backend::{Backend, Driver};
use crate::condition::{Column, Settable, TenantColumn};
use crate::db::Executor;
use crate::error::Error;
use crate::exec::{On, begin_with_tenant, dispatch, in_one_transaction};
use crate::model::{Model, TenantOwned};
use crate::params::{Sql, Statement};
use crate::reference::Checks;
use crate::sql::{push_column, quoted};
use crate::tenant::{TenantScope, TenantValue};
use crate::tx::TxConn;

/// [`Upsert`] state: no conflict target yet; call
/// [`on_conflict`](Upsert::on_conflict).
#[derive(Debug)]
pub enum NeedsTarget {}

/// [`Upsert`] state: a conflict target, no action yet; call
/// [`do_update`](Upsert::do_update), [`do_update_all`](Upsert::do_update_all)
/// or [`do_nothing`](Upsert::do_nothing).
#[derive(Debug)]
pub enum NeedsAction {}

/// [`Upsert`] state: ready to run.
#[derive(Debug)]
pub enum Ready {}

/// Never implemented: the terminals of an unfinished [`Upsert`] (no
/// conflict target or no action yet) exist only to fail with this message.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this upsert is not finished: it needs a conflict target and an action",
    label = "not ready to run",
    note = "write `Model::upsert(&scope, row).on_conflict((Model::TENANT_ID, Model::SOME_KEY))` and then `.do_update((Model::A, Model::B))`, `.do_update_all()` or `.do_nothing()`"
)]
pub trait UnfinishedUpsert {
    #[doc(hidden)]
    fn refuse() -> std::convert::Infallible;
}

mod sealed {
    pub trait Column<M> {}
    pub trait Target<M> {}
    pub trait Columns<M> {}
}

/// A column of model `M`, by one of its generated constants. Sealed:
/// implemented by [`Column`] only, so the tenant column
/// ([`TenantColumn`]) is not one of them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be named here in an upsert of `{M}`",
    label = "not one of `{M}`'s column constants (the tenant column is not one)",
    note = "name `{M}`'s own column constants: `{M}::SOME_COLUMN`",
    note = "the tenant column is never updated: a row never moves to another tenant"
)]
pub trait ColumnOf<M>: sealed::Column<M> {
    #[doc(hidden)]
    fn column_name(&self) -> &'static str;
}

impl<M: Model, T, N> sealed::Column<M> for Column<M, T, N> {}
impl<M: Model, T, N> ColumnOf<M> for Column<M, T, N> {
    fn column_name(&self) -> &'static str {
        self.name()
    }
}

/// A column an upsert may update: any of `M`'s column constants but the
/// primary key's (whose marker is not [`Settable`]); the tenant column is
/// not a [`ColumnOf`] at all. Sealed.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be updated by an upsert of `{M}`",
    label = "not one of `{M}`'s column constants that an update may set",
    note = "list the columns to update: `.do_update(({M}::A, {M}::B))`, or update every column with `.do_update_all()`",
    note = "the tenant column is never updated (a row never moves to another tenant), nor the primary key (a row keeps its key)"
)]
pub trait UpdatableColumnOf<M>: ColumnOf<M> {}

impl<M: Model, T, N: Settable<M>> UpdatableColumnOf<M> for Column<M, T, N> {}

/// The conflict target of an upsert of `M`: its tenant column first, then
/// the other columns of a unique key — `(Customer::TENANT_ID,
/// Customer::EMAIL)`. Sealed.
///
/// A unique key without the tenant column spans tenants: a conflict on it
/// would find another tenant's row. So a target that does not start with
/// the tenant column does not compile.
///
/// ```
/// # use tenant_core::prelude::*;
/// # #[derive(TenantModel)]
/// # #[tenant(table = "customers")]
/// # struct Customer { #[tenant(primary_key)] id: i64, #[tenant(tenant_id)] tenant_id: TenantId, email: String, name: String }
/// # let acme = TenantScope::new(TenantId::parse("acme").unwrap());
/// # let row = || NewCustomer { email: "a@x".into(), name: "A".into() };
/// // The tenant column alone, or first in a tuple.
/// let _ = Customer::upsert(&acme, row()).on_conflict(Customer::TENANT_ID);
/// let _ = Customer::upsert(&acme, row()).on_conflict((Customer::TENANT_ID, Customer::EMAIL));
/// ```
///
/// ```compile_fail,E0277
/// # use tenant_core::prelude::*;
/// # #[derive(TenantModel)]
/// # #[tenant(table = "customers")]
/// # struct Customer { #[tenant(primary_key)] id: i64, #[tenant(tenant_id)] tenant_id: TenantId, email: String, name: String }
/// # let acme = TenantScope::new(TenantId::parse("acme").unwrap());
/// # let row = || NewCustomer { email: "a@x".into(), name: "A".into() };
/// let _ = Customer::upsert(&acme, row()).on_conflict((Customer::EMAIL, Customer::TENANT_ID));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a conflict target of an upsert of `{M}`: it must start with `{M}`'s tenant column",
    label = "the conflict target does not start with the tenant column",
    note = "name the unique key that leads with the tenant column, tenant column first, e.g. `.on_conflict(({M}::TENANT_ID, {M}::EMAIL))` (the constant of the `#[tenant(tenant_id)]` field, then the key's other columns)",
    note = "a unique key without the tenant column spans tenants: a conflict on it would update another tenant's row; add the tenant column to the key"
)]
pub trait ConflictTarget<M>: sealed::Target<M> {
    #[doc(hidden)]
    fn columns(&self) -> Vec<&'static str>;
}

impl<M> sealed::Target<M> for TenantColumn<M> {}
impl<M> ConflictTarget<M> for TenantColumn<M> {
    fn columns(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// The columns an upsert of `M` updates on a conflict: one column constant
/// or a tuple of them (up to eight). Sealed.
///
/// ```
/// # use tenant_core::prelude::*;
/// # #[derive(TenantModel)]
/// # #[tenant(table = "customers")]
/// # struct Customer { #[tenant(primary_key)] id: i64, #[tenant(tenant_id)] tenant_id: TenantId, email: String, name: String }
/// # let acme = TenantScope::new(TenantId::parse("acme").unwrap());
/// # let row = || NewCustomer { email: "a@x".into(), name: "A".into() };
/// let target = (Customer::TENANT_ID, Customer::EMAIL);
/// let _ = Customer::upsert(&acme, row()).on_conflict(target).do_update(Customer::NAME);
/// let _ = Customer::upsert(&acme, row()).on_conflict(target).do_update((Customer::NAME, Customer::EMAIL));
/// ```
///
/// The tenant column is not one of them:
///
/// ```compile_fail,E0277
/// # use tenant_core::prelude::*;
/// # #[derive(TenantModel)]
/// # #[tenant(table = "customers")]
/// # struct Customer { #[tenant(primary_key)] id: i64, #[tenant(tenant_id)] tenant_id: TenantId, email: String, name: String }
/// # let acme = TenantScope::new(TenantId::parse("acme").unwrap());
/// # let row = || NewCustomer { email: "a@x".into(), name: "A".into() };
/// let target = (Customer::TENANT_ID, Customer::EMAIL);
/// let _ = Customer::upsert(&acme, row()).on_conflict(target).do_update(Customer::TENANT_ID);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the columns an upsert of `{M}` updates",
    label = "not a column constant of `{M}` or a tuple of them",
    note = "list the columns to update: `.do_update({M}::A)` or `.do_update(({M}::A, {M}::B))`, or update every column with `.do_update_all()`",
    note = "the tenant column is never updated: a row never moves to another tenant"
)]
pub trait UpsertColumns<M>: sealed::Columns<M> {
    #[doc(hidden)]
    fn columns(&self) -> Vec<&'static str>;
}

impl<M: Model, T, N: Settable<M>> sealed::Columns<M> for Column<M, T, N> {}
impl<M: Model, T, N: Settable<M>> UpsertColumns<M> for Column<M, T, N> {
    fn columns(&self) -> Vec<&'static str> {
        vec![self.name()]
    }
}

macro_rules! tuples {
    ($(($($c:ident),+))*) => {$(
        impl<M, $($c: ColumnOf<M>),+> sealed::Target<M> for (TenantColumn<M>, $($c,)+) {}
        impl<M, $($c: ColumnOf<M>),+> ConflictTarget<M> for (TenantColumn<M>, $($c,)+) {
            #[allow(non_snake_case)]
            fn columns(&self) -> Vec<&'static str> {
                let (_, $($c,)+) = self;
                vec![$($c.column_name()),+]
            }
        }
        impl<M, $($c: UpdatableColumnOf<M>),+> sealed::Columns<M> for ($($c,)+) {}
        impl<M, $($c: UpdatableColumnOf<M>),+> UpsertColumns<M> for ($($c,)+) {
            #[allow(non_snake_case)]
            fn columns(&self) -> Vec<&'static str> {
                let ($($c,)+) = self;
                vec![$($c.column_name()),+]
            }
        }
    )*};
}

impl<M> sealed::Target<M> for (TenantColumn<M>,) {}
impl<M> ConflictTarget<M> for (TenantColumn<M>,) {
    fn columns(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

tuples! {
    (A)
    (A, B)
    (A, B, C)
    (A, B, C, D)
    (A, B, C, D, E)
    (A, B, C, D, E, F)
    (A, B, C, D, E, F, G)
    (A, B, C, D, E, F, G, H)
}

/// What to do with the existing row on a conflict.
#[derive(Debug, Clone)]
enum Action {
    Update(Vec<&'static str>),
    UpdateAll,
    Nothing,
}

/// Insert one row for the scope's tenant or, when it conflicts with the
/// tenant's existing row on a unique key, update that row (or leave it):
/// from `M::upsert(&scope, New<M> { .. })`.
///
/// The builder goes through three steps, each checked by the compiler:
///
/// 1. [`on_conflict`](Upsert::on_conflict) names the unique key, **tenant
///    column first**: `(Customer::TENANT_ID, Customer::EMAIL)`. A target
///    without it does not compile.
/// 2. [`do_update`](Upsert::do_update) (these columns),
///    [`do_update_all`](Upsert::do_update_all) (every column of the row
///    but the key's) or [`do_nothing`](Upsert::do_nothing).
/// 3. [`execute`](Upsert::execute), [`fetch_one`](Upsert::fetch_one) or
///    [`fetch_optional`](Upsert::fetch_optional).
///
/// The tenant column is bound from the scope and never updated.
///
/// | backend | SQL |
/// |---|---|
/// | SQLite, PostgreSQL | `INSERT … ON CONFLICT (tenant, key…) DO UPDATE SET col = excluded.col … WHERE table.tenant = $1` |
/// | MySQL/MariaDB | `INSERT … ON DUPLICATE KEY UPDATE tenant = <guard>, col = IF(table.tenant <=> VALUES(tenant), VALUES(col), col) …` |
///
/// **A unique key without the tenant column** (a bad schema: `UNIQUE
/// (email)`) cannot make one tenant's upsert touch another tenant's row:
/// - SQLite, PostgreSQL: the conflict is on a key that is not the target,
///   so the insert fails with a unique violation
///   ([`Error::is_unique_violation`]).
/// - MySQL, whose `ON DUPLICATE KEY UPDATE` fires on any unique key: every
///   assignment keeps the other tenant's values, and a guard on the tenant
///   column makes the statement fail, with
///   [`Error::CrossTenantConflict`]. Nothing is written. The guard holds
///   under any `sql_mode` (it is an unsigned overflow, always an error).
///
/// In row-level-security mode on a pool the upsert runs in a transaction
/// that sets the tenant first, so both its insert and its update pass the
/// policies.
///
/// ```
/// use tenant_core::prelude::*;
///
/// #[derive(Debug, TenantModel)]
/// #[tenant(table = "customers")]
/// struct Customer {
///     #[tenant(primary_key)]
///     id: i64,
///     #[tenant(tenant_id)]
///     tenant_id: TenantId,
///     email: String,
///     name: String,
///     visits: i64,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tenant_core::Error> {
/// # let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// # sqlx::query("CREATE TABLE customers (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, email TEXT NOT NULL, name TEXT NOT NULL, visits INTEGER NOT NULL, UNIQUE (tenant_id, email))")
/// #     .execute(&pool).await?;
/// # let db = TenantDb::sqlite(pool);
/// let acme = TenantScope::new(TenantId::parse("acme")?);
/// let row = |name: &str| NewCustomer { email: "a@example.com".into(), name: name.into(), visits: 1 };
///
/// let first = Customer::upsert(&acme, row("Ann"))
///     .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
///     .do_update((Customer::NAME, Customer::VISITS))
///     .fetch_one(&db)
///     .await?;
/// let second = Customer::upsert(&acme, row("Ann B."))
///     .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
///     .do_update(Customer::NAME)
///     .fetch_one(&db)
///     .await?;
/// assert_eq!((second.id, second.name.as_str()), (first.id, "Ann B."));
///
/// // Leave an existing row as it is.
/// let kept = Customer::upsert(&acme, row("Other"))
///     .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
///     .do_nothing()
///     .execute(&db)
///     .await?;
/// assert_eq!(kept, 0);
/// # Ok(()) }
/// ```
#[must_use = "an upsert does nothing until `execute`, `fetch_one` or `fetch_optional` runs it"]
pub struct Upsert<M: Model, S = NeedsTarget> {
    tenant: TenantValue,
    row: M::New,
    /// The conflict target's columns after the tenant column.
    target: Vec<&'static str>,
    action: Action,
    _state: PhantomData<fn() -> S>,
}

impl<M: Model, S> std::fmt::Debug for Upsert<M, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upsert")
            .field("table", &M::TABLE)
            .field("tenant", &self.tenant)
            .field("target", &self.target)
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

impl<M: Model, S> Upsert<M, S> {
    fn into_state<T>(self) -> Upsert<M, T> {
        Upsert {
            tenant: self.tenant,
            row: self.row,
            target: self.target,
            action: self.action,
            _state: PhantomData,
        }
    }
}

impl<M: TenantOwned> Upsert<M, NeedsTarget> {
    #[doc(hidden)]
    pub fn scoped(scope: &TenantScope<M::TenantKey>, row: M::New) -> Self {
        Upsert {
            tenant: scope.value(),
            row,
            target: Vec::new(),
            action: Action::Nothing,
            _state: PhantomData,
        }
    }

    /// The unique key whose conflict turns the insert into an update: the
    /// tenant column, then the key's other columns, as a tuple —
    /// `(Customer::TENANT_ID, Customer::EMAIL)` — or the tenant column
    /// alone. On MySQL, which has no conflict target, it only documents the
    /// key (the guard described on [`Upsert`] keeps every key safe).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// // `customers` has UNIQUE (tenant_id, email).
    /// let ann = Customer::upsert(&acme, NewCustomer { email: "ann@acme.test".into(), vip: false })
    ///     .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
    ///     .do_update(Customer::VIP)
    ///     .fetch_one(&db)
    ///     .await?;
    /// assert_eq!((ann.id, ann.vip), (1, false)); // the existing row, updated
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_conflict(self, target: impl ConflictTarget<M>) -> Upsert<M, NeedsAction> {
        let mut upsert = self.into_state::<NeedsAction>();
        upsert.target = target.columns();
        upsert
    }
}

impl<M: TenantOwned> Upsert<M, NeedsAction> {
    /// On a conflict, sets these columns of the existing row to the values
    /// of the new row: one column constant or a tuple of them. The tenant
    /// column cannot be named.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let new = NewCustomer { email: "dee@acme.test".into(), vip: true };
    /// let dee = Customer::upsert(&acme, new)
    ///     .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
    ///     .do_update((Customer::VIP,))
    ///     .fetch_one(&db)
    ///     .await?;
    /// assert_eq!((dee.id, dee.vip), (4, true)); // no conflict: inserted
    /// # Ok(())
    /// # }
    /// ```
    pub fn do_update(self, columns: impl UpsertColumns<M>) -> Upsert<M, Ready> {
        let mut upsert = self.into_state::<Ready>();
        upsert.action = Action::Update(columns.columns());
        upsert
    }

    /// On a conflict, sets every column of `New<Model>` except the conflict
    /// target's and the primary key's to the new row's values.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let written = Customer::upsert(&acme, NewCustomer { email: "ann@acme.test".into(), vip: false })
    ///     .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
    ///     .do_update_all()
    ///     .execute(&db)
    ///     .await?;
    /// assert_eq!(written, 1);
    /// assert!(!Customer::find(&acme, 1).fetch_one(&db).await?.vip);
    /// # Ok(())
    /// # }
    /// ```
    pub fn do_update_all(self) -> Upsert<M, Ready> {
        let mut upsert = self.into_state::<Ready>();
        upsert.action = Action::UpdateAll;
        upsert
    }

    /// On a conflict, leaves the existing row as it is.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let kept = Customer::upsert(&acme, NewCustomer { email: "ann@acme.test".into(), vip: false })
    ///     .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
    ///     .do_nothing()
    ///     .fetch_optional(&db)
    ///     .await?;
    /// assert_eq!(kept, None); // SQLite and PostgreSQL return no row
    /// assert!(Customer::find(&acme, 1).fetch_one(&db).await?.vip);
    /// # Ok(())
    /// # }
    /// ```
    pub fn do_nothing(self) -> Upsert<M, Ready> {
        let mut upsert = self.into_state::<Ready>();
        upsert.action = Action::Nothing;
        upsert
    }
}

impl<M: TenantOwned> Upsert<M, Ready> {
    /// The columns the update sets, or `None` to leave the row as it is.
    fn assignments(&self) -> Result<Option<Vec<&'static str>>, Error> {
        let mut columns: Vec<&'static str> = match &self.action {
            Action::Nothing => return Ok(None),
            Action::Update(columns) => {
                // A hand-made column constant may name the tenant column or
                // the key (`SET id = EXCLUDED.id` would renumber the row).
                crate::model::refuse_unsettable::<M>(columns.iter().copied())?;
                columns.clone()
            }
            Action::UpdateAll => M::SCHEMA
                .insert_columns
                .iter()
                .copied()
                .filter(|c| {
                    !self.target.iter().any(|t| t.eq_ignore_ascii_case(c))
                        && !M::PRIMARY_KEY.is_some_and(|pk| pk.eq_ignore_ascii_case(c))
                })
                .collect(),
        };
        let mut seen = Vec::with_capacity(columns.len());
        columns.retain(|c| {
            let new = !seen.iter().any(|s: &&str| s.eq_ignore_ascii_case(c));
            seen.push(*c);
            new
        });
        Ok((!columns.is_empty()).then_some(columns))
    }

    /// The SQL that runs on `backend`; `returning`: with `RETURNING`.
    ///
    /// ```
    /// # use tenant_core::prelude::*;
    /// # use tenant_core::Backend;
    /// # #[derive(TenantModel)]
    /// # #[tenant(table = "customers")]
    /// # struct Customer { #[tenant(primary_key)] id: i64, #[tenant(tenant_id)] tenant_id: TenantId, email: String, name: String }
    /// let acme = TenantScope::new(TenantId::parse("acme").unwrap());
    /// let upsert = Customer::upsert(&acme, NewCustomer { email: "a@x".into(), name: "A".into() })
    ///     .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
    ///     .do_update(Customer::NAME);
    /// assert_eq!(
    ///     upsert.to_sql_for(Backend::Postgres, false)?,
    ///     r#"INSERT INTO "customers" ("tenant_id", "email", "name") VALUES ($1, $2, $3) ON CONFLICT ("tenant_id", "email") DO UPDATE SET "name" = excluded."name" WHERE "customers"."tenant_id" = $1"#
    /// );
    /// assert_eq!(
    ///     upsert.to_sql_for(Backend::MySql, false)?,
    ///     "INSERT INTO `customers` (`tenant_id`, `email`, `name`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE \
    ///      `tenant_id` = IF(18446744073709551615 + (NOT (`customers`.`tenant_id` <=> VALUES(`tenant_id`))) > 0, `customers`.`tenant_id`, `customers`.`tenant_id`), \
    ///      `name` = IF(`customers`.`tenant_id` <=> VALUES(`tenant_id`), VALUES(`name`), `customers`.`name`)"
    /// );
    /// # Ok::<(), tenant_core::Error>(())
    /// ```
    pub fn to_sql_for(&self, backend: Backend, returning: bool) -> Result<String, Error> {
        Ok(render::<M>(
            backend,
            &self.target,
            self.assignments()?.as_deref(),
            returning,
        ))
    }

    fn into_statement(
        self,
        backend: Backend,
        returning: bool,
    ) -> Result<Statement<RowsParams<M::New>>, Error> {
        let sql = render::<M>(
            backend,
            &self.target,
            self.assignments()?.as_deref(),
            returning,
        );
        Ok(Statement {
            label: crate::params::Label::of::<M>(crate::trace::kind::UPSERT),
            sql: Sql::Owned(sql),
            tenant: Some(self.tenant),
            params: RowsParams {
                tenant: Some(self.tenant),
                tenant_per_row: !backend.numbered_placeholders(),
                rows: vec![self.row],
            },
        })
    }

    /// Runs the upsert; returns the number of rows written: 1 for an insert
    /// or an update. When the row is left as it is
    /// ([`do_nothing`](Upsert::do_nothing), or nothing to update), SQLite
    /// and PostgreSQL report 0; MySQL reports 1 (sqlx connects with
    /// `CLIENT_FOUND_ROWS`, which counts the row found).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// // The same e-mail in another tenant is another customer: no conflict.
    /// let new = NewCustomer { email: "ann@acme.test".into(), vip: false };
    /// let written = Customer::upsert(&globex, new)
    ///     .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
    ///     .do_update_all()
    ///     .execute(&db)
    ///     .await?;
    /// assert_eq!(written, 1);
    /// assert_eq!(Customer::query(&globex).count(&db).await?, 2);
    /// assert!(Customer::find(&acme, 1).fetch_one(&db).await?.vip); // acme's ann untouched
    /// # Ok(())
    /// # }
    /// ```
    pub async fn execute<'c>(self, executor: impl Executor<'c>) -> Result<u64, Error> {
        match self.run(executor, false).await? {
            // MySQL counts an updated row twice.
            Output::Count(n) => Ok(n.min(1)),
            Output::Rows(rows) => Ok(rows.len() as u64),
        }
    }

    /// Runs the upsert and returns the row as stored (`RETURNING`): the
    /// inserted row, or the existing row after its update. `None` when
    /// [`do_nothing`](Upsert::do_nothing) left an existing row on SQLite or
    /// PostgreSQL (MariaDB returns the existing row). On MySQL this needs
    /// MariaDB 10.5 or later.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let updated = Customer::upsert(&acme, NewCustomer { email: "ann@acme.test".into(), vip: false })
    ///     .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
    ///     .do_update(Customer::VIP)
    ///     .fetch_optional(&db)
    ///     .await?;
    /// assert_eq!(updated.map(|c| (c.id, c.vip)), Some((1, false)));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_optional<'c>(self, executor: impl Executor<'c>) -> Result<Option<M>, Error> {
        match self.run(executor, true).await? {
            Output::Rows(rows) => Ok(rows.into_iter().next()),
            Output::Count(_) => Ok(None),
        }
    }

    /// Like [`fetch_optional`](Upsert::fetch_optional), with
    /// [`Error::NotFound`] when no row is returned.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let err = Customer::upsert(&acme, NewCustomer { email: "ann@acme.test".into(), vip: false })
    ///     .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
    ///     .do_nothing()
    ///     .fetch_one(&db)
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.is_not_found()); // the row was left as it is
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_one<'c>(self, executor: impl Executor<'c>) -> Result<M, Error> {
        self.fetch_optional(executor).await?.ok_or(Error::NotFound)
    }

    async fn run<'c>(
        self,
        executor: impl Executor<'c>,
        returning: bool,
    ) -> Result<Output<M>, Error> {
        let target = executor.into_target();
        let backend = target.backend();
        let out = if returning {
            Output::Rows(Vec::with_capacity(1))
        } else {
            Output::Count(0)
        };
        let checked = Checks::tenant_for_rows::<M>(Some(self.tenant), std::iter::once(&self.row));
        let result = if checked.is_some() {
            dispatch!(target, on => self.run_checked(on, out).await)
        } else {
            let stmt = self.into_statement(backend, returning)?;
            dispatch!(target, on => run_on::<_, M>(on, stmt, out).await)
        };
        result.map_err(|err| cross_tenant(backend, err, M::TABLE))
    }

    /// Looks up the keys the row refers to for the tenant (see
    /// [`crate::reference`]), then runs the upsert, in one transaction.
    /// (An update on conflict writes the row's own keys, checked here.)
    async fn run_checked<DB: Driver>(
        self,
        on: On<'_, DB>,
        mut out: Output<M>,
    ) -> Result<Output<M>, Error> {
        let tenant = self.tenant;
        let returning = matches!(out, Output::Rows(_));
        in_one_transaction!(on, tenant, |unit| async {
            Checks::of_rows::<M>(std::iter::once(&self.row))
                .run::<DB, M>(&mut unit, tenant)
                .await?;
            let stmt = self.into_statement(DB::BACKEND, returning)?;
            add(&mut out, unit, stmt).await?;
            Ok(out)
        }
        .await)
    }
}

/// The terminals of an unfinished upsert: each fails to compile with
/// [`UnfinishedUpsert`]'s message, once, at the call.
macro_rules! unfinished_terminals {
    ($($state:ty),*) => {$(
        #[doc(hidden)]
        #[allow(unreachable_code)]
        impl<M: TenantOwned> Upsert<M, $state> {
            #[doc(hidden)]
            pub fn execute<'c>(
                self,
                _: impl Executor<'c>,
            ) -> std::future::Ready<Result<u64, Error>>
            where
                Self: UnfinishedUpsert,
            {
                match <Self as UnfinishedUpsert>::refuse() {}
            }

            #[doc(hidden)]
            pub fn fetch_one<'c>(self, _: impl Executor<'c>) -> std::future::Ready<Result<M, Error>>
            where
                Self: UnfinishedUpsert,
            {
                match <Self as UnfinishedUpsert>::refuse() {}
            }

            #[doc(hidden)]
            pub fn fetch_optional<'c>(
                self,
                _: impl Executor<'c>,
            ) -> std::future::Ready<Result<Option<M>, Error>>
            where
                Self: UnfinishedUpsert,
            {
                match <Self as UnfinishedUpsert>::refuse() {}
            }
        }
    )*};
}

unfinished_terminals!(NeedsTarget, NeedsAction);

/// Runs the statement; in row-level-security mode on a pool, in a
/// transaction that sets the tenant first (the update half must pass the
/// policies too).
async fn run_on<DB: Driver, M: Model>(
    on: On<'_, DB>,
    stmt: Statement<RowsParams<M::New>>,
    mut out: Output<M>,
) -> Result<Output<M>, Error> {
    if let (On::Pool { pool, rls: true }, Some(tenant)) = (&on, stmt.tenant) {
        let mut tx = TxConn::begin(pool, Some(begin_with_tenant(&tenant))).await?;
        let result = run_on_connection::<DB, M, _>(tx.connection(), stmt, &mut out).await;
        finish(tx, result).await?;
        return Ok(out);
    }
    add(&mut out, on, stmt).await?;
    Ok(out)
}

/// MySQL's guard error (an unsigned overflow, 1690) as
/// [`Error::CrossTenantConflict`].
fn cross_tenant(backend: Backend, err: Error, table: &'static str) -> Error {
    #[cfg(feature = "mysql")]
    if backend == Backend::MySql
        && let Error::Database(sqlx::Error::Database(db)) = &err
        && let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        && my.number() == 1690
    {
        return Error::CrossTenantConflict { table };
    }
    let _ = (backend, table);
    err
}

/// The upsert's SQL: the one-row insert, the conflict clause, `RETURNING`.
fn render<M: Model>(
    backend: Backend,
    target: &[&str],
    update: Option<&[&'static str]>,
    returning: bool,
) -> String {
    let mut sql =
        insert_many::render::<M>(backend, !backend.numbered_placeholders(), true, 1, false);
    let table = quoted(backend, M::TABLE);
    let tenant = M::TENANT_COLUMN.unwrap_or_default();
    let tenant_quoted = quoted(backend, tenant);
    let mut qualified_tenant = String::new();
    push_column(&mut qualified_tenant, backend, &table, tenant);
    match backend {
        Backend::Sqlite | Backend::Postgres => {
            let _ = write!(sql, " ON CONFLICT ({tenant_quoted}");
            for column in target {
                let _ = write!(sql, ", {}", quoted(backend, column));
            }
            sql.push(')');
            match update {
                None => sql.push_str(" DO NOTHING"),
                Some(columns) => {
                    sql.push_str(" DO UPDATE SET ");
                    for (i, column) in columns.iter().enumerate() {
                        let column = quoted(backend, column);
                        if i > 0 {
                            sql.push_str(", ");
                        }
                        let _ = write!(sql, "{column} = excluded.{column}");
                    }
                    // The target holds the tenant column, so the existing
                    // row is the tenant's already; say so anyway.
                    let _ = write!(sql, " WHERE {qualified_tenant} = $1");
                }
            }
        }
        Backend::MySql => {
            // No conflict target: any unique key fires. The first
            // assignment keeps the tenant column as it is and fails the
            // statement (unsigned overflow, an error under every sql_mode)
            // when the existing row is another tenant's; every other
            // assignment keeps that tenant's value as well.
            let same_tenant = format!("{qualified_tenant} <=> VALUES({tenant_quoted})");
            let _ = write!(
                sql,
                " ON DUPLICATE KEY UPDATE {tenant_quoted} = IF(18446744073709551615 + (NOT ({same_tenant})) > 0, {qualified_tenant}, {qualified_tenant})"
            );
            for column in update.unwrap_or_default() {
                let mut current = String::new();
                push_column(&mut current, backend, &table, column);
                let column = quoted(backend, column);
                let _ = write!(
                    sql,
                    ", {column} = IF({same_tenant}, VALUES({column}), {current})"
                );
            }
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
