//! Reads over several tenants, with the cross-tenant capability:
//! `Invoice::query_across(&admin, Tenants::all())`.

use std::marker::PhantomData;
use std::panic::Location;

use super::{Filters, Paging, Projection, paging_methods};
use crate::ast::{self, AstPass};
use crate::backend::{Backend, Driver};
use crate::condition::{ConditionOn, OrderOn};
use crate::cross::{CrossTenant, Tenants, Use};
use crate::db::TenantDb;
use crate::error::Error;
use crate::exec::{self, dispatch};
use crate::model::{Model, TenantOwned};
use crate::params::{DynParams, Label, Sql, Statement};
use crate::render::ModelSql;
use crate::shape::Kind;
use crate::tenant::TenantValue;
use crate::trace::kind;

/// A read of tenant-owned model `M` over all tenants or a listed set, from
/// `M::query_across(&cross_tenant, tenants)`.
///
/// It has the filters, ordering and paging of [`Select`](crate::Select)
/// and runs only on a [`TenantDb`] (never in a tenant's transaction): on the
/// cross-tenant pool when one is configured
/// ([`TenantDb::with_cross_tenant`]), which row-level-security mode
/// requires. Each terminal emits one audit event (see [`crate::cross`]).
///
/// ```
/// # include!("../doctest_setup.rs");
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tenant_core::Error> {
/// # let (db, acme, globex) = setup().await?;
/// use tenant_core::{CrossTenant, TenantId, Tenants};
///
/// let admin = CrossTenant::audited("support: find an invoice by id");
/// let all = Invoice::query_across(&admin, Tenants::all())
///     .order_by(Invoice::ID.asc())
///     .fetch_all(&db)
///     .await?;
/// assert_eq!(all.iter().map(|i| i.id).collect::<Vec<_>>(), [1, 2, 3, 4]);
///
/// let globex_only = Invoice::query_across(&admin, Tenants::listed([TenantId::parse("globex")?]))
///     .count(&db)
///     .await?;
/// assert_eq!(globex_only, 1);
/// # Ok(())
/// # }
/// ```
#[must_use = "a query does nothing until a terminal such as `fetch_all` runs it"]
pub struct Across<M> {
    tenants: Result<Option<Vec<TenantValue>>, Error>,
    filters: Filters,
    order: Vec<(usize, bool)>,
    paging: Paging,
    capability: Use,
    _model: PhantomData<fn() -> M>,
}

/// The shape-cache key type of `Across<M>`'s statements (apart from the
/// scoped ones of `M`).
struct AcrossKey<M>(PhantomData<fn() -> M>);

impl<M: TenantOwned> Across<M> {
    #[doc(hidden)]
    #[track_caller]
    pub fn new(cross: &CrossTenant, tenants: Tenants<M::TenantKey>) -> Self {
        Across {
            tenants: tenants.into_values(),
            filters: Filters::default(),
            order: Vec::new(),
            paging: Paging::default(),
            capability: cross.use_at(Location::caller()),
            _model: PhantomData,
        }
    }

    /// Keeps only rows matching `condition` (combined with `AND`).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::{CrossTenant, Tenants};
    ///
    /// let admin = CrossTenant::audited("overdue report");
    /// let open = Invoice::query_across(&admin, Tenants::all())
    ///     .filter(Invoice::STATUS.eq("open"))
    ///     .count(&db)
    ///     .await?;
    /// assert_eq!(open, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn filter(mut self, condition: impl ConditionOn<M>) -> Self {
        self.filters.push(condition);
        self
    }

    /// Adds an ordering key.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::{CrossTenant, Tenants};
    ///
    /// let admin = CrossTenant::audited("largest invoices of the platform");
    /// let top = Invoice::query_across(&admin, Tenants::all())
    ///     .order_by(Invoice::AMOUNT_CENTS.desc())
    ///     .limit(1)
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(top[0].id, 4);
    /// # Ok(())
    /// # }
    /// ```
    pub fn order_by(mut self, order: impl OrderOn<M>) -> Self {
        self.order.push(order.into_key());
        self
    }

    paging_methods!(
        "Invoice::query_across(&tenant_core::CrossTenant::audited(\"docs\"), tenant_core::Tenants::all()).order_by(Invoice::ID.asc())"
    );

    /// Every matching row, of every tenant covered.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::{CrossTenant, Tenants};
    ///
    /// let admin = CrossTenant::audited("data export");
    /// let rows = Invoice::query_across(&admin, Tenants::all()).fetch_all(&db).await?;
    /// assert_eq!(rows.len(), 4);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_all(self, db: &TenantDb) -> Result<Vec<M>, Error> {
        let target = db.cross_target()?;
        let backend = target.backend();
        let stmt = self.statement(
            (kind::SELECT, Kind::Select),
            |across, pass| across.walk_select(pass, backend),
            backend,
        )?;
        dispatch!(target, on => exec::fetch_all::<_, M, _>(on, stmt).await)
    }

    /// The number of matching rows, of every tenant covered (of the page,
    /// with `limit` or `offset`).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::{CrossTenant, Tenants};
    ///
    /// let admin = CrossTenant::audited("platform totals");
    /// assert_eq!(Invoice::query_across(&admin, Tenants::all()).count(&db).await?, 4);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn count(self, db: &TenantDb) -> Result<i64, Error> {
        let target = db.cross_target()?;
        let backend = target.backend();
        let stmt = self.statement(
            (kind::COUNT, Kind::Count),
            |across, pass| across.walk_count(pass, backend),
            backend,
        )?;
        dispatch!(target, on => exec::fetch_scalar(on, stmt).await)
    }

    /// Groups the rows by tenant and reads `projection` (a tuple of
    /// aggregates such as `(count(), Invoice::AMOUNT_CENTS.sum())`) for
    /// each tenant: one statement, `GROUP BY` the tenant column, ordered by
    /// it. Tenants without a matching row do not appear.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::{CrossTenant, Tenants, count};
    ///
    /// let admin = CrossTenant::audited("usage per tenant");
    /// let usage = Invoice::query_across(&admin, Tenants::all())
    ///     .per_tenant((count(), Invoice::AMOUNT_CENTS.sum()))
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(usage[0], (acme.tenant_id().clone(), (3, Some(1_200 + 300 + 5_000))));
    /// assert_eq!(usage[1].0, *globex.tenant_id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn per_tenant<P: Projection<M>>(mut self, projection: P) -> PerTenant<M, P> {
        // One row per tenant, ordered by it: the read's own ordering and
        // paging do not apply.
        self.order.clear();
        self.paging = Paging::default();
        PerTenant {
            across: self,
            projection,
        }
    }

    /// The SQL that [`fetch_all`](Across::fetch_all) runs on `backend`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::{Backend, CrossTenant, TenantId, Tenants};
    ///
    /// let admin = CrossTenant::audited("docs");
    /// let listed = Tenants::listed([TenantId::parse("acme")?, TenantId::parse("globex")?]);
    /// let sql = Invoice::query_across(&admin, listed)
    ///     .filter(Invoice::STATUS.eq("open"))
    ///     .to_sql_for(Backend::Postgres);
    /// assert!(sql.ends_with(
    ///     r#"FROM "invoices" WHERE "invoices"."tenant_id" IN ($1, $2) AND "invoices"."status" = $3"#
    /// ), "{sql}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql_for(&self, backend: Backend) -> String {
        self.render(Kind::Select, backend, |across, pass| {
            across.walk_select(pass, backend)
        })
        .as_str()
        .to_owned()
    }

    /// Renders one statement of this read (shape-cached like the scoped
    /// ones, under its own key type).
    fn render(&self, kind: Kind, backend: Backend, walk: impl Fn(&Self, &mut AstPass<'_>)) -> Sql {
        let capacity = M::sql(backend).select.len() + 48 * (self.filters.len() + 3);
        ast::render_for::<AcrossKey<M>>(kind, backend, capacity, 1, M::COLUMNS, |pass| {
            walk(self, pass)
        })
    }

    /// Audits the use and makes the statement of span kind `label` and
    /// shape `shape`: the listed tenants, then the filters' values, then
    /// the paging.
    fn statement(
        self,
        (label, shape): (&'static str, Kind),
        walk: impl Fn(&Self, &mut AstPass<'_>),
        backend: Backend,
    ) -> Result<Statement<DynParams>, Error> {
        let sql = self.render(shape, backend, walk);
        let Across {
            tenants,
            filters,
            paging,
            capability,
            ..
        } = self;
        let tenants = tenants?;
        // Refused before the audit: a refused read is not a use.
        filters.check_scopes(None)?;
        capability.audit(label, M::TABLE, tenants.as_deref())?;
        let mut values: Vec<_> = tenants
            .into_iter()
            .flatten()
            .map(TenantValue::into_value)
            .collect();
        values.extend(filters.values);
        Ok(paging.statement(Label::of::<M>(label), sql, None, values))
    }

    /// ` WHERE <tenant> IN (..)` for a listed set (`1 = 0` for an empty
    /// one); nothing for every tenant. Returns whether a `WHERE` was
    /// written.
    fn walk_tenants(&self, pass: &mut AstPass<'_>, sql: &ModelSql) -> bool {
        let list = match &self.tenants {
            Ok(Some(list)) => list.len(),
            // Every tenant; an invalid list is refused before it is sent.
            _ => {
                pass.word(0);
                return false;
            }
        };
        pass.sql(" WHERE ");
        if list == 0 {
            pass.word(2);
            pass.sql("1 = 0");
            return true;
        }
        pass.word(1);
        pass.column(&sql.qualifier, tenant_index::<M>());
        pass.sql(" IN (");
        pass.bind_list(list);
        pass.sql(")");
        true
    }

    /// Tenants, filters, then (`with_order`) ordering and paging.
    fn walk_tail(&self, pass: &mut AstPass<'_>, sql: &ModelSql, with_order: bool) {
        let has_where = self.walk_tenants(pass, sql);
        pass.filters(&self.filters.nodes, has_where, &sql.qualifier);
        if with_order {
            pass.order(&self.order, &sql.qualifier);
            self.paging.walk(pass);
        }
    }

    fn walk_select(&self, pass: &mut AstPass<'_>, backend: Backend) {
        let sql = M::sql(backend);
        pass.sql(unscoped(&sql.select, sql));
        self.walk_tail(pass, sql, true);
    }

    fn walk_count(&self, pass: &mut AstPass<'_>, backend: Backend) {
        let sql = M::sql(backend);
        let paged = self.paging.is_set();
        pass.word(usize::from(paged));
        if paged {
            pass.sql("SELECT COUNT(*) FROM (");
            self.walk_select(pass, backend);
            pass.sql(") AS counted");
        } else {
            pass.sql(unscoped(&sql.count, sql));
            self.walk_tail(pass, sql, false);
        }
    }
}

/// `text` (a scoped statement of the model) without its tenant predicate,
/// which the scoped forms end with.
fn unscoped<'a>(text: &'a str, sql: &ModelSql) -> &'a str {
    text.strip_suffix(sql.scope_where.as_str()).unwrap_or(text)
}

