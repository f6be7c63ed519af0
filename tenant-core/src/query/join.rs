//! A join of two related models, from `A::query(&scope).inner_join::<B>()`
//! or `.left_join::<B>()`: rows of `(A, B)` or `(A, Option<B>)`.

use std::marker::PhantomData;

use super::{Paging, Select, paging_methods, sql_accessors};
use crate::ast::{self, AstPass};
use crate::backend::{Backend, Driver};
use crate::condition::{Condition, Node, Order};
use crate::db::Executor;
use crate::error::Error;
use crate::exec::{self, Form, dispatch};
use crate::model::{DecodeToken, Model};
use crate::params::{DynParams, Sql, Statement};
use crate::relation::{Reaches, Related};
use crate::shape::{self, Tag};
use crate::sql::{push_column, push_position_alias};
use crate::tenant::TenantValue;
use crate::value::Value;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Inner {}
    impl Sealed for super::Left {}
    pub trait SealedSide<A, B, S> {}
    impl<A, B> SealedSide<A, B, super::First> for crate::condition::Condition<A> {}
    impl<A, B> SealedSide<A, B, super::Second> for crate::condition::Condition<B> {}
    impl<A, B> SealedSide<A, B, super::First> for crate::condition::Order<A> {}
    impl<A, B> SealedSide<A, B, super::Second> for crate::condition::Order<B> {}
}

/// [`Join`] kind: `INNER JOIN`, rows `(A, B)`.
#[derive(Debug, Clone, Copy)]
pub enum Inner {}

/// [`Join`] kind: `LEFT JOIN`, rows `(A, Option<B>)` — `None` when no row
/// of `B` (of the same tenant) matches.
#[derive(Debug, Clone, Copy)]
pub enum Left {}

/// The kind of a [`Join`]: its SQL and its rows. Sealed.
pub trait JoinKind: sealed::Sealed + Send + 'static {
    /// One row of the join.
    type Row<A: Model, B: Model>: Send + Unpin;
    #[doc(hidden)]
    const SQL: &'static str;
    #[doc(hidden)]
    fn decode<DB: Driver, A: Model + Related<B>, B: Model>(
        row: &DB::Row,
    ) -> Result<Self::Row<A, B>, sqlx::Error>;
}

impl JoinKind for Inner {
    type Row<A: Model, B: Model> = (A, B);
    const SQL: &'static str = " INNER JOIN ";

    fn decode<DB: Driver, A: Model + Related<B>, B: Model>(
        row: &DB::Row,
    ) -> Result<(A, B), sqlx::Error> {
        Ok((
            A::decode::<DB>(row, 0, DecodeToken::new())?,
            B::decode::<DB>(row, A::COLUMNS.len(), DecodeToken::new())?,
        ))
    }
}

impl JoinKind for Left {
    type Row<A: Model, B: Model> = (A, Option<B>);
    const SQL: &'static str = " LEFT JOIN ";

    fn decode<DB: Driver, A: Model + Related<B>, B: Model>(
        row: &DB::Row,
    ) -> Result<(A, Option<B>), sqlx::Error> {
        let a = A::decode::<DB>(row, 0, DecodeToken::new())?;
        // B's join column equals A's on every match, so it is NULL exactly
        // when no row of B matched.
        let b_on = A::COLUMNS.len() + <A as Related<B>>::ON.1;
        let b = if DB::is_null(row, b_on)? {
            None
        } else {
            Some(B::decode::<DB>(row, A::COLUMNS.len(), DecodeToken::new())?)
        };
        Ok((a, b))
    }
}

/// Marks a condition or ordering on the first model of a [`Join`].
#[doc(hidden)]
#[derive(Debug)]
pub enum First {}

/// Marks a condition or ordering on the second model of a [`Join`].
#[doc(hidden)]
#[derive(Debug)]
pub enum Second {}

/// A condition on one of the two models of a join of `A` and `B`: built
/// from `A`'s or `B`'s column constants. Sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot filter a join of `{A}` and `{B}`",
    label = "this condition is on a model that is not in the query",
    note = "filter on the columns of `{A}` or `{B}`, e.g. `{B}::SOME_COLUMN.eq(..)`; join another model first to filter on it"
)]
pub trait JoinCondition<A, B, S>: sealed::SealedSide<A, B, S> {
    #[doc(hidden)]
    fn into_side(self) -> (usize, Condition<()>);
}

