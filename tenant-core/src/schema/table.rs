//! A model's table as the DDL declares it on one backend: its columns with
//! their declared types, its keys, indexes and foreign keys. The same plan
//! is rendered as `CREATE TABLE`, compared with the previous one for a
//! migration, and stored as the state the next migration starts from.

use crate::backend::Backend;
use crate::rls::ModelInfo;

use super::SchemaError;
use super::types::{self, Use};

/// One table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "migrations", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Table {
    pub(crate) name: String,
    pub(crate) tenant_column: Option<String>,
    /// The tenant key's PostgreSQL type (`text`, `bigint` ..), for the
    /// row-level-security policy.
    pub(crate) tenant_key_type: String,
    pub(crate) columns: Vec<Column>,
    /// Empty when the model has no primary key.
    pub(crate) primary_key: Vec<String>,
    pub(crate) unique: Vec<Key>,
    pub(crate) indexes: Vec<Key>,
    pub(crate) foreign_keys: Vec<ForeignKey>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "migrations", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) sql_type: String,
    pub(crate) not_null: bool,
    /// Filled by the database: identity / `AUTO_INCREMENT` / rowid.
    pub(crate) identity: bool,
    /// `DEFAULT ..` of a `#[tenant(generated)]` column.
    pub(crate) default: Option<String>,
}

/// A named unique key or index.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "migrations", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) columns: Vec<String>,
}

/// A named foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "migrations", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct ForeignKey {
    pub(crate) name: String,
    pub(crate) columns: Vec<String>,
    pub(crate) parent: String,
    pub(crate) parent_columns: Vec<String>,
}

impl Table {
    /// The plan of `model`'s table on `backend`.
    pub(crate) fn of(backend: Backend, model: &ModelInfo) -> Result<Table, SchemaError> {
        let schema = &model.schema;
        let tenant = model.tenant_column;
        let pk = model.primary_key;
        let unsupported = |column: &str, reason: String| SchemaError::Unsupported {
            table: model.table.to_owned(),
            column: column.to_owned(),
            reason,
        };
        // Columns in a key: an index, a unique key, the primary key or a
        // reference.
        let keyed = |column: &str| {
            pk == Some(column)
                || schema
                    .unique
                    .iter()
                    .chain(schema.indexes)
                    .any(|k| k.contains(&column))
                || model.references.iter().any(|r| r.column_name == column)
        };
        let mut columns = Vec::with_capacity(model.columns.len());
        for (index, &name) in model.columns.iter().enumerate() {
            let usage = if tenant == Some(name) {
                Use::Tenant
            } else if keyed(name) {
                Use::Key
            } else {
                Use::Plain
            };
            let rust = schema.rust_types[index];
            let sql_type = types::column_type(backend, &schema.types[index], rust, usage)
                .map_err(|why| unsupported(name, format!("`{rust}` has no SQL type: {why}")))?;
            let filled = tenant != Some(name) && !schema.insert_columns.contains(&name);
            let identity = filled && pk == Some(name);
            if identity && !types::is_integer(backend, &sql_type) {
                return Err(unsupported(
                    name,
                    format!(
                        "the primary key is filled by the database, but {} cannot generate a `{rust}` ({sql_type}): \
                         make it an integer, or mark it #[tenant(primary_key, client_generated)] and supply it",
                        backend.name()
                    ),
                ));
            }
            let default = if filled && !identity {
                let default = types::generated_default(backend, &sql_type).ok_or_else(|| {
                    unsupported(
                        name,
                        format!(
                            "the column is #[tenant(generated)], and the generator knows a default only for \
                             timestamps (the current time), not for `{rust}` ({sql_type}): declare the \
                             column in a hand-written migration, or supply the value (remove `generated`)"
                        ),
                    )
                })?;
                Some(default.to_owned())
            } else {
                None
            };
            columns.push(Column {
                name: name.to_owned(),
                sql_type,
                not_null: !schema.nullable[index] || pk == Some(name) || tenant == Some(name),
                identity,
                default,
            });
        }
        let led = |list: &[&str]| -> Vec<String> {
            let mut out: Vec<String> = tenant.iter().map(|t| (*t).to_owned()).collect();
            out.extend(
                list.iter()
                    .filter(|c| Some(**c) != tenant)
                    .map(|c| (*c).to_owned()),
            );
            out
        };
        // SQLite's generated key is its rowid (`INTEGER PRIMARY KEY`), alone;
        // the tenant-led pair is then a unique key, which a same-tenant
        // foreign key can point at. Elsewhere the key leads with the tenant.
        let rowid = backend == Backend::Sqlite && columns.iter().any(|c| c.identity);
        let primary_key = match pk {
            Some(pk) if rowid => vec![pk.to_owned()],
            Some(pk) => led(&[pk]),
            None => Vec::new(),
        };
        let mut unique = Vec::new();
        let push_key = |keys: &mut Vec<Key>, columns: Vec<String>, suffix: &str| {
            if !keys.iter().any(|k| k.columns == columns) && columns != primary_key {
                keys.push(Key {
                    name: constraint_name(model.table, &columns, suffix),
                    columns,
                });
            }
        };
        if let (true, Some(pk), Some(_)) = (rowid, pk, tenant) {
            push_key(&mut unique, led(&[pk]), "key");
        }
        for list in schema.unique {
            push_key(&mut unique, led(list), "key");
        }
        let mut indexes = Vec::new();
        for list in schema.indexes {
            push_key(&mut indexes, led(list), "idx");
        }
        let mut foreign_keys = Vec::new();
        for reference in model.references {
            let (columns, parent_columns) = match (tenant, reference.parent_tenant_column) {
                (Some(t), Some(pt)) => (
                    vec![t.to_owned(), reference.column_name.to_owned()],
                    vec![pt.to_owned(), reference.parent_key.to_owned()],
                ),
                _ => (
                    vec![reference.column_name.to_owned()],
                    vec![reference.parent_key.to_owned()],
                ),
            };
            // An index for the join and for the parent's deletes, unless a
            // key already starts with these columns.
            let covered = std::iter::once(&primary_key)
                .chain(unique.iter().chain(&indexes).map(|k| &k.columns))
                .any(|k| k.starts_with(&columns));
            if !covered {
                push_key(&mut indexes, columns.clone(), "idx");
            }
            foreign_keys.push(ForeignKey {
                name: constraint_name(model.table, &columns, "fkey"),
                columns,
                parent: reference.parent_table.to_owned(),
                parent_columns,
            });
        }
        // Every statement filters on the tenant column: something must
        // lead with it.
        if let Some(t) = tenant {
            let leads = std::iter::once(&primary_key)
                .chain(unique.iter().chain(&indexes).map(|k| &k.columns))
                .any(|k| k.first().map(String::as_str) == Some(t));
            if !leads {
                push_key(&mut indexes, vec![t.to_owned()], "idx");
            }
        }
        Ok(Table {
            name: model.table.to_owned(),
            tenant_column: tenant.map(str::to_owned),
            tenant_key_type: model.tenant_key_type.to_owned(),
            columns,
            primary_key,
            unique,
            indexes,
            foreign_keys,
        })
    }

