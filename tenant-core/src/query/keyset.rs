//! Keyset pagination: pages that follow a unique column from the previous
//! page's last key, instead of an `OFFSET` that grows with the page number
//! and skips or repeats rows when rows come and go between pages.

use super::Select;
use crate::condition::{CmpOp, Column, Node, Nullability};
use crate::db::Executor;
use crate::error::Error;
use crate::exec::dispatch;
use crate::model::Model;
use crate::value::{SqlType, Value};

/// The direction of a [`Keyset`] page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Smallest key first; the next page holds greater keys.
    Asc,
    /// Greatest key first; the next page holds smaller keys.
    Desc,
}

/// One page of rows and the key to continue from.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<M, K> {
    /// The rows of the page, in the page's order.
    pub items: Vec<M>,
    /// The key of the page's last row when another page follows (pass it
    /// as `after` for the next page); `None` on the last page.
    pub next: Option<K>,
}

/// A query paged by a unique column, from [`Select::keyset`].
#[must_use = "a query does nothing until `fetch_page` runs it"]
pub struct Keyset<M, K> {
    select: Select<M>,
    key: usize,
    _key: std::marker::PhantomData<fn() -> K>,
}

impl<M: Model> Select<M> {
    /// Pages the query by `key`, a column whose values are unique within
    /// the tenant (the primary key, or another unique key): ordered by it
    /// in `order`, starting after the key `after` (the previous page's
    /// [`Page::next`]; `None` for the first page). The filters so far
    /// carry over; add no other ordering.
    ///
    /// ```
    /// use tenant_core::prelude::*;
    /// use tenant_core::SortOrder;
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
    /// # async fn run(db: &TenantDb, acme: &TenantScope, cursor: Option<i64>) -> Result<(), tenant_core::Error> {
    /// // Newest first, 20 per page; `cursor` is the previous page's `next`.
    /// let page = Invoice::query(acme)
    ///     .filter(Invoice::AMOUNT_CENTS.gt(0))
    ///     .keyset(Invoice::ID, SortOrder::Desc, cursor)
    ///     .fetch_page(20, db)
    ///     .await?;
    /// let (items, next): (Vec<Invoice>, Option<i64>) = (page.items, page.next);
    /// # Ok(()) }
    /// ```
    pub fn keyset<K, N>(
        mut self,
        key: Column<M, K, N>,
        order: SortOrder,
        after: Option<K>,
    ) -> Keyset<M, K>
    where
        K: SqlType + Clone + Unpin,
        // A column that is never NULL: `NotNull` or `PrimaryKey`.
        N: Nullability<K, Compared = K>,
    {
        let desc = order == SortOrder::Desc;
        if let Some(after) = after {
            let op = if desc { CmpOp::Lt } else { CmpOp::Gt };
            self.push_filter(
                Node::Compare {
                    column: key.index(),
                    op,
                },
                vec![Value::new(after)],
            );
        }
        let select = if desc {
            self.order_by(key.desc())
        } else {
            self.order_by(key.asc())
        };
        Keyset {
            select,
            key: key.index(),
            _key: std::marker::PhantomData,
        }
    }
}

impl<M: Model, K: SqlType + Clone + Unpin> Keyset<M, K> {
    /// The SQL that [`fetch_page`](Keyset::fetch_page) runs for pages of
    /// `size` (PostgreSQL's dialect).
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::SortOrder;
    ///
    /// let pages = Invoice::query(&acme).keyset(Invoice::ID, SortOrder::Asc, Some(1));
    /// assert!(pages.to_sql().contains(r#""invoices"."id" > $2"#), "{}", pages.to_sql());
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql(&self) -> String {
        self.select.to_sql()
    }

    /// Up to `size` rows and the key to continue from: one statement that
    /// reads one row more than the page to know whether another follows.
    /// A `size` of 0 reads nothing and returns an empty last page.
    ///
    /// ```
    /// # include!("../doctest_setup.rs");
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// # let (db, acme, globex) = setup().await?;
    /// use tenant_core::SortOrder;
    ///
    /// let first = Invoice::query(&acme)
    ///     .keyset(Invoice::ID, SortOrder::Asc, None)
    ///     .fetch_page(2, &db)
    ///     .await?;
    /// assert_eq!(first.items.iter().map(|i| i.id).collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(first.next, Some(2));
    /// let last = Invoice::query(&acme)
    ///     .keyset(Invoice::ID, SortOrder::Asc, first.next)
    ///     .fetch_page(2, &db)
    ///     .await?;
    /// assert_eq!(last.items.iter().map(|i| i.id).collect::<Vec<_>>(), [3]);
    /// assert_eq!(last.next, None);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_page<'c>(
        self,
        size: u32,
        executor: impl Executor<'c>,
    ) -> Result<Page<M, K>, Error> {
        if size == 0 {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let key = self.key;
        let target = executor.into_target();
        let stmt = self
            .select
            .limit(size.saturating_add(1))
            .statement_for(&target)?;
        let mut rows: Vec<(M, K)> =
            dispatch!(target, on => super::fetch_keyed::<_, M, K>(on, stmt, key).await)?;
        let next = if rows.len() > size as usize {
            rows.truncate(size as usize);
            rows.last().map(|(_, k)| k.clone())
        } else {
            None
        };
        Ok(Page {
            items: rows.into_iter().map(|(m, _)| m).collect(),
            next,
        })
    }
}