/// The index of `M`'s tenant column in `M::COLUMNS`.
fn tenant_index<M: Model>() -> usize {
    M::COLUMNS
        .iter()
        .position(|c| Some(*c) == M::TENANT_COLUMN)
        .unwrap_or_default()
}

/// Aggregates of model `M` per tenant, from [`Across::per_tenant`].
#[must_use = "a query does nothing until `fetch_all` runs it"]
pub struct PerTenant<M, P> {
    across: Across<M>,
    projection: P,
}

impl<M: TenantOwned, P: Projection<M>> PerTenant<M, P> {
    /// One row per tenant that has matching rows: its key and the
    /// projection's values, ordered by tenant.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::{CrossTenant, Tenants, count};
    ///
    /// let admin = CrossTenant::audited("invoice counts");
    /// let counts = Invoice::query_across(&admin, Tenants::all())
    ///     .per_tenant((count(),))
    ///     .fetch_all(&db)
    ///     .await?;
    /// let counts: Vec<(String, i64)> =
    ///     counts.into_iter().map(|(t, (n,))| (t.to_string(), n)).collect();
    /// assert_eq!(counts, [("acme".to_owned(), 3), ("globex".to_owned(), 1)]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_all(self, db: &TenantDb) -> Result<Vec<(M::TenantKey, P::Row)>, Error> {
        let target = db.cross_target()?;
        let backend = target.backend();
        let nodes = self.projection.nodes();
        // A plain column is not one value per tenant: PostgreSQL would
        // refuse it, SQLite and MySQL would pick any row's.
        if nodes
            .iter()
            .any(|n| matches!(n, super::ExprNode::Column(_)))
        {
            return Err(Error::Unsupported {
                backend,
                operation: "per_tenant of a plain column (take an aggregate: count(), .sum(), .min(), .max(), .avg())",
            });
        }
        let tenant_at = nodes.len();
        let stmt = self.across.statement(
            (kind::AGGREGATE, Kind::Aggregate),
            |across, pass| {
                let sql = M::sql(backend);
                let tenant = tenant_index::<M>();
                pass.sql("SELECT ");
                for item in &nodes {
                    item.walk(pass, &sql.qualifier);
                    pass.sql(", ");
                }
                pass.column(&sql.qualifier, tenant);
                pass.sql(" FROM ");
                pass.sql(&sql.qualifier);
                across.walk_tail(pass, sql, false);
                pass.sql(" GROUP BY ");
                pass.column(&sql.qualifier, tenant);
                pass.sql(" ORDER BY ");
                pass.column(&sql.qualifier, tenant);
            },
            backend,
        )?;
        dispatch!(target, on => fetch_per_tenant::<_, M, P>(on, stmt, tenant_at).await)
    }
}

/// The rows of a per-tenant aggregate: the projection's items, then the
/// tenant key at `tenant_at`.
async fn fetch_per_tenant<DB: Driver, M: Model, P: Projection<M>>(
    on: exec::On<'_, DB>,
    stmt: Statement<DynParams>,
    tenant_at: usize,
) -> Result<Vec<(M::TenantKey, P::Row)>, Error> {
    exec::fetch_all_as(on, stmt, move |row| {
        Ok((
            DB::get::<M::TenantKey>(row, tenant_at)?,
            P::decode::<DB>(row)?,
        ))
    })
    .await
}
