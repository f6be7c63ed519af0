//! Projections and aggregates: `query.select((Invoice::STATUS, count(),
//! Invoice::AMOUNT_CENTS.sum())).group_by(Invoice::STATUS)` reads typed
//! tuples instead of whole models, scoped like every other statement.

use std::marker::PhantomData;

use super::{Filters, Paging, Select, paging_methods, sql_accessors};
use crate::ast::{self, AstPass};
use crate::backend::{Backend, Driver};
use crate::condition::{CmpOp, Column, Node, Nullability, OrderOn, Values};
use crate::db::Executor;
use crate::error::Error;
use crate::exec::{self, Form, dispatch};
use crate::model::Model;
use crate::params::{DynParams, Sql, Statement};
use crate::shape::{self, Tag};
use crate::tenant::TenantValue;
use crate::value::{IntoValue, SqlType, Value};

/// One item of a select list, as the core renders it. Column positions
/// index the model's `COLUMNS`.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprNode {
    /// The column itself.
    Column(usize),
    /// `COUNT(*)`.
    Count,
    /// `COUNT(DISTINCT column)`.
    CountDistinct(usize),
    /// `SUM(column)` of an integer column, as a 64-bit integer.
    SumInt(usize),
    /// `SUM(column)` of a floating-point column, as a double.
    SumFloat(usize),
    /// `AVG(column)`, as a double.
    Avg(usize),
    /// `MIN(column)`.
    Min(usize),
    /// `MAX(column)`.
    Max(usize),
}

impl ExprNode {
    fn tag(self) -> usize {
        match self {
            ExprNode::Column(_) => 0,
            ExprNode::Count => 1,
            ExprNode::CountDistinct(_) => 2,
            ExprNode::SumInt(_) => 3,
            ExprNode::SumFloat(_) => 4,
            ExprNode::Avg(_) => 5,
            ExprNode::Min(_) => 6,
            ExprNode::Max(_) => 7,
        }
    }

    /// The walk of one item: its tag and column in the key; in the SQL the
    /// expression, with the cast that makes its type the same on every
    /// backend (PostgreSQL's `SUM(bigint)` is `numeric`, MySQL's `SUM` and
    /// `AVG` are `DECIMAL`).
    pub(crate) fn walk(self, pass: &mut AstPass<'_>, qualifier: &str) {
        pass.tag(Tag::Item);
        pass.word(self.tag());
        let (open, column, close): (&str, Option<usize>, &str) = match self {
            ExprNode::Column(c) => ("", Some(c), ""),
            ExprNode::Count => ("COUNT(*)", None, ""),
            ExprNode::CountDistinct(c) => ("COUNT(DISTINCT ", Some(c), ")"),
            ExprNode::Min(c) => ("MIN(", Some(c), ")"),
            ExprNode::Max(c) => ("MAX(", Some(c), ")"),
            ExprNode::SumInt(c) => ("CAST(SUM(", Some(c), ") AS "),
            ExprNode::SumFloat(c) => ("CAST(SUM(", Some(c), ") AS "),
            ExprNode::Avg(c) => ("CAST(AVG(", Some(c), ") AS "),
        };
        pass.sql(open);
        if let Some(c) = column {
            pass.column(qualifier, c);
        }
        pass.sql(close);
        if let Some(w) = pass.writer() {
            let cast = match (self, w.backend) {
                (ExprNode::SumInt(_), Backend::Sqlite) => "INTEGER)",
                (ExprNode::SumInt(_), Backend::Postgres) => "BIGINT)",
                (ExprNode::SumInt(_), Backend::MySql) => "SIGNED)",
                (ExprNode::SumFloat(_) | ExprNode::Avg(_), Backend::Sqlite) => "REAL)",
                (ExprNode::SumFloat(_) | ExprNode::Avg(_), Backend::Postgres) => {
                    "DOUBLE PRECISION)"
                }
                (ExprNode::SumFloat(_) | ExprNode::Avg(_), Backend::MySql) => "DOUBLE)",
                _ => "",
            };
            w.push(cast);
        }
    }
}

mod sealed {
    pub trait Sealed<M> {}
    impl<M, T, N> Sealed<M> for crate::condition::Column<M, T, N> {}
    impl<M, O> Sealed<M> for super::Aggregated<M, O> {}
    impl<M, T> Sealed<M> for super::Summed<M, T> {}
    impl<M> Sealed<M> for super::Count {}
    pub trait SealedHaving<M> {}
    impl<M> SealedHaving<M> for super::Having<M> {}
    pub trait SealedOperand {}
    impl<U> SealedOperand for Option<U> {}
    impl SealedOperand for i64 {}
    pub trait Summable {}
    impl Summable for i16 {}
    impl Summable for i32 {}
    impl Summable for i64 {}
    impl Summable for f32 {}
    impl Summable for f64 {}
}

/// One item of a select list over model `M`: a column of `M` or an
/// aggregate of one. Sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be selected from `{M}`",
    label = "not a column of `{M}`, nor an aggregate of one",
    note = "select `{M}`'s column constants (`{M}::SOME_COLUMN`), their aggregates (`.sum()`, `.min()` ..) or `count()`"
)]
pub trait Expr<M>: sealed::Sealed<M> {
    /// The Rust type the item reads as.
    type Output: SqlType + Unpin;
    #[doc(hidden)]
    fn node(&self) -> ExprNode;
}

