//! Same-tenant references on write: before a row that holds a
//! `#[tenant(references = P)]` key is stored (an insert, a bulk insert, an
//! upsert, an update that sets the key), the keys it refers to are looked
//! up in `P`'s table *for the writing tenant*, in the write's transaction,
//! and the write is refused with [`Error::ReferenceNotFound`] if one is
//! missing. Another tenant's row and no row at all give the same error.
//!
//! This holds whether or not the schema has a composite foreign key
//! `(tenant_id, customer_id) REFERENCES customers (tenant_id, id)` (which
//! the database then enforces as well). The referenced rows cannot be
//! deleted by others until the write commits: the lookup locks them
//! (`FOR KEY SHARE` on PostgreSQL, `LOCK IN SHARE MODE` on MySQL); on
//! SQLite the transaction holds the database's write lock from its start
//! (`BEGIN IMMEDIATE` when the builder opens it), and SQLite has one writer
//! at a time.
//! `tests/tests/references.rs` shows a concurrent delete waiting on each
//! backend. References to global models are checked for existence only,
//! without a lock (the serving role may only read them).
//!
//! The price is one statement, and on a pool a transaction around the
//! pair; models without references, and writes that store no key (an
//! empty optional reference, an update that assigns none), pay nothing.

use std::collections::HashSet;

use sqlx::error::BoxDynError;

use crate::backend::{Backend, Driver};
use crate::error::Error;
use crate::exec::{self, On};
use crate::model::{Model, NewRow};
use crate::params::{Params, Sql, Statement};
use crate::relation::{Reference, ReferenceKeys};
use crate::sql::{push_column, push_placeholder, quoted};
use crate::tenant::TenantValue;
use crate::value::{KeyRef, Value};

/// At most this many keys are checked by one statement: well under every
/// backend's limit of bound parameters (SQLite's 32 766 is the lowest).
const KEYS_PER_STATEMENT: usize = 10_000;

/// A key to check: read from a `New<Model>`, or the value an update
/// assigns (which may be NULL: that is checked when the lookup misses).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Key<'a> {
    Row(KeyRef<'a>),
    Set(&'a Value),
}

impl Key<'_> {
    fn bind<DB: Driver>(self, args: &mut DB::Arguments) -> Result<(), BoxDynError> {
        match self {
            Key::Row(key) => DB::add_key(args, key),
            Key::Set(value) => DB::add_value_ref(args, value),
        }
    }
}

/// The keys of one write to check, per reference of the model.
#[derive(Debug)]
pub(crate) struct Checks<'a> {
    per_reference: Vec<Vec<Key<'a>>>,
}

impl<'a> Checks<'a> {
    /// Whether writes of `M` under `tenant` are checked: a tenant-owned
    /// model with references. (A global model's rows belong to no tenant;
    /// only tenant-owned models can reach another tenant's rows.)
    pub(crate) fn apply<M: Model>(tenant: Option<&TenantValue>) -> bool {
        !M::REFERENCES.is_empty() && tenant.is_some() && M::TENANT_COLUMN.is_some()
    }

    /// The tenant the keys of `rows` must be looked up for before they are
    /// written: `Some` when the model's writes are checked ([`apply`]) and
    /// a row holds a key (an empty optional reference needs no lookup).
    ///
    /// [`apply`]: Checks::apply
    pub(crate) fn tenant_for_rows<M: Model>(
        tenant: Option<TenantValue>,
        rows: impl IntoIterator<Item = &'a M::New>,
    ) -> Option<TenantValue> {
        let tenant = tenant.filter(|t| Self::apply::<M>(Some(t)))?;
        let mut keys = ReferenceKeys::default();
        for row in rows {
            row.reference_keys(&mut keys);
            if !keys.0.is_empty() {
                return Some(tenant);
            }
        }
        None
    }

    /// The distinct keys `rows` refer to.
    pub(crate) fn of_rows<M: Model>(rows: impl IntoIterator<Item = &'a M::New>) -> Self {
        let mut keys = ReferenceKeys::default();
        for row in rows {
            row.reference_keys(&mut keys);
        }
        let mut seen = HashSet::new();
        let mut per_reference = vec![Vec::new(); M::REFERENCES.len()];
        for (reference, key) in keys.0 {
            if seen.insert((reference, key)) {
                per_reference[reference].push(Key::Row(key));
            }
        }
        Checks { per_reference }
    }

