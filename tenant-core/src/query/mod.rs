//! The statement builders, one file per statement kind. Each is made by a
//! generated constructor (`Invoice::query(&scope)` ...) and run by a
//! terminal that takes an [`Executor`](crate::Executor).

mod across;
mod aggregate;
mod children;
mod delete;
mod find;
mod insert;
mod join;
mod keyset;
mod prepare;
mod refused;
mod select;
mod subquery;
mod update;

pub use across::{Across, PerTenant};
pub use aggregate::ExprNode;
pub use aggregate::{
    Aggregate, Aggregated, As, Count, Expr, GroupKey, Having, HavingOn, Operand, Projection,
    ProjectsAs, Summable, Summed, TenantProjection, count, projected,
};
pub use delete::Delete;
pub use find::Find;
pub use insert::Insert;
pub use join::{Inner, Join, JoinCondition, JoinKind, JoinOrder, Left};
pub use keyset::{Keyset, Page, SortOrder};
pub use prepare::Prepare;
pub use refused::{KeylessFind, Refused};
pub use select::Select;
pub use subquery::Subquery;
pub(crate) use subquery::SubqueryNode;
pub use update::{
    Assigned, HasAssignments, NoAssignments, Numeric, NumericRange, SetsAColumn, Update,
};

use crate::condition::{CmpOp, ConditionOn, Node};
use crate::error::Error;
use crate::model::HasPrimaryKey;
use crate::value::Value;

/// `LIMIT` and `OFFSET` of a statement that reads rows.
#[derive(Debug, Clone, Copy, Default)]
struct Paging {
    limit: Option<u32>,
    offset: Option<u32>,
}

impl Paging {
    /// Whether the statement has a `LIMIT` (an `OFFSET` alone comes with
    /// a maximal one).
    fn is_set(&self) -> bool {
        self.limit.is_some() || self.offset.is_some()
    }

    /// ` LIMIT ?` and ` OFFSET ?`, as they apply.
    fn walk(&self, pass: &mut crate::ast::AstPass<'_>) {
        pass.tag(crate::shape::Tag::Paging);
        pass.when(self.is_set(), " LIMIT ");
        if self.is_set() {
            pass.bind();
        }
        pass.when(self.offset.is_some(), " OFFSET ");
        if self.offset.is_some() {
            pass.bind();
        }
    }

    /// The statement of `sql` with the tenant, `values` and the paging
    /// bound in that order. No `LIMIT` with an `OFFSET` means every
    /// remaining row; every backend accepts a maximal `LIMIT` for that.
    fn statement(
        self,
        label: crate::params::Label,
        sql: crate::params::Sql,
        tenant: Option<crate::tenant::TenantValue>,
        values: Vec<Value>,
    ) -> crate::params::Statement<crate::params::DynParams> {
        let limit = match (self.limit, self.offset) {
            (Some(n), _) => Some(i64::from(n)),
            (None, Some(_)) => Some(i64::MAX),
            (None, None) => None,
        };
        crate::params::Statement {
            label,
            sql,
            tenant,
            params: crate::params::DynParams {
                tenant,
                values,
                limit,
                offset: self.offset.map(i64::from),
            },
        }
    }
}

/// `limit` and `offset` of a builder with a `paging: Paging` field.
macro_rules! paging_methods {
    // `$q`: an example query of the builder, for the doc examples.
    ($q:literal) => {
        /// Returns at most `n` rows.
        ///
        /// ```
        /// # include!("../doctest_setup.rs");
        /// # use tenant_core::count;
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), tenant_core::Error> {
        /// # let (db, acme, globex) = setup().await?;
        #[doc = concat!(" let rows = ", $q, ".limit(1).fetch_all(&db).await?;")]
        /// assert_eq!(rows.len(), 1);
        /// # Ok(())
        /// # }
        /// ```
        pub fn limit(mut self, n: u32) -> Self {
            self.paging.limit = Some(n);
            self
        }

        /// Skips the first `n` rows.
        ///
        /// ```
        /// # include!("../doctest_setup.rs");
        /// # use tenant_core::count;
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), tenant_core::Error> {
        /// # let (db, acme, globex) = setup().await?;
        #[doc = concat!(" let all = ", $q, ".fetch_all(&db).await?;")]
        #[doc = concat!(" let rest = ", $q, ".limit(10).offset(1).fetch_all(&db).await?;")]
        /// assert_eq!(rest.len(), all.len() - 1);
        /// assert_eq!(rest[0], all[1]);
        /// # Ok(())
        /// # }
        /// ```
        pub fn offset(mut self, n: u32) -> Self {
            self.paging.offset = Some(n);
            self
        }
    };
}
use paging_methods;

