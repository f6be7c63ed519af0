//! `SELECT` and `COUNT` of a model.

use std::marker::PhantomData;

use super::{Filters, Paging, paging_methods, scope_constructors};
use crate::ast::{self, AstPass};
use crate::backend::Backend;
use crate::condition::{ConditionOn, OrderOn};
use crate::db::Executor;
use crate::error::Error;
use crate::exec::{self, Form, dispatch};
use crate::model::{GlobalModel, Model, TenantOwned};
use crate::params::{DynParams, Label, Sql, Statement};
use crate::shape;
use crate::sql::ROW_ALIAS;
use crate::tenant::{TenantScope, TenantValue};
use crate::trace::kind;
use crate::value::Value;

/// `SELECT` of model `M`, from `M::query(&scope)`.
///
/// Filters combine with `AND`; [`order_by`](Select::order_by) may be called
/// several times, each adding a key.
#[must_use = "a query does nothing until a terminal such as `fetch_all` runs it"]
pub struct Select<M> {
    tenant: Option<TenantValue>,
    filters: Filters,
    order: Vec<(usize, bool)>,
    paging: Paging,
    _model: PhantomData<fn() -> M>,
}

impl<M: Model> Select<M> {
    pub(super) fn with_tenant(tenant: Option<TenantValue>) -> Self {
        Select {
            tenant,
            filters: Filters::default(),
            order: Vec::new(),
            paging: Paging::default(),
            _model: PhantomData,
        }
    }

    scope_constructors!();

    /// Keeps only rows matching `condition` (combined with `AND`).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// // Each `filter` is ANDed with the others, and all with the tenant.
    /// let rows = Invoice::query(&acme)
    ///     .filter(Invoice::STATUS.eq("open"))
    ///     .filter(Invoice::AMOUNT_CENTS.lt(1000))
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(rows.iter().map(|i| i.id).collect::<Vec<_>>(), [2]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn filter(mut self, condition: impl ConditionOn<M>) -> Self {
        self.filters.push(condition);
        self
    }

    /// Adds an ordering key: `.order_by(Invoice::ID.desc())`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let rows = Invoice::query(&acme)
    ///     .order_by(Invoice::CUSTOMER_ID.desc())
    ///     .order_by(Invoice::AMOUNT_CENTS.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(rows.iter().map(|i| i.id).collect::<Vec<_>>(), [3, 2, 1]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn order_by(mut self, order: impl OrderOn<M>) -> Self {
        self.order.push(order.into_key());
        self
    }

    paging_methods!("Invoice::query(&acme).order_by(Invoice::ID.asc())");

    /// The tenant the query is scoped to.
    pub(super) fn tenant(&self) -> Option<TenantValue> {
        self.tenant
    }

    /// Adds a filter from its parts (a node and its values).
    pub(super) fn push_filter(&mut self, node: crate::condition::Node, values: Vec<Value>) {
        self.filters.nodes.push(node);
        self.filters.values.extend(values);
    }

    /// The statement for `target`.
    pub(super) fn statement_for(
        self,
        target: &exec::Target<'_>,
    ) -> Result<Statement<DynParams>, Error> {
        let sql = self.select_sql(target.backend(), target.form(self.tenant.as_ref()));
        self.into_statement(kind::SELECT, sql)
    }

    /// The scope, filters, ordering and paging (a join starts from them).
    #[allow(clippy::type_complexity)]
    pub(super) fn into_parts(self) -> (Option<TenantValue>, Filters, Vec<(usize, bool)>, Paging) {
        (self.tenant, self.filters, self.order, self.paging)
    }

    fn has_paging(&self) -> bool {
        self.paging.is_set()
    }

    /// Walks filters, ordering (unless `with_order` is false) and paging.
    fn walk_tail(&self, pass: &mut AstPass<'_>, backend: Backend, with_order: bool) {
        let sql = M::sql(backend);
        pass.filters(
            &self.filters.nodes,
            !sql.scope_where.is_empty(),
            &sql.qualifier,
        );
        if with_order {
            pass.order(&self.order, &sql.qualifier);
        }
        self.paging.walk(pass);
    }