impl<M: Model, T: SqlType + Unpin, N> Expr<M> for Column<M, T, N> {
    type Output = T;

    fn node(&self) -> ExprNode {
        ExprNode::Column(self.index())
    }
}

/// An aggregate of a column of `M` that reads as `O`: made by
/// [`Column::sum`], [`Column::avg`], [`Column::min`], [`Column::max`] and
/// [`Column::count_distinct`].
#[derive(Debug, Clone, Copy)]
pub struct Aggregated<M, O> {
    node: ExprNode,
    _marker: PhantomData<fn() -> (M, O)>,
}

impl<M, O: SqlType + Unpin> Expr<M> for Aggregated<M, O> {
    type Output = O;

    fn node(&self) -> ExprNode {
        self.node
    }
}

/// `SUM(column)` of a column of `M` holding `T`, from [`Column::sum`]:
/// reads as `Option<T::Sum>` (`i64` for integers, `f64` for floats).
#[derive(Debug, Clone, Copy)]
pub struct Summed<M, T> {
    node: ExprNode,
    _marker: PhantomData<fn() -> (M, T)>,
}

impl<M, T: Summable> Expr<M> for Summed<M, T> {
    type Output = Option<T::Sum>;

    fn node(&self) -> ExprNode {
        self.node
    }
}

/// `COUNT(*)` of the rows (of each group): [`count`].
#[derive(Debug, Clone, Copy)]
pub struct Count;

impl<M> Expr<M> for Count {
    type Output = i64;

    fn node(&self) -> ExprNode {
        ExprNode::Count
    }
}

/// `COUNT(*)`: the number of rows, or of rows in each group.
///
/// ```
/// # include!("../doctest_setup.rs");
/// # use tenant_core::count;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tenant_core::Error> {
/// # let (db, acme, globex) = setup().await?;
/// let (all, paid): ((i64,), (i64,)) = (
///     Invoice::query(&acme).select((count(),)).fetch_one(&db).await?,
///     Invoice::query(&acme)
///         .filter(Invoice::STATUS.eq("paid"))
///         .select((count(),))
///         .fetch_one(&db)
///         .await?,
/// );
/// assert_eq!((all.0, paid.0), (3, 1));
/// # Ok(())
/// # }
/// ```
pub fn count() -> Count {
    Count
}

/// Column types that [`Column::sum`] and [`Column::avg`] accept. Sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be summed or averaged",
    label = "`sum` and `avg` need an integer or floating-point column",
    note = "count the rows with `count()`, or take `min()` / `max()` of other columns"
)]
pub trait Summable: sealed::Summable {
    /// What the sum reads as: `i64` for integer columns, `f64` for
    /// floating-point ones.
    type Sum: SqlType + Unpin;
    #[doc(hidden)]
    const FLOAT: bool;
}

impl Summable for i16 {
    type Sum = i64;
    const FLOAT: bool = false;
}
impl Summable for i32 {
    type Sum = i64;
    const FLOAT: bool = false;
}
impl Summable for i64 {
    type Sum = i64;
    const FLOAT: bool = false;
}
impl Summable for f32 {
    type Sum = f64;
    const FLOAT: bool = true;
}
impl Summable for f64 {
    type Sum = f64;
    const FLOAT: bool = true;
}

impl<M: Model, T, N: Nullability<T>> Column<M, T, N> {
    fn aggregate<O>(self, node: fn(usize) -> ExprNode) -> Aggregated<M, O> {
        Aggregated {
            node: node(self.index()),
            _marker: PhantomData,
        }
    }

    /// `SUM(column)`: `None` when no row (or only NULLs) is summed. An
    /// integer column sums as `i64` on every backend (an overflow is an
    /// error), a floating-point one as `f64`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let (total,) = Invoice::query(&acme)
    ///     .select((Invoice::AMOUNT_CENTS.sum(),))
    ///     .fetch_one(&db)
    ///     .await?;
    /// assert_eq!(total, Some(6500));
    /// // Nothing to sum: NULL, read as `None`.
    /// let (none,) = Invoice::query(&acme)
    ///     .filter(Invoice::STATUS.eq("void"))
    ///     .select((Invoice::AMOUNT_CENTS.sum(),))
    ///     .fetch_one(&db)
    ///     .await?;
    /// assert_eq!(none, None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn sum(self) -> Summed<M, N::Compared>
    where
        N::Compared: Summable,
    {
        let node = if <N::Compared as Summable>::FLOAT {
            ExprNode::SumFloat(self.index())
        } else {
            ExprNode::SumInt(self.index())
        };
        Summed {
            node,
            _marker: PhantomData,
        }
    }

    /// `AVG(column)` as `f64`; `None` when there is no value.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let (mean,) = Invoice::query(&acme)
    ///     .filter(Invoice::STATUS.eq("open"))
    ///     .select((Invoice::AMOUNT_CENTS.avg(),))
    ///     .fetch_one(&db)
    ///     .await?;
    /// assert_eq!(mean, Some(2650.0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn avg(self) -> Aggregated<M, Option<f64>>
    where
        N::Compared: Summable,
    {
        self.aggregate(ExprNode::Avg)
    }