/// `to_sql`, `to_sql_for` and `to_rls_sql` of a reading builder with a
/// `tenant` field and `fn sql(&self, Backend, Form) -> Sql`.
macro_rules! sql_accessors {
    // `$q`: an example query of the builder, for the doc examples.
    ($q:literal) => {
        /// The SQL that `fetch_all` runs (PostgreSQL's dialect).
        ///
        /// ```
        /// # include!("../doctest_setup.rs");
        /// # use tenant_core::count;
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), tenant_core::Error> {
        /// # let (db, acme, globex) = setup().await?;
        #[doc = concat!(" let sql = ", $q, ".to_sql();")]
        /// assert!(sql.contains(r#""invoices"."tenant_id" = $1"#), "{sql}");
        /// # Ok(())
        /// # }
        /// ```
        pub fn to_sql(&self) -> String {
            self.to_sql_for(Backend::Postgres)
        }

        /// The SQL that `fetch_all` runs on `backend`.
        ///
        /// ```
        /// # include!("../doctest_setup.rs");
        /// # use tenant_core::count;
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), tenant_core::Error> {
        /// # let (db, acme, globex) = setup().await?;
        #[doc = concat!(" let sql = ", $q, ".to_sql_for(tenant_core::Backend::MySql);")]
        /// assert!(sql.contains("`invoices`.`tenant_id` = ?"), "{sql}");
        /// # Ok(())
        /// # }
        /// ```
        pub fn to_sql_for(&self, backend: Backend) -> String {
            self.sql(backend, Form::Plain).as_str().to_owned()
        }

        /// The SQL that `fetch_all` runs on a
        /// [`TenantDb::postgres_with_rls`](crate::TenantDb::postgres_with_rls)
        /// pool: `$1` goes to `set_config('app.tenant_id', $1, true)`.
        ///
        /// ```
        /// # include!("../doctest_setup.rs");
        /// # use tenant_core::count;
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), tenant_core::Error> {
        /// # let (db, acme, globex) = setup().await?;
        #[doc = concat!(" let sql = ", $q, ".to_rls_sql();")]
        /// assert!(sql.contains("set_config('app.tenant_id', $1, true)"), "{sql}");
        /// # Ok(())
        /// # }
        /// ```
        pub fn to_rls_sql(&self) -> String {
            let form = if self.tenant.is_some() {
                Form::Rls
            } else {
                Form::Plain
            };
            self.sql(Backend::Postgres, form).as_str().to_owned()
        }
    };
}
use sql_accessors;

/// The `AND`ed filters of a statement: the condition trees, and their
/// values in placeholder order.
#[derive(Default)]
struct Filters {
    nodes: Vec<Node>,
    values: Vec<Value>,
}

impl Filters {
    fn push<M>(&mut self, condition: impl ConditionOn<M>) {
        let condition = condition.into_condition();
        self.nodes.push(condition.node);
        self.values.extend(condition.values);
    }

    fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Refuses a subquery scoped to another tenant than the statement's
    /// `tenant` (see [`Node::check_scopes`]).
    fn check_scopes(&self, tenant: Option<&crate::tenant::TenantValue>) -> Result<(), Error> {
        check_scopes(&self.nodes, tenant)
    }
}

/// Refuses a subquery in `nodes` scoped to another tenant than `tenant`.
fn check_scopes(nodes: &[Node], tenant: Option<&crate::tenant::TenantValue>) -> Result<(), Error> {
    nodes.iter().try_for_each(|node| node.check_scopes(tenant))
}

/// The hidden constructors behind `M::query(&scope)` / `M::query()` (and
/// `update`, `delete`): a scoped one for a tenant-owned model, an unscoped
/// one for a global model. Shared by [`Select`], [`Update`] and [`Delete`],
/// which each have `with_tenant`.
macro_rules! scope_constructors {
    () => {
        #[doc(hidden)]
        pub fn scoped(scope: &TenantScope<M::TenantKey>) -> Self
        where
            M: TenantOwned,
        {
            Self::with_tenant(Some(scope.value()))
        }

        #[doc(hidden)]
        pub fn global() -> Self
        where
            M: GlobalModel,
        {
            Self::with_tenant(None)
        }
    };
}
use scope_constructors;

/// The constructors of `update_by_id` / `delete_by_id`: a filter on the
/// primary key, and `NotFound` when it matches no row. Shared by
/// [`Update`] and [`Delete`], which both have `filters` and `by_key`.
macro_rules! by_key_constructors {
    () => {
        fn with_key(tenant: Option<TenantValue>, key: M::PrimaryKey) -> Self
        where
            M: HasPrimaryKey,
        {
            let mut statement = Self::with_tenant(tenant);
            let (node, value) = super::key_filter::<M>(key);
            statement.filters.nodes.push(node);
            statement.filters.values.push(value);
            statement.by_key = true;
            statement
        }

        #[doc(hidden)]
        pub fn scoped_by_key(scope: &TenantScope<M::TenantKey>, key: M::PrimaryKey) -> Self
        where
            M: TenantOwned + HasPrimaryKey,
        {
            Self::with_key(Some(scope.value()), key)
        }

        #[doc(hidden)]
        pub fn global_by_key(key: M::PrimaryKey) -> Self
        where
            M: GlobalModel + HasPrimaryKey,
        {
            Self::with_key(None, key)
        }
    };
}
use by_key_constructors;

/// The rows a write changed; [`Error::NotFound`] for a by-key write that
/// changed none.
fn found_by_key(by_key: bool, rows: u64) -> Result<u64, Error> {
    if by_key && rows == 0 {
        Err(Error::NotFound)
    } else {
        Ok(rows)
    }
}

/// `primary_key = key`, the filter of the by-key forms, and its value.
fn key_filter<M: HasPrimaryKey>(key: M::PrimaryKey) -> (Node, Value) {
    let node = Node::Compare {
        column: M::PRIMARY_KEY_INDEX,
        op: CmpOp::Eq,
    };
    (node, Value::new(key))
}

/// The rows of `stmt` as models `M`, each with its column `column` read
/// from the row as a `K` (a page's key, a parent's key, a child's
/// reference).
async fn fetch_keyed<DB, M, K>(
    on: crate::exec::On<'_, DB>,
    stmt: crate::params::Statement<crate::params::DynParams>,
    column: usize,
) -> Result<Vec<(M, K)>, Error>
where
    DB: crate::backend::Driver,
    M: crate::model::Model,
    K: crate::value::SqlType + Unpin,
{
    crate::exec::fetch_all_as(on, stmt, move |row| {
        Ok((
            M::decode::<DB>(row, 0, crate::model::DecodeToken::new())?,
            DB::get::<K>(row, column)?,
        ))
    })
    .await
}