    /// Walks an open row-level-security head (see `ModelSql`): the
    /// filters, ordering and paging go inside the LATERAL subquery; without
    /// paging, `OFFSET 0` keeps it from being flattened. The ordering is
    /// repeated outside so the result order is defined.
    fn walk_rls(&self, pass: &mut AstPass<'_>, backend: Backend, head: &str, outer_order: bool) {
        pass.sql(head);
        self.walk_tail(pass, backend, true);
        pass.rls_close(self.has_paging());
        if outer_order {
            pass.order(&self.order, ROW_ALIAS);
        }
    }

    /// Bytes to reserve for the text.
    fn capacity(&self, backend: Backend) -> usize {
        let sql = M::sql(backend);
        sql.select.len().max(sql.rls_select_head.len()) + 48 * (self.filters.len() + 2)
    }

    fn is_plain(&self) -> bool {
        self.filters.is_empty() && self.order.is_empty() && !self.has_paging()
    }

    fn select_sql(&self, backend: Backend, form: Form) -> Sql {
        let sql = M::sql(backend);
        if self.is_plain() {
            return Sql::Static(match form {
                Form::Plain => sql.select.as_str(),
                Form::Rls => sql.rls_select.as_str(),
            });
        }
        let kind = match form {
            Form::Plain => shape::Kind::Select,
            Form::Rls => shape::Kind::SelectRls,
        };
        ast::render::<M>(kind, backend, self.capacity(backend), |pass| match form {
            Form::Plain => {
                pass.sql(&sql.select);
                self.walk_tail(pass, backend, true);
            }
            Form::Rls => self.walk_rls(pass, backend, &sql.rls_select_head, true),
        })
    }

    fn count_sql(&self, backend: Backend, form: Form) -> Sql {
        let sql = M::sql(backend);
        if self.filters.is_empty() && !self.has_paging() {
            return Sql::Static(match form {
                Form::Plain => sql.count.as_str(),
                Form::Rls => sql.rls_count.as_str(),
            });
        }
        let kind = match form {
            Form::Plain => shape::Kind::Count,
            Form::Rls => shape::Kind::CountRls,
        };
        ast::render::<M>(kind, backend, self.capacity(backend), |pass| {
            self.walk_count(pass, backend, form)
        })
    }

    fn walk_count(&self, pass: &mut AstPass<'_>, backend: Backend, form: Form) {
        let sql = M::sql(backend);
        match form {
            Form::Rls if !self.has_paging() => {
                pass.sql(&sql.rls_count_agg_head);
                self.walk_tail(pass, backend, false);
                pass.sql(") AS ");
                pass.sql(ROW_ALIAS);
            }
            // The page's ordering decides which rows are counted; the single
            // count row needs no order.
            Form::Rls => self.walk_rls(pass, backend, &sql.rls_count_head, false),
            Form::Plain if !self.has_paging() => {
                pass.sql(&sql.count);
                self.walk_tail(pass, backend, false);
            }
            Form::Plain => {
                // COUNT over a page: count the rows the page would return.
                pass.sql("SELECT COUNT(*) FROM (");
                pass.sql(&sql.select);
                self.walk_tail(pass, backend, true);
                pass.sql(") AS counted");
            }
        }
    }

    /// The SQL that [`fetch_all`](Select::fetch_all) runs (PostgreSQL's
    /// dialect: values appear as `$n` placeholders).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let query = Invoice::query(&acme).filter(Invoice::STATUS.eq("open"));
    /// assert!(query.to_sql().ends_with(
    ///     r#"WHERE "invoices"."tenant_id" = $1 AND "invoices"."status" = $2"#
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql(&self) -> String {
        self.to_sql_for(Backend::Postgres)
    }

    /// The SQL that [`fetch_all`](Select::fetch_all) runs on `backend`:
    ///
    /// ```
    /// use tenant_core::prelude::*;
    /// use tenant_core::Backend;
    ///
    /// #[derive(TenantModel)]
    /// #[tenant(table = "invoices")]
    /// struct Invoice {
    ///     #[tenant(primary_key)]
    ///     id: i64,
    ///     #[tenant(tenant_id)]
    ///     tenant_id: TenantId,
    ///     amount_cents: i64,
    /// }
    ///
    /// let acme = TenantScope::new(TenantId::parse("acme").unwrap());
    /// let query = Invoice::query(&acme).filter(Invoice::AMOUNT_CENTS.gt(100));
    /// assert!(query.to_sql_for(Backend::MySql).ends_with(
    ///     "WHERE `invoices`.`tenant_id` = ? AND `invoices`.`amount_cents` > ?"
    /// ));
    /// assert!(query.to_sql_for(Backend::Postgres).ends_with(
    ///     r#"WHERE "invoices"."tenant_id" = $1 AND "invoices"."amount_cents" > $2"#
    /// ));
    /// ```
    pub fn to_sql_for(&self, backend: Backend) -> String {
        self.select_sql(backend, Form::Plain).as_str().to_owned()
    }