impl<A, B> JoinCondition<A, B, First> for Condition<A> {
    fn into_side(self) -> (usize, Condition<()>) {
        (0, self.cast())
    }
}

impl<A, B> JoinCondition<A, B, Second> for Condition<B> {
    fn into_side(self) -> (usize, Condition<()>) {
        (1, self.cast())
    }
}

/// An ordering on one of the two models of a join of `A` and `B`. Sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot order a join of `{A}` and `{B}`",
    label = "this ordering is on a model that is not in the query",
    note = "order by a column of `{A}` or `{B}`, e.g. `{B}::SOME_COLUMN.asc()`"
)]
pub trait JoinOrder<A, B, S>: sealed::SealedSide<A, B, S> {
    #[doc(hidden)]
    fn into_side(self) -> (usize, usize, bool);
}

impl<A, B> JoinOrder<A, B, First> for Order<A> {
    fn into_side(self) -> (usize, usize, bool) {
        let (column, desc) = crate::condition::OrderOn::<A>::into_key(self);
        (0, column, desc)
    }
}

impl<A, B> JoinOrder<A, B, Second> for Order<B> {
    fn into_side(self) -> (usize, usize, bool) {
        let (column, desc) = crate::condition::OrderOn::<B>::into_key(self);
        (1, column, desc)
    }
}

/// A join of model `A` with a related model `B`, scoped by `A`'s scope.
///
/// Made by [`Select::inner_join`] or [`Select::left_join`]; the models must
/// be related by a declared reference (`#[tenant(references = ..)]`). When
/// both are tenant-owned the join condition compares their tenant columns
/// as well as the key, so a row only meets rows of its own tenant:
/// `ON b.tenant_id = a.tenant_id AND b.id = a.b_id`.
///
/// ```
/// use tenant_core::prelude::*;
///
/// #[derive(TenantModel)]
/// #[tenant(table = "customers")]
/// struct Customer {
///     #[tenant(primary_key)]
///     id: i64,
///     #[tenant(tenant_id)]
///     tenant_id: TenantId,
///     name: String,
/// }
///
/// #[derive(TenantModel)]
/// #[tenant(table = "invoices")]
/// struct Invoice {
///     #[tenant(primary_key)]
///     id: i64,
///     #[tenant(tenant_id)]
///     tenant_id: TenantId,
///     #[tenant(references = Customer)]
///     customer_id: i64,
///     amount_cents: i64,
/// }
///
/// # async fn run(db: &TenantDb, acme: &TenantScope) -> Result<(), tenant_core::Error> {
/// // Each customer with their invoices over 100, customers without any too.
/// let rows: Vec<(Customer, Option<Invoice>)> = Customer::query(acme)
///     .left_join::<Invoice>()
///     .filter(Customer::NAME.like("A%"))
///     .order_by(Customer::ID.asc())
///     .order_by(Invoice::ID.asc())
///     .fetch_all(db)
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a query does nothing until `fetch_all` runs it"]
pub struct Join<A, B, K = Inner> {
    tenant: Option<TenantValue>,
    /// The filters, each with the side (0: `A`, 1: `B`) whose columns it
    /// names.
    filters: Vec<(usize, Node)>,
    values: Vec<Value>,
    order: Vec<(usize, usize, bool)>,
    paging: Paging,
    _models: PhantomData<Models<A, B, K>>,
}

/// Covariant, `Send` and `Sync` whatever the models are.
type Models<A, B, K> = fn() -> (A, B, K);

impl<A: Model> Select<A> {
    /// Joins the related model `B` (`INNER JOIN`): rows `(A, B)` for each
    /// pair of matching rows, of the scope's tenant only. The filters,
    /// ordering and paging so far carry over.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let rows: Vec<(Invoice, Customer)> = Invoice::query(&acme)
    ///     .inner_join::<Customer>()
    ///     .order_by(Invoice::ID.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// let pairs: Vec<(i64, &str)> = rows.iter().map(|(i, c)| (i.id, c.email.as_str())).collect();
    /// assert_eq!(pairs, [(1, "ann@acme.test"), (2, "ann@acme.test"), (3, "bob@acme.test")]);
    /// // Both sides compare their tenant columns: no pair crosses tenants.
    /// let sql = Invoice::query(&acme).inner_join::<Customer>().to_sql();
    /// assert!(sql.contains(r#""customers"."tenant_id" = "invoices"."tenant_id""#), "{sql}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn inner_join<B>(self) -> Join<A, B, Inner>
    where
        B: Model,
        A: Related<B>,
        A::Scope: Reaches<B::Scope>,
    {
        Join::from_select(self)
    }