    /// The keys an update assigns: `(column position, value)` pairs.
    pub(crate) fn of_assignments<M: Model>(
        assignments: impl IntoIterator<Item = (usize, &'a Value)>,
    ) -> Self {
        let mut per_reference = vec![Vec::new(); M::REFERENCES.len()];
        for (column, value) in assignments {
            for (i, reference) in M::REFERENCES.iter().enumerate() {
                if reference.column == column {
                    // The value the column ends with: the last assignment.
                    per_reference[i] = vec![Key::Set(value)];
                }
            }
        }
        Checks { per_reference }
    }

    /// Looks every key up for `tenant` on `on` (a transaction: the caller's
    /// or the one the write runs in); refuses the first reference with a
    /// key the tenant does not have.
    pub(crate) async fn run<DB: Driver, M: Model>(
        self,
        on: &mut On<'_, DB>,
        tenant: TenantValue,
    ) -> Result<(), Error> {
        for (reference, keys) in M::REFERENCES.iter().zip(self.per_reference) {
            for chunk in keys.chunks(KEYS_PER_STATEMENT) {
                if lookup::<DB>(on, tenant, reference, chunk).await? {
                    continue;
                }
                // Fewer rows than keys: a key is missing — or two keys that
                // differ in Rust are one to the database (MySQL's case- and
                // trailing-space-insensitive collations). Each key is then
                // looked up alone, and the error names the first missing.
                let mut missing = None;
                if let [key] = chunk {
                    missing = Some(*key);
                } else {
                    for &key in chunk {
                        if !lookup::<DB>(on, tenant, reference, &[key]).await? {
                            missing = Some(key);
                            break;
                        }
                    }
                }
                if let Some(key) = missing {
                    return Err(Error::ReferenceNotFound {
                        model: reference.model,
                        column: reference.column_name,
                        parent: reference.parent,
                        tenant: tenant.to_string(),
                        key: shown(key),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Whether every one of `keys` (distinct to the database) names a row of
/// the referenced model for `tenant`; a single assigned value that is NULL
/// (an optional reference being cleared) passes.
async fn lookup<DB: Driver>(
    on: &mut On<'_, DB>,
    tenant: TenantValue,
    reference: &Reference,
    keys: &[Key<'_>],
) -> Result<bool, Error> {
    let found = exec::fetch_scalar(
        on.reborrow(),
        Statement {
            label: crate::params::Label {
                model: reference.parent_table,
                kind: crate::trace::kind::REFERENCE_LOOKUP,
            },
            sql: Sql::Owned(render(reference, DB::BACKEND, keys.len())),
            tenant: Some(tenant),
            params: LookupParams {
                tenant: reference.parent_tenant_column.map(|_| tenant),
                keys: keys.to_vec(),
            },
        },
    )
    .await?;
    if usize::try_from(found).ok() == Some(keys.len()) {
        return Ok(true);
    }
    match keys {
        [Key::Set(value)] => is_null::<DB>(on, tenant, reference, value).await,
        _ => Ok(false),
    }
}

/// Whether `value` is NULL, asked of the database (a type-erased value
/// cannot say). The text names the reference: a prepared statement's
/// parameter types are fixed by its first use, and each reference's keys
/// have one type.
async fn is_null<DB: Driver>(
    on: &mut On<'_, DB>,
    tenant: TenantValue,
    reference: &Reference,
    value: &Value,
) -> Result<bool, Error> {
    let mut sql = String::from("SELECT COUNT(*) AS ");
    sql.push_str(&quoted(
        DB::BACKEND,
        &format!("{}.{} is null", reference.model, reference.column_name),
    ));
    if DB::BACKEND == Backend::MySql {
        sql.push_str(" FROM DUAL");
    }
    sql.push_str(" WHERE ");
    push_placeholder(&mut sql, DB::BACKEND, &mut 1);
    sql.push_str(" IS NULL");
    let nulls = exec::fetch_scalar(
        on.reborrow(),
        Statement {
            label: crate::params::Label {
                model: reference.parent_table,
                kind: crate::trace::kind::REFERENCE_LOOKUP,
            },
            sql: Sql::Owned(sql),
            tenant: Some(tenant),
            params: LookupParams {
                tenant: None,
                keys: vec![Key::Set(value)],
            },
        },
    )
    .await?;
    Ok(nulls == 1)
}

/// The key of an error message.
fn shown(key: Key<'_>) -> String {
    match key {
        Key::Row(key) => format!("{key:?}"),
        Key::Set(_) => "the value assigned".to_owned(),
    }
}

/// The tenant (when the referenced model is tenant-owned), then the keys.
struct LookupParams<'a> {
    tenant: Option<TenantValue>,
    keys: Vec<Key<'a>>,
}

impl Params for LookupParams<'_> {
    fn bind<DB: Driver>(self, args: &mut DB::Arguments) -> Result<(), BoxDynError> {
        if let Some(tenant) = self.tenant {
            tenant.bind::<DB>(args)?;
        }
        for key in self.keys {
            key.bind::<DB>(args)?;
        }
        Ok(())
    }
}

/// `SELECT COUNT(DISTINCT key)` of the referenced rows of the tenant whose
/// key is one of `keys` placeholders, locking them where the backend can.
pub(crate) fn render(reference: &Reference, backend: Backend, keys: usize) -> String {
    let table = quoted(backend, reference.parent_table);
    let mut key = String::new();
    push_column(&mut key, backend, &table, reference.parent_key);
    let mut filter = String::from(" WHERE ");
    let mut next = 1;
    if let Some(tenant_column) = reference.parent_tenant_column {
        push_column(&mut filter, backend, &table, tenant_column);
        filter.push_str(" = ");
        push_placeholder(&mut filter, backend, &mut next);
        filter.push_str(" AND ");
    }
    filter.push_str(&key);
    filter.push_str(" IN (");
    for i in 0..keys {
        if i > 0 {
            filter.push_str(", ");
        }
        push_placeholder(&mut filter, backend, &mut next);
    }
    filter.push(')');
    let lock = reference.parent_tenant_column.is_some();
    match backend {
        // `FOR KEY SHARE` does not go with an aggregate: the rows are
        // locked in a subquery and counted outside it.
        Backend::Postgres if lock => format!(
            "SELECT COUNT(DISTINCT \"__found\".\"__key\") FROM (SELECT {key} AS \"__key\" FROM {table}{filter} FOR KEY SHARE) AS \"__found\""
        ),
        Backend::MySql if lock => {
            format!("SELECT COUNT(DISTINCT {key}) FROM {table}{filter} LOCK IN SHARE MODE")
        }
        _ => format!("SELECT COUNT(DISTINCT {key}) FROM {table}{filter}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUSTOMER: Reference = Reference {
        model: "Invoice",
        column: 2,
        column_name: "customer_id",
        parent: "Customer",
        parent_table: "customers",
        parent_tenant_column: Some("tenant_id"),
        parent_key: "id",
    };

    #[test]
    fn lookups_compare_the_tenant_and_lock_the_rows() {
        assert_eq!(
            render(&CUSTOMER, Backend::Postgres, 2),
            r#"SELECT COUNT(DISTINCT "__found"."__key") FROM (SELECT "customers"."id" AS "__key" FROM "customers" WHERE "customers"."tenant_id" = $1 AND "customers"."id" IN ($2, $3) FOR KEY SHARE) AS "__found""#
        );
        assert_eq!(
            render(&CUSTOMER, Backend::MySql, 1),
            "SELECT COUNT(DISTINCT `customers`.`id`) FROM `customers` WHERE `customers`.`tenant_id` = ? AND `customers`.`id` IN (?) LOCK IN SHARE MODE"
        );
        assert_eq!(
            render(&CUSTOMER, Backend::Sqlite, 1),
            r#"SELECT COUNT(DISTINCT "customers"."id") FROM "customers" WHERE "customers"."tenant_id" = $1 AND "customers"."id" IN ($2)"#
        );
    }

    #[test]
    fn global_parents_are_looked_up_without_a_tenant_or_lock() {
        let plan = Reference {
            parent_table: "plans",
            parent_tenant_column: None,
            ..CUSTOMER
        };
        assert_eq!(
            render(&plan, Backend::Postgres, 1),
            r#"SELECT COUNT(DISTINCT "plans"."id") FROM "plans" WHERE "plans"."id" IN ($1)"#
        );
    }
}