    /// `MIN(column)`; `None` when there is no value.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let (smallest, first) = Invoice::query(&acme)
    ///     .select((Invoice::AMOUNT_CENTS.min(), Invoice::STATUS.min()))
    ///     .fetch_one(&db)
    ///     .await?;
    /// assert_eq!((smallest, first.as_deref()), (Some(300), Some("open")));
    /// # Ok(())
    /// # }
    /// ```
    pub fn min(self) -> Aggregated<M, Option<N::Compared>> {
        self.aggregate(ExprNode::Min)
    }

    /// `MAX(column)`; `None` when there is no value.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let (largest,) = Invoice::query(&acme)
    ///     .select((Invoice::AMOUNT_CENTS.max(),))
    ///     .fetch_one(&db)
    ///     .await?;
    /// assert_eq!(largest, Some(5000)); // globex's 9999 is not acme's
    /// # Ok(())
    /// # }
    /// ```
    pub fn max(self) -> Aggregated<M, Option<N::Compared>> {
        self.aggregate(ExprNode::Max)
    }

    /// `COUNT(DISTINCT column)`: the number of distinct non-NULL values.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let (customers,) = Invoice::query(&acme)
    ///     .select((Invoice::CUSTOMER_ID.count_distinct(),))
    ///     .fetch_one(&db)
    ///     .await?;
    /// assert_eq!(customers, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn count_distinct(self) -> Aggregated<M, i64> {
        self.aggregate(ExprNode::CountDistinct)
    }
}

/// A select list over model `M`: a tuple of up to eight [`Expr`]s, read
/// as the tuple of their outputs.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a select list of `{M}`",
    label = "select a tuple of `{M}`'s columns and aggregates",
    note = "e.g. `.select((Invoice::STATUS, count(), Invoice::AMOUNT_CENTS.sum()))`; every item must be of `{M}`"
)]
pub trait Projection<M>: Send + 'static {
    /// One row of the result.
    type Row: Send + Unpin;
    #[doc(hidden)]
    fn nodes(&self) -> Vec<ExprNode>;
    #[doc(hidden)]
    fn decode<DB: Driver>(row: &DB::Row) -> Result<Self::Row, sqlx::Error>;
}

macro_rules! projection {
    ($($e:ident $i:tt),+) => {
        impl<M, $($e),+> Projection<M> for ($($e,)+)
        where
            $($e: Expr<M> + Send + 'static, $e::Output: Send,)+
        {
            type Row = ($($e::Output,)+);

            fn nodes(&self) -> Vec<ExprNode> {
                vec![$(self.$i.node()),+]
            }

            fn decode<DB: Driver>(row: &DB::Row) -> Result<Self::Row, sqlx::Error> {
                Ok(($(DB::get::<$e::Output>(row, $i)?,)+))
            }
        }
    };
}

projection!(E0 0);
projection!(E0 0, E1 1);
projection!(E0 0, E1 1, E2 2);
projection!(E0 0, E1 1, E2 2, E3 3);
projection!(E0 0, E1 1, E2 2, E3 3, E4 4);
projection!(E0 0, E1 1, E2 2, E3 3, E4 4, E5 5);
projection!(E0 0, E1 1, E2 2, E3 3, E4 4, E5 5, E6 6);
projection!(E0 0, E1 1, E2 2, E3 3, E4 4, E5 5, E6 6, E7 7);

/// A condition on the groups of an [`Aggregate`] over model `M`, for
/// [`Aggregate::having`]: a comparison of an aggregate of `M`'s columns
/// with a value of the aggregate's type — `count().gt(5)`,
/// `Invoice::AMOUNT_CENTS.sum().ge(1_000)` — combined with
/// [`and`](Having::and), [`or`](Having::or) and [`not`](Having::not) (or
/// `!`).
#[must_use = "a condition does nothing until it is passed to `having`"]
#[derive(Debug)]
pub struct Having<M> {
    node: Node,
    values: Values,
    _marker: PhantomData<fn() -> M>,
}

impl<M> Having<M> {
    fn compare(expr: ExprNode, op: CmpOp, value: Value) -> Self {
        let mut values = Values::new();
        values.push(value);
        Having {
            node: Node::Having { expr, op },
            values,
            _marker: PhantomData,
        }
    }

    fn join(self, other: Having<M>, node: fn(Box<Node>, Box<Node>) -> Node) -> Having<M> {
        let mut values = self.values;
        values.extend(other.values);
        Having {
            node: node(Box::new(self.node), Box::new(other.node)),
            values,
            _marker: PhantomData,
        }
    }

    /// Both conditions hold.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # use tenant_core::count;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let groups: Vec<(i64, i64)> = Invoice::query(&acme)
    ///     .select((Invoice::CUSTOMER_ID, count()))
    ///     .group_by(Invoice::CUSTOMER_ID)
    ///     .having(count().gt(1).and(Invoice::AMOUNT_CENTS.sum().lt(2000)))
    ///     .order_by(Invoice::CUSTOMER_ID.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// // (customer, invoices): customer 1 has two, customer 2 one.
    /// assert_eq!(groups, [(1, 2)]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn and(self, other: Having<M>) -> Having<M> {
        self.join(other, Node::And)
    }

    /// At least one condition holds.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # use tenant_core::count;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let groups: Vec<(i64, i64)> = Invoice::query(&acme)
    ///     .select((Invoice::CUSTOMER_ID, count()))
    ///     .group_by(Invoice::CUSTOMER_ID)
    ///     .having(count().gt(1).or(Invoice::AMOUNT_CENTS.max().ge(5000)))
    ///     .order_by(Invoice::CUSTOMER_ID.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// // (customer, invoices): customer 1 has two, customer 2 one.
    /// assert_eq!(groups, [(1, 2), (2, 1)]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn or(self, other: Having<M>) -> Having<M> {
        self.join(other, Node::Or)
    }

    /// The condition does not hold. Same as `!condition`.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # use tenant_core::count;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let groups: Vec<(i64, i64)> = Invoice::query(&acme)
    ///     .select((Invoice::CUSTOMER_ID, count()))
    ///     .group_by(Invoice::CUSTOMER_ID)
    ///     .having(count().gt(1).not())
    ///     .order_by(Invoice::CUSTOMER_ID.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// // (customer, invoices): customer 1 has two, customer 2 one.
    /// assert_eq!(groups, [(2, 1)]);
    /// # Ok(())
    /// # }
    /// ```
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Having<M> {
        Having {
            node: Node::Not(Box::new(self.node)),
            values: self.values,
            _marker: PhantomData,
        }
    }
}