    #[cfg(feature = "migrations")]
    pub(crate) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// `<table>_<columns>_<suffix>`, kept within 63 bytes (PostgreSQL's limit;
/// MySQL's is 64) by a hash of the full name.
pub(crate) fn constraint_name(table: &str, columns: &[String], suffix: &str) -> String {
    let name = format!("{table}_{}_{suffix}", columns.join("_"));
    if name.len() <= 63 {
        return name;
    }
    // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}_{:08x}", &name[..54], hash as u32)
}

/// `tables` ordered parents first, so each foreign key points at a table
/// created before it. A reference to a table not among them, or a cycle, is
/// an error.
pub(crate) fn in_reference_order(
    mut tables: Vec<Table>,
    known: &[String],
) -> Result<Vec<Table>, SchemaError> {
    for table in &tables {
        for fk in &table.foreign_keys {
            let present = tables.iter().any(|t| t.name == fk.parent) || known.contains(&fk.parent);
            if !present {
                return Err(SchemaError::MissingParent {
                    table: table.name.clone(),
                    parent: fk.parent.clone(),
                });
            }
        }
    }
    let mut ordered: Vec<Table> = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready = tables.iter().position(|t| {
            t.foreign_keys.iter().all(|fk| {
                fk.parent == t.name
                    || known.contains(&fk.parent)
                    || ordered.iter().any(|o| o.name == fk.parent)
            })
        });
        match ready {
            Some(i) => ordered.push(tables.remove(i)),
            None => {
                return Err(SchemaError::ReferenceCycle {
                    tables: tables.iter().map(|t| t.name.clone()).collect(),
                });
            }
        }
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::constraint_name;

    #[test]
    fn long_constraint_names_stay_within_63_bytes_and_distinct() {
        let columns = |c: &str| vec!["tenant_id".to_owned(), c.to_owned()];
        assert_eq!(
            constraint_name("invoices", &columns("customer_id"), "fkey"),
            "invoices_tenant_id_customer_id_fkey"
        );
        let table = "a_table_with_a_rather_long_name_for_the_test";
        let a = constraint_name(table, &columns("first_long_column_name"), "idx");
        let b = constraint_name(table, &columns("first_long_column_name_2"), "idx");
        assert!(a.len() <= 63 && b.len() <= 63, "{a} {b}");
        assert_ne!(a, b);
        assert_eq!(
            a,
            constraint_name(table, &columns("first_long_column_name"), "idx")
        );
    }
}
