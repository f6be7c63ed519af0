//! Scoped subqueries: `Invoice::CUSTOMER_ID.is_in(Customer::query(&scope)
//! .filter(..).column(Customer::ID))`. The subquery keeps its own tenant
//! predicate, and a statement refuses a subquery scoped to another tenant.

use std::marker::PhantomData;

use super::{Filters, Paging, Select};
use crate::ast::AstPass;
use crate::backend::Backend;
use crate::condition::{Column, Node, Nullability};
use crate::model::{Model, ModelSql};
use crate::tenant::TenantValue;
use crate::value::Value;

/// One column of a scoped query of model `S`, read as values of type `T`,
/// from [`Select::column`]: an operand of [`Column::is_in`]. It carries its own scope: its SQL compares
/// `S`'s tenant column with the scope's tenant, whatever the outer
/// statement does.
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
///     customer_id: i64,
/// }
///
/// let acme = TenantScope::new(TenantId::parse("acme").unwrap());
/// let a_customers = Customer::query(&acme)
///     .filter(Customer::NAME.like("A%"))
///     .column(Customer::ID);
/// let query = Invoice::query(&acme).filter(Invoice::CUSTOMER_ID.is_in(a_customers));
/// assert_eq!(
///     query.to_sql(),
///     r#"SELECT "invoices"."id", "invoices"."tenant_id", "invoices"."customer_id" FROM "invoices" WHERE "invoices"."tenant_id" = $1 AND "invoices"."customer_id" IN (SELECT "customers"."id" FROM "customers" WHERE "customers"."tenant_id" = $2 AND "customers"."name" LIKE $3)"#
/// );
/// ```
#[must_use = "a subquery does nothing until it is passed to `is_in`"]
pub struct Subquery<S, T> {
    node: SubqueryNode,
    values: Vec<Value>,
    _marker: PhantomData<fn() -> (S, T)>,
}

impl<S, T> std::fmt::Debug for Subquery<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subquery")
            .field("table", &self.node.table)
            .field("column", &self.node.columns[self.node.column])
            .finish_non_exhaustive()
    }
}

/// The parts of a subquery the statement's walk needs; the model is
/// erased (its SQL by a function, its columns by their names).
pub(crate) struct SubqueryNode {
    tenant: Option<TenantValue>,
    table: &'static str,
    sql: fn(Backend) -> &'static ModelSql,
    columns: &'static [&'static str],
    tenant_column: Option<&'static str>,
    column: usize,
    filters: Vec<Node>,
    order: Vec<(usize, bool)>,
    paging: Paging,
}

impl std::fmt::Debug for SubqueryNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubqueryNode")
            .field("table", &self.table)
            .field("column", &self.columns[self.column])
            .field("filters", &self.filters)
            .finish_non_exhaustive()
    }
}

impl SubqueryNode {
    /// The tenant the subquery is scoped to; `None` for a global model.
    pub(crate) fn tenant(&self) -> Option<TenantValue> {
        self.tenant
    }

    /// The subquery's own filters (which may hold subqueries).
    pub(crate) fn filters(&self) -> &[Node] {
        &self.filters
    }

    /// `SELECT <column> FROM <table> WHERE <tenant> = ? [AND ..] [ORDER
    /// BY ..] [LIMIT ..]`, in the columns of the subquery's model; the
    /// placeholders in the order of the subquery's values.
    pub(crate) fn walk(&self, pass: &mut AstPass<'_>) {
        let sql = (self.sql)(pass.backend());
        // The model's identity in the key: its per-backend SQL is one
        // `static` per model.
        pass.word(std::ptr::from_ref(sql) as usize);
        let outer = pass.swap_columns(self.columns);
        pass.sql("SELECT ");
        pass.column(&sql.qualifier, self.column);
        pass.sql(" FROM ");
        pass.sql(&sql.qualifier);
        pass.word(usize::from(self.tenant_column.is_some()));
        if let Some(tenant) = self.tenant_column {
            if let Some(w) = pass.writer() {
                w.push(" WHERE ");
                w.column(&sql.qualifier, tenant);
                w.push(" = ");
            }
            pass.bind();
        }
        pass.word(self.filters.len());
        pass.filters(&self.filters, self.tenant_column.is_some(), &sql.qualifier);
        pass.word(self.order.len());
        pass.order(&self.order, &sql.qualifier);
        self.paging.walk(pass);
        pass.swap_columns(outer);
    }
}

impl<S: Model> Select<S> {
    /// This query as a subquery reading one `column`: an operand of
    /// [`Column::is_in`]. The scope, the filters, the ordering and
    /// the paging carry over (MySQL refuses a `LIMIT` in an `IN`
    /// subquery). A nullable column reads as its bare type: `NULL`s match
    /// nothing. See [`Subquery`].
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// // Invoices of acme's VIP customers.
    /// let vips = Customer::query(&acme).filter(Customer::VIP.eq(true));
    /// let rows = Invoice::query(&acme)
    ///     .filter(Invoice::CUSTOMER_ID.is_in(vips.column(Customer::ID)))
    ///     .order_by(Invoice::ID.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(rows.iter().map(|i| i.id).collect::<Vec<_>>(), [1, 2]);
    ///
    /// // A subquery scoped to another tenant is refused before anything runs.
    /// let theirs = Customer::query(&globex).column(Customer::ID);
    /// let err = Invoice::query(&acme)
    ///     .filter(Invoice::CUSTOMER_ID.is_in(theirs))
    ///     .fetch_all(&db)
    ///     .await
    ///     .unwrap_err();
    /// assert!(matches!(err, tenant_core::Error::SubqueryScopeMismatch { .. }), "{err}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn column<T, N: Nullability<T>>(self, column: Column<S, T, N>) -> Subquery<S, N::Compared> {
        let (tenant, filters, order, paging) = self.into_parts();
        let Filters { nodes, mut values } = filters;
        // The tenant first, then the filters' values, then the paging: the
        // order of the walk's placeholders.
        if let Some(t) = tenant {
            values.insert(0, t.into_value());
        }
        let limit = match (paging.limit, paging.offset) {
            (Some(n), _) => Some(i64::from(n)),
            (None, Some(_)) => Some(i64::MAX),
            (None, None) => None,
        };
        values.extend(limit.map(Value::new));
        values.extend(paging.offset.map(|n| Value::new(i64::from(n))));
        Subquery {
            node: SubqueryNode {
                tenant,
                table: S::TABLE,
                sql: S::sql,
                columns: S::COLUMNS,
                tenant_column: S::TENANT_COLUMN,
                column: column.index(),
                filters: nodes,
                order,
                paging,
            },
            values,
            _marker: PhantomData,
        }
    }
}

impl<S, T> Subquery<S, T> {
    /// The subquery's node and its values, in placeholder order.
    pub(crate) fn into_parts(self) -> (SubqueryNode, Vec<Value>) {
        (self.node, self.values)
    }
}