impl<M> std::ops::Not for Having<M> {
    type Output = Having<M>;

    fn not(self) -> Having<M> {
        Having::not(self)
    }
}

/// A condition that may filter the groups of an aggregate over model `M`.
/// Sealed: implemented by [`Having`] only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot filter the groups of `{M}`",
    label = "not a condition on aggregates of `{M}`'s columns",
    note = "compare an aggregate of `{M}`'s own columns, e.g. `.having(count().gt(1))` or `.having({M}::SOME_COLUMN.sum().ge(..))`; filter rows with `.filter(..)` before `.select(..)`"
)]
pub trait HavingOn<M>: sealed::SealedHaving<M> {
    #[doc(hidden)]
    fn into_having(self) -> Having<M>;
}

impl<M> HavingOn<M> for Having<M> {
    fn into_having(self) -> Having<M> {
        self
    }
}

/// What an aggregate compares with in [`Having`]: the bare type of an
/// `Option<_>` aggregate, `i64` for a count. Sealed.
pub trait Operand: sealed::SealedOperand {
    /// The type of the values the aggregate compares with.
    type Compared;
}

impl<U> Operand for Option<U> {
    type Compared = U;
}

impl Operand for i64 {
    type Compared = i64;
}

/// `eq` .. `le` of an aggregate, in `HAVING`, given its `having` maker.
macro_rules! having_comparisons {
    ($value:ty $(, $m:ident)?) => {
        /// `aggregate = value`, in `HAVING`.
        ///
        /// ```
        /// # include!("../doctest_setup.rs");
        /// # use tenant_core::count;
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), tenant_core::Error> {
        /// # let (db, acme, globex) = setup().await?;
        /// let groups: Vec<(i64, i64)> = Invoice::query(&acme)
        ///     .select((Invoice::CUSTOMER_ID, count()))
        ///     .group_by(Invoice::CUSTOMER_ID)
        ///     .having(count().eq(2))
        ///     .order_by(Invoice::CUSTOMER_ID.asc())
        ///     .fetch_all(&db)
        ///     .await?;
        /// // (customer, invoices): customer 1 has two, customer 2 one.
        /// assert_eq!(groups, [(1, 2)]);
        /// # Ok(())
        /// # }
        /// ```
        pub fn eq$(<$m>)?(self, value: impl IntoValue<$value>) -> Having<M> {
            self.having(CmpOp::Eq, value.into_value())
        }

        /// `aggregate <> value`, in `HAVING`.
        ///
        /// ```
        /// # include!("../doctest_setup.rs");
        /// # use tenant_core::count;
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), tenant_core::Error> {
        /// # let (db, acme, globex) = setup().await?;
        /// let groups: Vec<(i64, i64)> = Invoice::query(&acme)
        ///     .select((Invoice::CUSTOMER_ID, count()))
        ///     .group_by(Invoice::CUSTOMER_ID)
        ///     .having(count().ne(2))
        ///     .order_by(Invoice::CUSTOMER_ID.asc())
        ///     .fetch_all(&db)
        ///     .await?;
        /// // (customer, invoices): customer 1 has two, customer 2 one.
        /// assert_eq!(groups, [(2, 1)]);
        /// # Ok(())
        /// # }
        /// ```
        pub fn ne$(<$m>)?(self, value: impl IntoValue<$value>) -> Having<M> {
            self.having(CmpOp::Ne, value.into_value())
        }

        /// `aggregate > value`, in `HAVING`.
        ///
        /// ```
        /// # include!("../doctest_setup.rs");
        /// # use tenant_core::count;
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), tenant_core::Error> {
        /// # let (db, acme, globex) = setup().await?;
        /// let groups: Vec<(i64, i64)> = Invoice::query(&acme)
        ///     .select((Invoice::CUSTOMER_ID, count()))
        ///     .group_by(Invoice::CUSTOMER_ID)
        ///     .having(count().gt(1))
        ///     .order_by(Invoice::CUSTOMER_ID.asc())
        ///     .fetch_all(&db)
        ///     .await?;
        /// // (customer, invoices): customer 1 has two, customer 2 one.
        /// assert_eq!(groups, [(1, 2)]);
        /// # Ok(())
        /// # }
        /// ```
        pub fn gt$(<$m>)?(self, value: impl IntoValue<$value>) -> Having<M> {
            self.having(CmpOp::Gt, value.into_value())
        }

        /// `aggregate >= value`, in `HAVING`.
        ///
        /// ```
        /// # include!("../doctest_setup.rs");
        /// # use tenant_core::count;
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), tenant_core::Error> {
        /// # let (db, acme, globex) = setup().await?;
        /// let groups: Vec<(i64, i64)> = Invoice::query(&acme)
        ///     .select((Invoice::CUSTOMER_ID, count()))
        ///     .group_by(Invoice::CUSTOMER_ID)
        ///     .having(count().ge(1))
        ///     .order_by(Invoice::CUSTOMER_ID.asc())
        ///     .fetch_all(&db)
        ///     .await?;
        /// // (customer, invoices): customer 1 has two, customer 2 one.
        /// assert_eq!(groups, [(1, 2), (2, 1)]);
        /// # Ok(())
        /// # }
        /// ```
        pub fn ge$(<$m>)?(self, value: impl IntoValue<$value>) -> Having<M> {
            self.having(CmpOp::Ge, value.into_value())
        }

        /// `aggregate < value`, in `HAVING`.
        ///
        /// ```
        /// # include!("../doctest_setup.rs");
        /// # use tenant_core::count;
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), tenant_core::Error> {
        /// # let (db, acme, globex) = setup().await?;
        /// let groups: Vec<(i64, i64)> = Invoice::query(&acme)
        ///     .select((Invoice::CUSTOMER_ID, count()))
        ///     .group_by(Invoice::CUSTOMER_ID)
        ///     .having(count().lt(2))
        ///     .order_by(Invoice::CUSTOMER_ID.asc())
        ///     .fetch_all(&db)
        ///     .await?;
        /// // (customer, invoices): customer 1 has two, customer 2 one.
        /// assert_eq!(groups, [(2, 1)]);
        /// # Ok(())
        /// # }
        /// ```
        pub fn lt$(<$m>)?(self, value: impl IntoValue<$value>) -> Having<M> {
            self.having(CmpOp::Lt, value.into_value())
        }

        /// `aggregate <= value`, in `HAVING`.
        ///
        /// ```
        /// # include!("../doctest_setup.rs");
        /// # use tenant_core::count;
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), tenant_core::Error> {
        /// # let (db, acme, globex) = setup().await?;
        /// let groups: Vec<(i64, i64)> = Invoice::query(&acme)
        ///     .select((Invoice::CUSTOMER_ID, count()))
        ///     .group_by(Invoice::CUSTOMER_ID)
        ///     .having(count().le(2))
        ///     .order_by(Invoice::CUSTOMER_ID.asc())
        ///     .fetch_all(&db)
        ///     .await?;
        /// // (customer, invoices): customer 1 has two, customer 2 one.
        /// assert_eq!(groups, [(1, 2), (2, 1)]);
        /// # Ok(())
        /// # }
        /// ```
        pub fn le$(<$m>)?(self, value: impl IntoValue<$value>) -> Having<M> {
            self.having(CmpOp::Le, value.into_value())
        }
    };
}

