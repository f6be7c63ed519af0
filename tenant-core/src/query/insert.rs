//! `INSERT` of one row.

use crate::backend::{Backend, Driver};
use crate::bulk::{Output, add};
use crate::db::Executor;
use crate::error::Error;
use crate::exec::{self, Form, On, dispatch, in_one_transaction};
use crate::model::{GlobalModel, Model, TenantOwned};
use crate::params::{RowParams, Sql, Statement};
use crate::reference::Checks;
use crate::tenant::{TenantScope, TenantValue};

/// `INSERT` of one row, from `M::insert(&scope, New<M> { .. })`. The tenant
/// column is bound from the scope. Its SQL is rendered once per model and
/// backend.
#[must_use = "an insert does nothing until `fetch_one` or `execute` runs it"]
pub struct Insert<M: Model> {
    tenant: Option<TenantValue>,
    row: M::New,
}

impl<M: Model> Insert<M> {
    #[doc(hidden)]
    pub fn scoped(scope: &TenantScope<M::TenantKey>, row: M::New) -> Self
    where
        M: TenantOwned,
    {
        Insert {
            tenant: Some(scope.value()),
            row,
        }
    }

    #[doc(hidden)]
    pub fn global(row: M::New) -> Self
    where
        M: GlobalModel,
    {
        Insert { tenant: None, row }
    }