    /// Joins the related model `B` (`LEFT JOIN`): rows `(A, Option<B>)`,
    /// every row of `A` at least once.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// // Bob's only invoice goes; bob stays, with `None`.
    /// Invoice::delete_by_id(&acme, 3).execute(&db).await?;
    /// let rows: Vec<(Customer, Option<Invoice>)> = Customer::query(&acme)
    ///     .left_join::<Invoice>()
    ///     .order_by(Customer::ID.asc())
    ///     .order_by(Invoice::ID.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// let pairs: Vec<(i64, Option<i64>)> =
    ///     rows.iter().map(|(c, i)| (c.id, i.as_ref().map(|i| i.id))).collect();
    /// assert_eq!(pairs, [(1, Some(1)), (1, Some(2)), (2, None)]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn left_join<B>(self) -> Join<A, B, Left>
    where
        B: Model,
        A: Related<B>,
        A::Scope: Reaches<B::Scope>,
    {
        Join::from_select(self)
    }
}

/// Whether two names are equal, at compile time.
const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if !a[i].eq_ignore_ascii_case(&b[i]) {
            return false;
        }
        i += 1;
    }
    true
}

impl<A: Model + Related<B>, B: Model, K: JoinKind> Join<A, B, K> {
    fn from_select(select: Select<A>) -> Self {
        const {
            assert!(
                !same_name(A::TABLE, B::TABLE),
                "the two models of a join map to the same table: a join needs two tables (self-joins are not supported yet)"
            );
        }
        let (tenant, filters, order, paging) = select.into_parts();
        Join {
            tenant,
            filters: filters.nodes.into_iter().map(|node| (0, node)).collect(),
            values: filters.values,
            order: order.into_iter().map(|(c, d)| (0, c, d)).collect(),
            paging,
            _models: PhantomData,
        }
    }