impl Count {
    fn having<M>(self, op: CmpOp, value: Value) -> Having<M> {
        Having::compare(ExprNode::Count, op, value)
    }

    having_comparisons!(i64, M);
}

impl<M, O: Operand> Aggregated<M, O> {
    fn having(self, op: CmpOp, value: Value) -> Having<M> {
        Having::compare(self.node, op, value)
    }

    having_comparisons!(O::Compared);
}

impl<M, T: Summable> Summed<M, T> {
    fn having(self, op: CmpOp, value: Value) -> Having<M> {
        Having::compare(self.node, op, value)
    }

    having_comparisons!(T::Sum);
}

/// A struct that one row of a projection of model `M` reads into, field by
/// field: implemented by `#[derive(TenantProjection)]` with
/// `#[tenant(model = M)]`, whose fields are named like `M`'s columns and
/// have their types. Read it with [`Select::select_as`].
///
/// ```
/// use tenant_core::prelude::*;
///
/// #[derive(TenantModel)]
/// #[tenant(table = "invoices")]
/// struct Invoice {
///     #[tenant(primary_key)]
///     id: i64,
///     #[tenant(tenant_id)]
///     tenant_id: TenantId,
///     status: String,
///     note: Option<String>,
///     amount_cents: i64,
/// }
///
/// /// Two columns of an invoice, without the rest.
/// #[derive(Debug, TenantProjection)]
/// #[tenant(model = Invoice)]
/// struct InvoiceSummary {
///     id: i64,
///     amount_cents: i64,
/// }
///
/// let acme = TenantScope::new(TenantId::parse("acme").unwrap());
/// let query = Invoice::query(&acme)
///     .filter(Invoice::STATUS.eq("paid"))
///     .select_as::<InvoiceSummary>();
/// assert_eq!(
///     query.to_sql(),
///     r#"SELECT "invoices"."id", "invoices"."amount_cents" FROM "invoices" WHERE "invoices"."tenant_id" = $1 AND "invoices"."status" = $2"#
/// );
/// # async fn run(db: &TenantDb, acme: &TenantScope) -> Result<(), tenant_core::Error> {
/// let summaries: Vec<InvoiceSummary> =
///     Invoice::query(acme).select_as::<InvoiceSummary>().fetch_all(db).await?;
/// # Ok(()) }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a projection of `{M}`",
    label = "rows of `{M}` cannot be read into `{Self}`",
    note = "declare it with `#[derive(TenantProjection)]` and `#[tenant(model = {M})]`, its fields named and typed like `{M}`'s columns"
)]
pub trait TenantProjection<M>: Sized + Send + Unpin + 'static {
    #[doc(hidden)]
    fn nodes() -> Vec<ExprNode>;
    #[doc(hidden)]
    fn decode<DB: Driver>(row: &DB::Row) -> Result<Self, sqlx::Error>;
}

