//! `DELETE` of a model.

use std::marker::PhantomData;

use super::{Filters, by_key_constructors, found_by_key, scope_constructors};
use crate::ast;
use crate::backend::Backend;
use crate::condition::ConditionOn;
use crate::db::Executor;
use crate::error::Error;
use crate::exec::{self, dispatch};
use crate::model::{GlobalModel, HasPrimaryKey, Model, TenantOwned};
use crate::params::{DynParams, Sql, Statement};
use crate::shape;
use crate::tenant::{TenantScope, TenantValue};

/// `DELETE` of model `M`, from `M::delete(&scope)`. Only rows of the scope's
/// tenant are touched.
#[must_use = "a delete does nothing until `execute` runs it"]
pub struct Delete<M> {
    tenant: Option<TenantValue>,
    filters: Filters,
    /// Made by `delete_by_id`: no matching row is [`Error::NotFound`].
    by_key: bool,
    _model: PhantomData<fn() -> M>,
}

impl<M: Model> Delete<M> {
    fn with_tenant(tenant: Option<TenantValue>) -> Self {
        Delete {
            tenant,
            filters: Filters::default(),
            by_key: false,
            _model: PhantomData,
        }
    }

    by_key_constructors!();

    scope_constructors!();

    /// Keeps only rows matching `condition` (combined with `AND`). Without a
    /// filter every row of the tenant is deleted.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let removed = Invoice::delete(&acme)
    ///     .filter(Invoice::STATUS.eq("open"))
    ///     .filter(Invoice::AMOUNT_CENTS.lt(1000))
    ///     .execute(&db)
    ///     .await?;
    /// assert_eq!(removed, 1);
    /// assert_eq!(Invoice::query(&acme).count(&db).await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn filter(mut self, condition: impl ConditionOn<M>) -> Self {
        self.filters.push(condition);
        self
    }

    fn sql(&self, backend: Backend) -> Sql {
        self.sql_with(backend, false)
    }

    /// The statement's text; `returning`: with `RETURNING <columns>`.
    fn sql_with(&self, backend: Backend, returning: bool) -> Sql {
        let sql = M::sql(backend);
        if self.filters.is_empty() && !returning {
            return Sql::Static(sql.delete.as_str());
        }
        let kind = if returning {
            shape::Kind::DeleteReturning
        } else {
            shape::Kind::Delete
        };
        let capacity = sql.delete.len() + sql.returning.len() + 48 * self.filters.len();
        ast::render::<M>(kind, backend, capacity, |pass| {
            pass.sql(&sql.delete);
            pass.filters(
                &self.filters.nodes,
                !sql.scope_where.is_empty(),
                &sql.qualifier,
            );
            if returning {
                pass.sql(&sql.returning);
            }
        })
    }

    /// The SQL that [`execute`](Delete::execute) runs (PostgreSQL's
    /// dialect).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let delete = Invoice::delete(&acme).filter(Invoice::ID.eq(2));
    /// assert_eq!(
    ///     delete.to_sql(),
    ///     r#"DELETE FROM "invoices" WHERE "invoices"."tenant_id" = $1 AND "invoices"."id" = $2"#
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql(&self) -> String {
        self.to_sql_for(Backend::Postgres)
    }

    /// The SQL that [`execute`](Delete::execute) runs on `backend`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::Backend;
    ///
    /// let delete = Invoice::delete(&acme).filter(Invoice::ID.eq(2));
    /// assert_eq!(
    ///     delete.to_sql_for(Backend::MySql),
    ///     "DELETE FROM `invoices` WHERE `invoices`.`tenant_id` = ? AND `invoices`.`id` = ?"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql_for(&self, backend: Backend) -> String {
        self.sql(backend).as_str().to_owned()
    }

    pub(super) fn into_statement(self, backend: Backend) -> Result<Statement<DynParams>, Error> {
        self.into_statement_with(backend, false)
    }

    fn into_statement_with(
        self,
        backend: Backend,
        returning: bool,
    ) -> Result<Statement<DynParams>, Error> {
        self.filters.check_scopes(self.tenant.as_ref())?;
        let sql = self.sql_with(backend, returning);
        let values = self.filters.values;
        Ok(Statement {
            label: crate::params::Label::of::<M>(crate::trace::kind::DELETE),
            sql,
            tenant: self.tenant,
            params: DynParams {
                tenant: self.tenant,
                values,
                limit: None,
                offset: None,
            },
        })
    }

    /// Runs the delete; returns the number of rows removed. Made by
    /// `delete_by_id`, it returns [`Error::NotFound`] when no row of the
    /// scope's tenant has that key.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// // Without a filter: every row of the tenant, and only those.
    /// assert_eq!(Invoice::delete(&acme).execute(&db).await?, 3);
    /// assert_eq!(Invoice::query(&globex).count(&db).await?, 1);
    ///
    /// let err = Invoice::delete_by_id(&acme, 4).execute(&db).await.unwrap_err();
    /// assert!(err.is_not_found()); // globex's invoice 4 stays
    /// # Ok(())
    /// # }
    /// ```
    pub async fn execute<'c>(self, executor: impl Executor<'c>) -> Result<u64, Error> {
        let by_key = self.by_key;
        let target = executor.into_target();
        let stmt = self.into_statement(target.backend())?;
        found_by_key(
            by_key,
            dispatch!(target, on => exec::execute_write(on, stmt).await)?,
        )
    }

    /// Runs the delete and returns the removed rows (`DELETE … RETURNING`;
    /// on MySQL this needs MariaDB 10.0 or later). Only rows of the scope's
    /// tenant are removed and returned. Made by `delete_by_id`, it returns
    /// [`Error::NotFound`] when no row of the scope's tenant has that key.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let removed = Invoice::delete(&acme)
    ///     .filter(Invoice::STATUS.eq("paid"))
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(removed.len(), 1);
    /// assert_eq!(removed[0].note.as_deref(), Some("rush"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_all<'c>(self, executor: impl Executor<'c>) -> Result<Vec<M>, Error> {
        let by_key = self.by_key;
        let target = executor.into_target();
        let stmt = self.into_statement_with(target.backend(), true)?;
        let rows = dispatch!(target, on => exec::fetch_all_write(on, stmt).await)?;
        found_by_key(by_key, rows.len() as u64)?;
        Ok(rows)
    }
}