    /// Keeps only rows matching `condition`, on either model's columns
    /// (combined with `AND`).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// // A filter on each side.
    /// let rows = Invoice::query(&acme)
    ///     .inner_join::<Customer>()
    ///     .filter(Customer::VIP.eq(true))
    ///     .filter(Invoice::STATUS.eq("open"))
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(rows.len(), 1);
    /// assert_eq!((rows[0].0.id, rows[0].1.id), (2, 1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn filter<S>(mut self, condition: impl JoinCondition<A, B, S>) -> Self {
        let (side, condition) = condition.into_side();
        self.filters.push((side, condition.node));
        self.values.extend(condition.values);
        self
    }

    /// Adds an ordering key on either model's column.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let rows = Invoice::query(&acme)
    ///     .inner_join::<Customer>()
    ///     .order_by(Customer::EMAIL.desc())
    ///     .order_by(Invoice::AMOUNT_CENTS.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// let ids: Vec<i64> = rows.iter().map(|(i, _)| i.id).collect();
    /// assert_eq!(ids, [3, 2, 1]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn order_by<S>(mut self, order: impl JoinOrder<A, B, S>) -> Self {
        self.order.push(order.into_side());
        self
    }

    paging_methods!("Invoice::query(&acme).inner_join::<Customer>().order_by(Invoice::ID.asc())");

    fn columns(side: usize) -> &'static [&'static str] {
        if side == 0 { A::COLUMNS } else { B::COLUMNS }
    }

    /// The one walk over the statement (see [`crate::ast`]).
    fn walk(&self, pass: &mut AstPass<'_>, backend: Backend, form: Form) {
        let (a, b) = (A::sql(backend), B::sql(backend));
        let rls = form == Form::Rls;
        // The select list: A's columns, then B's, each qualified with its
        // table; in the row-level-security form each is named by its
        // position, as the outer ordering refers to them.
        if rls {
            pass.rls_open(a);
        }
        if let Some(w) = pass.writer() {
            w.push("SELECT ");
            let all = A::COLUMNS
                .iter()
                .map(|c| (&a.qualifier, c))
                .chain(B::COLUMNS.iter().map(|c| (&b.qualifier, c)));
            for (i, (qualifier, column)) in all.enumerate() {
                if i > 0 {
                    w.push(", ");
                }
                push_column(&mut w.sql, backend, qualifier, column);
                if rls {
                    push_position_alias(&mut w.sql, i);
                }
            }
            w.push(" FROM ");
            w.push(&a.qualifier);
            w.push(K::SQL);
            w.push(&b.qualifier);
            w.push(" ON ");
            if let (Some(at), Some(bt)) = (A::TENANT_COLUMN, B::TENANT_COLUMN) {
                push_column(&mut w.sql, backend, &b.qualifier, bt);
                w.push(" = ");
                push_column(&mut w.sql, backend, &a.qualifier, at);
                w.push(" AND ");
            }
            let (a_on, b_on) = <A as Related<B>>::ON;
            push_column(&mut w.sql, backend, &b.qualifier, B::COLUMNS[b_on]);
            w.push(" = ");
            push_column(&mut w.sql, backend, &a.qualifier, A::COLUMNS[a_on]);
        }
        if let Some(at) = A::TENANT_COLUMN {
            pass.scope_where(a, at, rls);
        }
        let mut has_where = A::TENANT_COLUMN.is_some();
        for (side, node) in &self.filters {
            pass.side(*side, Self::columns(*side));
            pass.sql(if has_where { " AND " } else { " WHERE " });
            has_where = true;
            let qualifier = if *side == 0 {
                &a.qualifier
            } else {
                &b.qualifier
            };
            node.walk(pass, qualifier);
        }
        self.walk_order(pass, backend, false);
        self.paging.walk(pass);
        if rls {
            pass.rls_close(self.paging.is_set());
            self.walk_order(pass, backend, true);
        }
    }

    /// ` ORDER BY ..`: on the tables' columns, or (`outer`) on the
    /// row-level-security form's positional names.
    fn walk_order(&self, pass: &mut AstPass<'_>, backend: Backend, outer: bool) {
        let (a, b) = (A::sql(backend), B::sql(backend));
        for (i, &(side, column, desc)) in self.order.iter().enumerate() {
            pass.tag(Tag::Order);
            pass.side(side, Self::columns(side));
            pass.sql(if i == 0 { " ORDER BY " } else { ", " });
            if outer {
                pass.word(column);
                pass.position_ref(column + if side == 0 { 0 } else { A::COLUMNS.len() });
            } else {
                let qualifier = if side == 0 {
                    &a.qualifier
                } else {
                    &b.qualifier
                };
                pass.column(qualifier, column);
            }
            pass.fact(usize::from(desc), if desc { " DESC" } else { " ASC" });
        }
    }

    fn sql(&self, backend: Backend, form: Form) -> Sql {
        let kind = match form {
            Form::Plain => shape::Kind::Join,
            Form::Rls => shape::Kind::JoinRls,
        };
        let capacity = 64 * (A::COLUMNS.len() + B::COLUMNS.len() + self.filters.len() + 4);
        ast::render_for::<(A, B, K)>(
            kind,
            backend,
            capacity,
            A::sql(backend).first_param,
            A::COLUMNS,
            |pass| self.walk(pass, backend, form),
        )
    }

    sql_accessors!("Invoice::query(&acme).inner_join::<Customer>().order_by(Invoice::ID.asc())");

    /// Every matching row: `(A, B)` for an inner join, `(A, Option<B>)`
    /// for a left join.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let rows: Vec<(Invoice, Customer)> = Invoice::query(&globex)
    ///     .inner_join::<Customer>()
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(rows.len(), 1);
    /// assert_eq!(rows[0].1.email, "cy@globex.test");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_all<'c>(
        self,
        executor: impl Executor<'c>,
    ) -> Result<Vec<K::Row<A, B>>, Error> {
        let target = executor.into_target();
        let sql = self.sql(target.backend(), target.form(self.tenant.as_ref()));
        for (_, node) in &self.filters {
            node.check_scopes(self.tenant.as_ref())?;
        }
        let label = crate::params::Label::of::<A>(crate::trace::kind::JOIN);
        let stmt = self.paging.statement(label, sql, self.tenant, self.values);
        dispatch!(target, on => fetch::<_, A, B, K>(on, stmt).await)
    }
}

/// Runs a join's statement on backend `DB`.
async fn fetch<DB: Driver, A: Model + Related<B>, B: Model, K: JoinKind>(
    on: exec::On<'_, DB>,
    stmt: Statement<DynParams>,
) -> Result<Vec<K::Row<A, B>>, Error> {
    exec::fetch_all_as(on, stmt, K::decode::<DB, A, B>).await
}