/// The select list of a [`TenantProjection`] `T`: its fields' columns,
/// read into a `T` ([`Select::select_as`]).
pub struct As<T>(PhantomData<fn() -> T>);

impl<M, T: TenantProjection<M>> Projection<M> for As<T> {
    type Row = T;

    fn nodes(&self) -> Vec<ExprNode> {
        T::nodes()
    }

    fn decode<DB: Driver>(row: &DB::Row) -> Result<T, sqlx::Error> {
        T::decode::<DB>(row)
    }
}

/// A projection field's column (for `#[derive(TenantProjection)]`): a
/// column of `M` holding `F`. Sealed.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "the field's type `{F}` is not the type of its column `{Self}`",
    label = "a field of a projection of `{M}` must have its column's type",
    note = "declare the field with the type of the model's field of the same name (a nullable column is an `Option<_>`)",
    note = "the tenant column cannot be projected: every row read is the scope's tenant"
)]
pub trait ProjectsAs<M, F>: sealed::Sealed<M> {
    #[doc(hidden)]
    fn column_index(&self) -> usize;
}

impl<M: Model, T, N> ProjectsAs<M, T> for Column<M, T, N> {
    fn column_index(&self) -> usize {
        self.index()
    }
}

/// The select-list item of a projection field of type `F` read from
/// `column` (for `#[derive(TenantProjection)]`).
#[doc(hidden)]
pub fn projected<M, F>(column: impl ProjectsAs<M, F>) -> ExprNode {
    ExprNode::Column(column.column_index())
}

/// A column that may group the rows of model `M`: one of its column
/// constants (not the tenant column: every row of the query has the same
/// tenant). Sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot group the rows of `{M}`",
    label = "not one of `{M}`'s column constants",
    note = "group by `{M}`'s own columns, e.g. `.group_by({M}::SOME_COLUMN)`"
)]
pub trait GroupKey<M>: sealed::Sealed<M> {
    #[doc(hidden)]
    fn column_index(&self) -> usize;
}

impl<M: Model, T, N> GroupKey<M> for Column<M, T, N> {
    fn column_index(&self) -> usize {
        self.index()
    }
}

/// A select list of model `M`'s columns and aggregates, from
/// [`Select::select`]: rows of `P::Row` tuples, scoped like the query.
///
/// ```
/// use tenant_core::prelude::*;
/// use tenant_core::count;
///
/// #[derive(TenantModel)]
/// #[tenant(table = "invoices")]
/// struct Invoice {
///     #[tenant(primary_key)]
///     id: i64,
///     #[tenant(tenant_id)]
///     tenant_id: TenantId,
///     status: String,
///     amount_cents: i64,
/// }
///
/// let acme = TenantScope::new(TenantId::parse("acme").unwrap());
/// let report = Invoice::query(&acme)
///     .filter(Invoice::AMOUNT_CENTS.gt(0))
///     .select((Invoice::STATUS, count(), Invoice::AMOUNT_CENTS.sum()))
///     .group_by(Invoice::STATUS)
///     .order_by(Invoice::STATUS.asc());
/// assert_eq!(
///     report.to_sql(),
///     r#"SELECT "invoices"."status", COUNT(*), CAST(SUM("invoices"."amount_cents") AS BIGINT) FROM "invoices" WHERE "invoices"."tenant_id" = $1 AND "invoices"."amount_cents" > $2 GROUP BY "invoices"."status" ORDER BY "invoices"."status" ASC"#
/// );
/// # async fn run(db: &TenantDb, report: tenant_core::Aggregate<Invoice, (
/// #     tenant_core::Column<Invoice, String>, tenant_core::Count,
/// #     tenant_core::Summed<Invoice, i64>)>) -> Result<(), tenant_core::Error> {
/// let rows: Vec<(String, i64, Option<i64>)> = report.fetch_all(db).await?;
/// # Ok(()) }
/// ```
#[must_use = "a query does nothing until `fetch_all` runs it"]
pub struct Aggregate<M, P> {
    tenant: Option<TenantValue>,
    items: Vec<ExprNode>,
    filters: Filters,
    group: Vec<usize>,
    having: Vec<Node>,
    having_values: Vec<Value>,
    order: Vec<(usize, bool)>,
    paging: Paging,
    _marker: PhantomData<fn() -> (M, P)>,
}

