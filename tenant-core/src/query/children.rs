//! Parents with their children in two statements: the parents' query, then
//! one scoped query of every child of those parents (`IN` over their keys).

use std::collections::HashMap;
use std::hash::Hash;

use super::Select;
use crate::condition::Node;
use crate::db::Executor;
use crate::error::Error;
use crate::exec::dispatch;
use crate::model::{HasPrimaryKey, Model};
use crate::relation::{Reaches, References};
use crate::value::Value;

/// Keys per children's statement: under every backend's limit of bound
/// parameters (SQLite's is 32 766) with room for the tenant.
const KEYS_PER_STATEMENT: usize = 30_000;

impl<P> Select<P>
where
    P: HasPrimaryKey,
    P::PrimaryKey: Clone + Eq + Hash + Unpin,
{
    /// Every matching row of `P`, each with its children of model `C` (the
    /// rows of `C` whose `#[tenant(references = P)]` field holds its key),
    /// in two statements whatever the number of parents: this query, then
    /// one query of `C` scoped by the same scope, filtered on the parents'
    /// keys. Children come in no particular order.
    ///
    /// The two statements see the same data when run inside a transaction
    /// (`db.begin(&scope)`); on a pool another writer may commit between
    /// them. More than 30 000 parents take one more statement per 30 000.
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
    /// }
    ///
    /// # async fn run(db: &TenantDb, acme: &TenantScope) -> Result<(), tenant_core::Error> {
    /// let customers: Vec<(Customer, Vec<Invoice>)> = Customer::query(acme)
    ///     .order_by(Customer::NAME.asc())
    ///     .limit(50)
    ///     .fetch_with_children::<Invoice>(db)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn fetch_with_children<'c, C>(
        self,
        executor: impl Executor<'c>,
    ) -> Result<Vec<(P, Vec<C>)>, Error>
    where
        C: Model + References<P>,
        P::Scope: Reaches<C::Scope>,
    {
        let mut target = executor.into_target();
        let tenant = self.tenant();
        let stmt = self.statement_for(&target)?;
        let parents: Vec<(P, P::PrimaryKey)> = {
            let target = target.reborrow();
            dispatch!(target, on => super::fetch_keyed::<_, P, P::PrimaryKey>(on, stmt, P::PRIMARY_KEY_INDEX).await)?
        };
        let unmatched = |reason| Error::ChildrenUnmatched {
            table: P::TABLE,
            column: P::COLUMNS[P::PRIMARY_KEY_INDEX],
            reason,
        };
        let mut keys: Vec<P::PrimaryKey> = Vec::with_capacity(parents.len());
        {
            let mut seen = std::collections::HashSet::with_capacity(parents.len());
            for (_, key) in &parents {
                if !seen.insert(key) {
                    return Err(unmatched("two parents hold the same key"));
                }
                keys.push(key.clone());
            }
        }
        let mut children: HashMap<P::PrimaryKey, Vec<C>> = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(KEYS_PER_STATEMENT) {
            let mut query = Select::<C>::with_tenant(tenant);
            query.push_filter(
                Node::In {
                    column: <C as References<P>>::COLUMN,
                    len: chunk.len(),
                },
                chunk.iter().cloned().map(Value::new).collect(),
            );
            let stmt = query.statement_for(&target)?;
            let target = target.reborrow();
            let rows: Vec<(C, Option<P::PrimaryKey>)> = dispatch!(target, on => super::fetch_keyed::<_, C, Option<P::PrimaryKey>>(on, stmt, <C as References<P>>::COLUMN).await)?;
            for (child, key) in rows {
                if let Some(key) = key {
                    children.entry(key).or_default().push(child);
                }
            }
        }
        let groups: Vec<(P, Vec<C>)> = parents
            .into_iter()
            .map(|(parent, key)| {
                let kids = children.remove(&key).unwrap_or_default();
                (parent, kids)
            })
            .collect();
        if !children.is_empty() {
            return Err(unmatched(
                "the database matched children whose key equals no parent's key exactly (a case- or space-insensitive collation on the key?)",
            ));
        }
        Ok(groups)
    }
}