    /// The SQL that [`fetch_one`](Insert::fetch_one) runs (PostgreSQL's
    /// dialect).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let insert = Invoice::insert(&acme, NewInvoice {
    ///     customer_id: 1,
    ///     status: "open".into(),
    ///     amount_cents: 700,
    ///     note: None,
    /// });
    /// assert!(insert.to_sql().starts_with(r#"INSERT INTO "invoices" ("tenant_id", "customer_id""#));
    /// assert!(insert.to_sql().contains("RETURNING"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql(&self) -> &'static str {
        self.to_sql_for(Backend::Postgres)
    }

    /// The SQL that [`fetch_one`](Insert::fetch_one) runs on `backend`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::Backend;
    ///
    /// let insert = Invoice::insert(&acme, NewInvoice {
    ///     customer_id: 1,
    ///     status: "open".into(),
    ///     amount_cents: 700,
    ///     note: None,
    /// });
    /// assert!(insert.to_sql_for(Backend::MySql).starts_with("INSERT INTO `invoices` (`tenant_id`"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql_for(&self, backend: Backend) -> &'static str {
        M::sql(backend).insert_returning.as_str()
    }

    /// The SQL that [`execute`](Insert::execute) runs on `backend`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::Backend;
    ///
    /// let insert = Invoice::insert(&acme, NewInvoice {
    ///     customer_id: 1,
    ///     status: "open".into(),
    ///     amount_cents: 700,
    ///     note: None,
    /// });
    /// assert!(!insert.to_execute_sql_for(Backend::Sqlite).contains("RETURNING"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_execute_sql_for(&self, backend: Backend) -> &'static str {
        M::sql(backend).insert.as_str()
    }

    /// The SQL that [`fetch_one`](Insert::fetch_one) runs on a
    /// [`TenantDb::postgres_with_rls`](crate::TenantDb::postgres_with_rls)
    /// pool.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let insert = Invoice::insert(&acme, NewInvoice {
    ///     customer_id: 1,
    ///     status: "open".into(),
    ///     amount_cents: 700,
    ///     note: None,
    /// });
    /// assert!(insert.to_rls_sql().contains("set_config('app.tenant_id', $1, true)"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_rls_sql(&self) -> &'static str {
        let sql = M::sql(Backend::Postgres);
        if self.tenant.is_some() {
            sql.rls_insert_returning.as_str()
        } else {
            sql.insert_returning.as_str()
        }
    }

    /// The statement; `returning`: with `RETURNING <columns>`.
    pub(super) fn into_statement(
        self,
        backend: Backend,
        form: Form,
        returning: bool,
    ) -> Statement<RowParams<M::New>> {
        let sql = M::sql(backend);
        let text = match (form, returning) {
            (Form::Plain, true) => &sql.insert_returning,
            (Form::Plain, false) => &sql.insert,
            (Form::Rls, true) => &sql.rls_insert_returning,
            (Form::Rls, false) => &sql.rls_insert,
        };
        Statement {
            label: crate::params::Label::of::<M>(crate::trace::kind::INSERT),
            sql: Sql::Static(text.as_str()),
            tenant: self.tenant,
            params: RowParams {
                tenant: self.tenant,
                row: self.row,
            },
        }
    }

    /// Inserts and returns the stored row (`RETURNING`), with the values the
    /// database filled in. On MySQL this needs MariaDB 10.5 or later (MySQL 8
    /// has no `INSERT … RETURNING`; use [`execute`](Insert::execute)).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let stored = Invoice::insert(&acme, NewInvoice {
    ///     customer_id: 1,
    ///     status: "open".into(),
    ///     amount_cents: 700,
    ///     note: None,
    /// })
    /// .fetch_one(&db)
    /// .await?;
    /// assert_eq!(stored.tenant_id.as_str(), "acme"); // from the scope
    /// assert_eq!(stored.id, 5); // filled in by the database
    ///
    /// // Customer 3 is globex's: acme's invoice cannot point at it.
    /// let wrong = NewInvoice { customer_id: 3, status: "open".into(), amount_cents: 1, note: None };
    /// let err = Invoice::insert(&acme, wrong).fetch_one(&db).await.unwrap_err();
    /// assert!(matches!(err, tenant_core::Error::ReferenceNotFound { .. }), "{err}");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_one<'c>(self, executor: impl Executor<'c>) -> Result<M, Error> {
        let target = executor.into_target();
        if let Some(tenant) = self.checked_tenant() {
            let out = Output::Rows(Vec::with_capacity(1));
            let out = dispatch!(target, on => self.run_checked(on, tenant, out).await)?;
            return out.into_rows().pop().ok_or(Error::NotFound);
        }
        let form = target.form(self.tenant.as_ref());
        let stmt = self.into_statement(target.backend(), form, true);
        dispatch!(target, on => exec::fetch_optional(on, stmt).await)?.ok_or(Error::NotFound)
    }

    /// Inserts and returns the number of rows inserted.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let inserted = Invoice::insert(&globex, NewInvoice {
    ///     customer_id: 3,
    ///     status: "open".into(),
    ///     amount_cents: 250,
    ///     note: Some("first order".into()),
    /// })
    /// .execute(&db)
    /// .await?;
    /// assert_eq!(inserted, 1);
    /// assert_eq!(Invoice::query(&globex).count(&db).await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn execute<'c>(self, executor: impl Executor<'c>) -> Result<u64, Error> {
        let target = executor.into_target();
        if let Some(tenant) = self.checked_tenant() {
            let out =
                dispatch!(target, on => self.run_checked(on, tenant, Output::Count(0)).await)?;
            return Ok(out.count());
        }
        let form = target.form(self.tenant.as_ref());
        let stmt = self.into_statement(target.backend(), form, false);
        dispatch!(target, on => exec::execute(on, stmt).await)
    }

    /// The tenant, when the row refers to other models' rows that must be
    /// the tenant's (see [`crate::reference`]).
    fn checked_tenant(&self) -> Option<TenantValue> {
        Checks::tenant_for_rows::<M>(self.tenant, std::iter::once(&self.row))
    }

    /// Looks up the keys the row refers to, then inserts it, in one
    /// transaction.
    async fn run_checked<DB: Driver>(
        self,
        on: On<'_, DB>,
        tenant: TenantValue,
        mut out: Output<M>,
    ) -> Result<Output<M>, Error> {
        let returning = matches!(out, Output::Rows(_));
        in_one_transaction!(on, tenant, |unit| async {
            Checks::of_rows::<M>(std::iter::once(&self.row))
                .run::<DB, M>(&mut unit, tenant)
                .await?;
            let stmt = self.into_statement(DB::BACKEND, Form::Plain, returning);
            add(&mut out, unit, stmt).await?;
            Ok(out)
        }
        .await)
    }
}