impl<M: Model> Select<M> {
    /// Reads the columns and aggregates of `projection` (a tuple) instead
    /// of whole rows; the filters, ordering and paging so far carry over.
    /// Add [`group_by`](Aggregate::group_by) to aggregate per group.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # use tenant_core::count;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let per_status: Vec<(String, i64, Option<i64>)> = Invoice::query(&acme)
    ///     .select((Invoice::STATUS, count(), Invoice::AMOUNT_CENTS.sum()))
    ///     .group_by(Invoice::STATUS)
    ///     .order_by(Invoice::STATUS.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(
    ///     per_status,
    ///     [("open".to_owned(), 2, Some(5300)), ("paid".to_owned(), 1, Some(1200))]
    /// );
    ///
    /// // Some columns of each row, without the rest.
    /// let ids: Vec<(i64, String)> = Invoice::query(&acme)
    ///     .filter(Invoice::AMOUNT_CENTS.gt(1000))
    ///     .select((Invoice::ID, Invoice::STATUS))
    ///     .order_by(Invoice::ID.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(ids, [(1, "paid".to_owned()), (3, "open".to_owned())]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn select<P: Projection<M>>(self, projection: P) -> Aggregate<M, P> {
        let (tenant, filters, order, paging) = self.into_parts();
        Aggregate {
            tenant,
            items: projection.nodes(),
            filters,
            group: Vec::new(),
            having: Vec::new(),
            having_values: Vec::new(),
            order,
            paging,
            _marker: PhantomData,
        }
    }

    /// Reads the columns of the fields of `T`, a struct that derives
    /// [`TenantProjection`] for this model, instead of whole rows: rows of
    /// `T`. Like [`select`](Select::select), everything the query had
    /// carries over, and [`group_by`](Aggregate::group_by),
    /// [`order_by`](Aggregate::order_by) and paging may follow. See
    /// [`TenantProjection`].
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// #[derive(Debug, PartialEq, TenantProjection)]
    /// #[tenant(model = Invoice)]
    /// struct Amount {
    ///     id: i64,
    ///     amount_cents: i64,
    /// }
    ///
    /// let amounts: Vec<Amount> = Invoice::query(&acme)
    ///     .filter(Invoice::STATUS.eq("open"))
    ///     .select_as::<Amount>()
    ///     .order_by(Invoice::ID.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(
    ///     amounts,
    ///     [Amount { id: 2, amount_cents: 300 }, Amount { id: 3, amount_cents: 5000 }]
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn select_as<T: TenantProjection<M>>(self) -> Aggregate<M, As<T>> {
        self.select(As(PhantomData))
    }

    /// Whether any row matches: `count` of at most one row.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let paid = Invoice::query(&acme).filter(Invoice::STATUS.eq("paid"));
    /// assert!(paid.exists(&db).await?);
    /// let huge = Invoice::query(&acme).filter(Invoice::AMOUNT_CENTS.gt(9000));
    /// assert!(!huge.exists(&db).await?); // 9999 is globex's
    /// # Ok(())
    /// # }
    /// ```
    pub async fn exists<'c>(self, executor: impl Executor<'c>) -> Result<bool, Error> {
        Ok(self.limit(1).count(executor).await? > 0)
    }
}

impl<M: Model, P: Projection<M>> Aggregate<M, P> {
    /// Groups the rows by `column` (may be called several times); the
    /// aggregates are then per group.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # use tenant_core::count;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// // Per customer and status.
    /// let groups: Vec<(i64, String, i64)> = Invoice::query(&acme)
    ///     .select((Invoice::CUSTOMER_ID, Invoice::STATUS, count()))
    ///     .group_by(Invoice::CUSTOMER_ID)
    ///     .group_by(Invoice::STATUS)
    ///     .order_by(Invoice::CUSTOMER_ID.asc())
    ///     .order_by(Invoice::STATUS.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(
    ///     groups,
    ///     [(1, "open".into(), 1), (1, "paid".into(), 1), (2, "open".into(), 1)]
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn group_by(mut self, column: impl GroupKey<M>) -> Self {
        self.group.push(column.column_index());
        self
    }

    /// Keeps only the groups for which `condition`, a comparison of
    /// aggregates of the model's columns, holds: SQL's `HAVING` (may be
    /// called several times; combined with `AND`). Without
    /// [`group_by`](Aggregate::group_by) it applies to the one group of all
    /// rows.
    ///
    /// ```
    /// use tenant_core::prelude::*;
    /// use tenant_core::count;
    ///
    /// #[derive(TenantModel)]
    /// #[tenant(table = "invoices")]
    /// struct Invoice {
    ///     #[tenant(primary_key)]
    ///     id: i64,
    ///     #[tenant(tenant_id)]
    ///     tenant_id: TenantId,
    ///     customer_id: i64,
    ///     amount_cents: i64,
    /// }
    ///
    /// let acme = TenantScope::new(TenantId::parse("acme").unwrap());
    /// // Customers with more than 5 invoices, or 1 000 cents in all.
    /// let busy = Invoice::query(&acme)
    ///     .select((Invoice::CUSTOMER_ID, count()))
    ///     .group_by(Invoice::CUSTOMER_ID)
    ///     .having(count().gt(5).or(Invoice::AMOUNT_CENTS.sum().ge(1_000)));
    /// assert_eq!(
    ///     busy.to_sql(),
    ///     r#"SELECT "invoices"."customer_id", COUNT(*) FROM "invoices" WHERE "invoices"."tenant_id" = $1 GROUP BY "invoices"."customer_id" HAVING (COUNT(*) > $2 OR CAST(SUM("invoices"."amount_cents") AS BIGINT) >= $3)"#
    /// );
    /// ```
    pub fn having(mut self, condition: impl HavingOn<M>) -> Self {
        let condition = condition.into_having();
        self.having.push(condition.node);
        self.having_values.extend(condition.values);
        self
    }

