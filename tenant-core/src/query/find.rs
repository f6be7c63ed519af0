//! Lookup of one row by primary key.

use crate::backend::Backend;
use crate::db::Executor;
use crate::error::Error;
use crate::exec::{self, Form, dispatch};
use crate::model::{GlobalModel, HasPrimaryKey, TenantOwned};
use crate::params::{KeyParams, Sql, Statement};
use crate::tenant::{TenantScope, TenantValue};

/// Lookup by primary key, from `M::find(&scope, id)`. Its SQL is rendered
/// once per model and backend.
#[must_use = "a query does nothing until a terminal such as `fetch_optional` runs it"]
pub struct Find<M: HasPrimaryKey> {
    tenant: Option<TenantValue>,
    key: M::PrimaryKey,
}

impl<M: HasPrimaryKey> Find<M> {
    #[doc(hidden)]
    pub fn scoped(scope: &TenantScope<M::TenantKey>, key: M::PrimaryKey) -> Self
    where
        M: TenantOwned,
    {
        Find {
            tenant: Some(scope.value()),
            key,
        }
    }

    #[doc(hidden)]
    pub fn global(key: M::PrimaryKey) -> Self
    where
        M: GlobalModel,
    {
        Find { tenant: None, key }
    }

    /// The SQL that runs (PostgreSQL's dialect): `$1` is the tenant, `$2`
    /// the key (just `$1`, the key, for a global model).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// assert_eq!(
    ///     Invoice::find(&acme, 1).to_sql(),
    ///     r#"SELECT "invoices"."id", "invoices"."tenant_id", "invoices"."customer_id", "invoices"."status", "invoices"."amount_cents", "invoices"."note" FROM "invoices" WHERE "invoices"."tenant_id" = $1 AND "invoices"."id" = $2"#
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql(&self) -> &'static str {
        self.to_sql_for(Backend::Postgres)
    }

    /// The SQL that runs on `backend`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::Backend;
    ///
    /// let sql = Invoice::find(&acme, 1).to_sql_for(Backend::MySql);
    /// assert!(sql.ends_with("WHERE `invoices`.`tenant_id` = ? AND `invoices`.`id` = ?"), "{sql}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql_for(&self, backend: Backend) -> &'static str {
        M::sql(backend).find.as_str()
    }

    /// The SQL that runs on a
    /// [`TenantDb::postgres_with_rls`](crate::TenantDb::postgres_with_rls)
    /// pool: `$1` goes to `set_config('app.tenant_id', $1, true)`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let sql = Invoice::find(&acme, 1).to_rls_sql();
    /// assert!(sql.contains("set_config('app.tenant_id', $1, true)"), "{sql}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_rls_sql(&self) -> &'static str {
        let sql = M::sql(Backend::Postgres);
        if self.tenant.is_some() {
            sql.rls_find.as_str()
        } else {
            sql.find.as_str()
        }
    }

    pub(super) fn into_statement(
        self,
        backend: Backend,
        form: Form,
    ) -> Statement<KeyParams<M::PrimaryKey>> {
        let sql = M::sql(backend);
        Statement {
            label: crate::params::Label::of::<M>(crate::trace::kind::FIND),
            sql: Sql::Static(match form {
                Form::Plain => sql.find.as_str(),
                Form::Rls => sql.rls_find.as_str(),
            }),
            tenant: self.tenant,
            params: KeyParams {
                tenant: self.tenant,
                key: self.key,
            },
        }
    }

    /// The row, or `None` when it does not exist for this tenant.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let own = Invoice::find(&acme, 1).fetch_optional(&db).await?;
    /// assert_eq!(own.map(|i| i.amount_cents), Some(1200));
    /// // Invoice 4 exists, but it is globex's.
    /// assert_eq!(Invoice::find(&acme, 4).fetch_optional(&db).await?, None);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_optional<'c>(self, executor: impl Executor<'c>) -> Result<Option<M>, Error> {
        let target = executor.into_target();
        let form = target.form(self.tenant.as_ref());
        let stmt = self.into_statement(target.backend(), form);
        dispatch!(target, on => exec::fetch_optional(on, stmt).await)
    }

    /// The row, or [`Error::NotFound`] when it does not exist for this tenant.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let invoice = Invoice::find(&globex, 4).fetch_one(&db).await?;
    /// assert_eq!(invoice.status, "paid");
    /// let err = Invoice::find(&globex, 1).fetch_one(&db).await.unwrap_err();
    /// assert!(err.is_not_found());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_one<'c>(self, executor: impl Executor<'c>) -> Result<M, Error> {
        self.fetch_optional(executor).await?.ok_or(Error::NotFound)
    }
}