    /// The SQL that [`count`](Select::count) runs.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let query = Invoice::query(&acme).filter(Invoice::STATUS.eq("open"));
    /// assert_eq!(
    ///     query.to_count_sql(),
    ///     r#"SELECT COUNT(*) FROM "invoices" WHERE "invoices"."tenant_id" = $1 AND "invoices"."status" = $2"#
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_count_sql(&self) -> String {
        self.to_count_sql_for(Backend::Postgres)
    }

    /// The SQL that [`count`](Select::count) runs on `backend`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::Backend;
    ///
    /// let query = Invoice::query(&acme).filter(Invoice::STATUS.eq("open"));
    /// assert_eq!(
    ///     query.to_count_sql_for(Backend::MySql),
    ///     "SELECT COUNT(*) FROM `invoices` WHERE `invoices`.`tenant_id` = ? AND `invoices`.`status` = ?"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_count_sql_for(&self, backend: Backend) -> String {
        self.count_sql(backend, Form::Plain).as_str().to_owned()
    }

    /// The SQL that [`fetch_all`](Select::fetch_all) runs on a
    /// [`TenantDb::postgres_with_rls`](crate::TenantDb::postgres_with_rls)
    /// pool: `$1` goes to `set_config('app.tenant_id', $1, true)`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let sql = Invoice::query(&acme).to_rls_sql();
    /// // The setting is made by the statement itself, transaction-locally, and
    /// // the tenant predicate stays.
    /// assert!(sql.contains("set_config('app.tenant_id', $1, true)"), "{sql}");
    /// assert!(sql.contains(r#""invoices"."tenant_id" = "#), "{sql}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_rls_sql(&self) -> String {
        let form = if self.tenant.is_some() {
            Form::Rls
        } else {
            Form::Plain
        };
        self.select_sql(Backend::Postgres, form).as_str().to_owned()
    }

    /// The statement of `sql`; refused when a subquery is scoped to
    /// another tenant.
    pub(super) fn into_statement(
        self,
        kind: &'static str,
        sql: Sql,
    ) -> Result<Statement<DynParams>, Error> {
        self.filters.check_scopes(self.tenant.as_ref())?;
        let label = Label::of::<M>(kind);
        Ok(self
            .paging
            .statement(label, sql, self.tenant, self.filters.values))
    }

    /// The plain-form statement for `backend` (for [`Prepare`](super::Prepare)).
    pub(super) fn plain_statement(self, backend: Backend) -> Result<Statement<DynParams>, Error> {
        let sql = self.select_sql(backend, Form::Plain);
        self.into_statement(kind::SELECT, sql)
    }

    /// Every matching row.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let mine = Invoice::query(&acme).fetch_all(&db).await?;
    /// assert_eq!(mine.len(), 3);
    /// assert!(mine.iter().all(|i| i.tenant_id.as_str() == "acme"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_all<'c>(self, executor: impl Executor<'c>) -> Result<Vec<M>, Error> {
        let target = executor.into_target();
        let sql = self.select_sql(target.backend(), target.form(self.tenant.as_ref()));
        let stmt = self.into_statement(kind::SELECT, sql)?;
        dispatch!(target, on => exec::fetch_all(on, stmt).await)
    }

    /// The first matching row, or `None`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let first = Invoice::query(&acme)
    ///     .order_by(Invoice::AMOUNT_CENTS.desc())
    ///     .fetch_optional(&db)
    ///     .await?;
    /// assert_eq!(first.map(|i| i.id), Some(3));
    /// let none = Invoice::query(&globex)
    ///     .filter(Invoice::STATUS.eq("open"))
    ///     .fetch_optional(&db)
    ///     .await?;
    /// assert_eq!(none, None);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_optional<'c>(self, executor: impl Executor<'c>) -> Result<Option<M>, Error> {
        let target = executor.into_target();
        let sql = self.select_sql(target.backend(), target.form(self.tenant.as_ref()));
        let stmt = self.into_statement(kind::SELECT, sql)?;
        dispatch!(target, on => exec::fetch_optional(on, stmt).await)
    }

    /// The first matching row, or [`Error::NotFound`].
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let paid = Invoice::query(&acme)
    ///     .filter(Invoice::STATUS.eq("paid"))
    ///     .fetch_one(&db)
    ///     .await?;
    /// assert_eq!(paid.id, 1);
    /// let missing = Invoice::query(&acme)
    ///     .filter(Invoice::STATUS.eq("void"))
    ///     .fetch_one(&db)
    ///     .await;
    /// assert!(missing.is_err_and(|e| e.is_not_found()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_one<'c>(self, executor: impl Executor<'c>) -> Result<M, Error> {
        self.fetch_optional(executor).await?.ok_or(Error::NotFound)
    }

    /// Every matching row as a [`Stream`](futures_core::Stream), read from
    /// the database as it is polled, for result sets too large to hold at
    /// once (sqlx's `fetch`). Consume it with `futures::StreamExt` /
    /// `TryStreamExt`.
    ///
    /// On a pool the stream holds a connection until it ends or is dropped.
    /// With row-level security the tenant is set by the statement itself,
    /// local to its own implicit transaction, so dropping the stream halfway
    /// leaves neither a transaction nor the setting on the connection (its
    /// unread rows are read off before the pool hands it out again). Given
    /// `&mut tx`, the stream borrows the transaction until it is dropped. A
    /// statement refused before it is sent (another tenant's transaction)
    /// is the stream's single item, an error.
    ///
    /// ```
    /// use futures_util::TryStreamExt;
    /// use tenant_core::prelude::*;
    ///
    /// #[derive(Debug, TenantModel)]
    /// #[tenant(table = "events")]
    /// struct Event {
    ///     #[tenant(primary_key)]
    ///     id: i64,
    ///     #[tenant(tenant_id)]
    ///     tenant_id: TenantId,
    ///     kind: String,
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// let db = TenantDb::connect("sqlite::memory:").await?;
    /// sqlx::query("CREATE TABLE events (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, kind TEXT NOT NULL)")
    ///     .execute(db.raw_sqlite(&tenant_core::CrossTenant::audited("schema migrations"))?)
    ///     .await?;
    /// let acme = TenantScope::new(TenantId::parse("acme")?);
    /// for kind in ["a", "b", "c"] {
    ///     Event::insert(&acme, NewEvent { kind: kind.into() }).execute(&db).await?;
    /// }
    ///
    /// let mut events = Event::query(&acme).order_by(Event::ID.asc()).fetch(&db);
    /// let mut kinds = Vec::new();
    /// while let Some(event) = events.try_next().await? {
    ///     kinds.push(event.kind);
    /// }
    /// assert_eq!(kinds, ["a", "b", "c"]);
    /// # Ok(()) }
    /// ```
    pub fn fetch<'c>(
        self,
        executor: impl Executor<'c>,
    ) -> futures_core::stream::BoxStream<'c, Result<M, Error>> {
        let target = executor.into_target();
        let sql = self.select_sql(target.backend(), target.form(self.tenant.as_ref()));
        match self.into_statement(kind::SELECT, sql) {
            Ok(stmt) => dispatch!(target, on => exec::fetch_stream(on, stmt)),
            Err(err) => exec::refused(err),
        }
    }

    /// The number of matching rows (within `limit`/`offset` when set).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// assert_eq!(Invoice::query(&acme).count(&db).await?, 3);
    /// assert_eq!(Invoice::query(&globex).count(&db).await?, 1);
    /// // Within the page when paged.
    /// assert_eq!(Invoice::query(&acme).limit(2).count(&db).await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn count<'c>(self, executor: impl Executor<'c>) -> Result<i64, Error> {
        let target = executor.into_target();
        let sql = self.count_sql(target.backend(), target.form(self.tenant.as_ref()));
        let stmt = self.into_statement(kind::COUNT, sql)?;
        dispatch!(target, on => exec::fetch_scalar(on, stmt).await)
    }
}