    /// Adds an ordering key (a grouped column, when grouping).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # use tenant_core::count;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let statuses: Vec<(String, i64)> = Invoice::query(&acme)
    ///     .select((Invoice::STATUS, count()))
    ///     .group_by(Invoice::STATUS)
    ///     .order_by(Invoice::STATUS.desc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(statuses, [("paid".into(), 1), ("open".into(), 2)]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn order_by(mut self, order: impl OrderOn<M>) -> Self {
        self.order.push(order.into_key());
        self
    }

    paging_methods!(
        "Invoice::query(&acme).select((Invoice::STATUS, count())).group_by(Invoice::STATUS).order_by(Invoice::STATUS.asc())"
    );

    fn walk(&self, pass: &mut AstPass<'_>, backend: Backend, form: Form) {
        let sql = M::sql(backend);
        let rls = form == Form::Rls;
        if rls {
            pass.rls_open(sql);
        }
        pass.sql("SELECT ");
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                pass.sql(", ");
            }
            item.walk(pass, &sql.qualifier);
            if rls {
                pass.position_alias(i);
            }
        }
        pass.sql(" FROM ");
        pass.sql(&sql.qualifier);
        if let Some(tenant) = M::TENANT_COLUMN {
            pass.scope_where(sql, tenant, rls);
        }
        pass.filters(
            &self.filters.nodes,
            M::TENANT_COLUMN.is_some(),
            &sql.qualifier,
        );
        for (i, &column) in self.group.iter().enumerate() {
            pass.tag(Tag::Group);
            pass.sql(if i == 0 { " GROUP BY " } else { ", " });
            pass.column(&sql.qualifier, column);
        }
        pass.tag(Tag::HavingClause);
        pass.word(self.having.len());
        for (i, node) in self.having.iter().enumerate() {
            pass.sql(if i == 0 { " HAVING " } else { " AND " });
            node.walk(pass, &sql.qualifier);
        }
        pass.order(&self.order, &sql.qualifier);
        self.paging.walk(pass);
        if rls {
            pass.rls_close(self.paging.is_set());
            // The outer order: the ordered columns that are selected, by
            // their position.
            let mut first = true;
            for &(column, desc) in &self.order {
                pass.tag(Tag::Order);
                let position = self
                    .items
                    .iter()
                    .position(|item| *item == ExprNode::Column(column));
                pass.word(position.map_or(usize::MAX, |p| p));
                pass.word(usize::from(desc));
                if let Some(p) = position {
                    pass.sql(if first { " ORDER BY " } else { ", " });
                    first = false;
                    pass.position_ref(p);
                    pass.sql(if desc { " DESC" } else { " ASC" });
                }
            }
        }
    }

    fn sql(&self, backend: Backend, form: Form) -> Sql {
        let kind = match form {
            Form::Plain => shape::Kind::Aggregate,
            Form::Rls => shape::Kind::AggregateRls,
        };
        let capacity =
            48 * (self.items.len() + self.filters.len() + self.group.len() + self.having.len() + 4);
        ast::render::<M>(kind, backend, capacity, |pass| {
            self.walk(pass, backend, form)
        })
    }

    sql_accessors!(
        "Invoice::query(&acme).select((Invoice::STATUS, count())).group_by(Invoice::STATUS).order_by(Invoice::STATUS.asc())"
    );

    /// Every row (every group, when grouping).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let per_customer: Vec<(i64, Option<i64>)> = Invoice::query(&acme)
    ///     .select((Invoice::CUSTOMER_ID, Invoice::AMOUNT_CENTS.sum()))
    ///     .group_by(Invoice::CUSTOMER_ID)
    ///     .order_by(Invoice::CUSTOMER_ID.asc())
    ///     .fetch_all(&db)
    ///     .await?;
    /// assert_eq!(per_customer, [(1, Some(1500)), (2, Some(5000))]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_all<'c>(self, executor: impl Executor<'c>) -> Result<Vec<P::Row>, Error> {
        let target = executor.into_target();
        self.filters.check_scopes(self.tenant.as_ref())?;
        let sql = self.sql(target.backend(), target.form(self.tenant.as_ref()));
        let mut values = self.filters.values;
        values.extend(self.having_values);
        let label = crate::params::Label::of::<M>(crate::trace::kind::AGGREGATE);
        let stmt = self.paging.statement(label, sql, self.tenant, values);
        dispatch!(target, on => fetch::<_, M, P>(on, stmt).await)
    }

    /// The first row, or [`Error::NotFound`] (an ungrouped aggregate always
    /// has one row).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # use tenant_core::count;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// let (n, total) = Invoice::query(&globex)
    ///     .select((count(), Invoice::AMOUNT_CENTS.sum()))
    ///     .fetch_one(&db)
    ///     .await?;
    /// assert_eq!((n, total), (1, Some(9999)));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_one<'c>(self, executor: impl Executor<'c>) -> Result<P::Row, Error> {
        self.limit(1)
            .fetch_all(executor)
            .await?
            .into_iter()
            .next()
            .ok_or(Error::NotFound)
    }
}

async fn fetch<DB: Driver, M: Model, P: Projection<M>>(
    on: exec::On<'_, DB>,
    stmt: Statement<DynParams>,
) -> Result<Vec<P::Row>, Error> {
    exec::fetch_all_as(on, stmt, P::decode::<DB>).await
}
