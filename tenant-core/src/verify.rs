//! The schema check: the registered models against the live database, on
//! every backend, before the first request.
//!
//! A model that does not match its table fails at run time otherwise, and
//! not always loudly: on SQLite an integer tenant column stores an insert
//! and then fails to decode it (a retry inserts it twice), and a global model
//! over a tenant table reads every tenant's rows. [`TenantDb::verify`]
//! reports every mismatch at once, each with its fix.

use std::fmt;

use sqlx::{Column as _, Executor as _, Statement as _, TypeInfo as _};

use crate::backend::{Backend, Driver};
use crate::db::TenantDb;
use crate::error::Error;
use crate::rls::ModelInfo;
use crate::sql::{push_column, quoted};

/// One difference between a model and its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The table.
    pub table: String,
    /// The column, when the mismatch is about one.
    pub column: Option<String>,
    /// Stable identifier of the check: `table_exists`, `column_exists`,
    /// `column_type`, `column_nullable`, `tenant_not_null`,
    /// `tenant_collation`, `global_table_is_tenant_table`.
    pub check: &'static str,
    /// What differs, why it matters, and the fix.
    pub detail: String,
}

/// Every mismatch [`TenantDb::verify`] found; empty when the schema matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaReport {
    /// The mismatches, in model order.
    pub mismatches: Vec<Mismatch>,
    /// How many models were checked.
    pub models: usize,
}

impl SchemaReport {
    /// `true` when every model matches its table.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }

    /// Whether check `check` failed for `table`.
    pub fn failed(&self, table: &str, check: &str) -> bool {
        self.mismatches
            .iter()
            .any(|m| m.check == check && m.table == table)
    }

    /// `Ok(())` when the schema matches, otherwise
    /// [`Error::SchemaMismatch`] with this report.
    pub fn into_result(self) -> Result<(), Error> {
        if self.passed() {
            Ok(())
        } else {
            Err(Error::SchemaMismatch(Box::new(self)))
        }
    }

    fn push(&mut self, table: &str, column: Option<&str>, check: &'static str, detail: String) {
        self.mismatches.push(Mismatch {
            table: table.to_owned(),
            column: column.map(str::to_owned),
            check,
            detail,
        });
    }
}

impl fmt::Display for SchemaReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.passed() {
            return write!(f, "all {} models match their tables", self.models);
        }
        writeln!(
            f,
            "{} mismatch(es) between the models and the database:",
            self.mismatches.len()
        )?;
        for m in &self.mismatches {
            match &m.column {
                Some(column) => {
                    writeln!(f, "  table {:?} column {column:?}: {}", m.table, m.detail)?
                }
                None => writeln!(f, "  table {:?}: {}", m.table, m.detail)?,
            }
        }
        Ok(())
    }
}

/// A column of the live table.
struct LiveColumn {
    name: String,
    not_null: bool,
    primary_key: bool,
    /// SQLite: the declared type, which decides the column's affinity.
    declared: String,
    /// PostgreSQL: its collation is deterministic (equal only when
    /// byte-equal). Always `true` on SQLite, whose built-in collations
    /// cannot make two valid tenant ids equal.
    deterministic: bool,
}

/// What the catalog says about a table.
struct LiveTable {
    columns: Vec<LiveColumn>,
    /// PostgreSQL: row-level security enabled, or a policy defined.
    row_security: bool,
    /// A view (or materialized view) that reads a tenant model's table.
    view_of_tenant_table: bool,
}

impl TenantDb {
    /// Compares `models` with the live database and reports every mismatch
    /// at once, with its fix: each table and column exists, each column's
    /// type reads into the field's Rust type, a non-`Option` field is not
    /// over a nullable column, the tenant column is `NOT NULL`, and no
    /// `#[tenant(global)]` model maps a tenant table (a table also mapped
    /// by a tenant model, one with a column named like a tenant column, or
    /// with row-level security on).
    ///
    /// Run it at startup and refuse to serve on a mismatch:
    ///
    /// ```
    /// use tenant_core::prelude::*;
    /// use tenant_core::rls::ModelInfo;
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_core::Error> {
    /// let db = TenantDb::connect("sqlite::memory:").await?;
    /// let pool = db.raw_sqlite(&tenant_core::CrossTenant::audited("schema migrations"))?;
    /// // The tenant column was created as an integer.
    /// sqlx::query("CREATE TABLE invoices (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL)")
    ///     .execute(pool)
    ///     .await?;
    /// let report = db.verify(&[ModelInfo::of::<Invoice>()]).await?;
    /// assert!(report.failed("invoices", "column_type"));
    /// assert!(report.failed("invoices", "column_exists")); // amount_cents
    /// assert!(report.into_result().is_err());
    /// # Ok(()) }
    /// ```
    pub async fn verify(&self, models: &[ModelInfo]) -> Result<SchemaReport, Error> {
        let backend = self.backend();
        let mut report = SchemaReport {
            mismatches: Vec::new(),
            models: models.len(),
        };
        let tenant_models: Vec<&ModelInfo> = models
            .iter()
            .filter(|m| m.tenant_column.is_some())
            .collect();
        let tenant_tables: Vec<&str> = tenant_models.iter().map(|m| m.table).collect();
        for model in models {
            let Some(live) = self.live_table(model.table, &tenant_tables).await? else {
                report.push(
                    model.table,
                    None,
                    "table_exists",
                    "does not exist. Fix: create it (run the migrations), or correct #[tenant(table = \"..\")]."
                        .into(),
                );
                continue;
            };
            self.check_columns(model, &live, &mut report).await?;
            if model.tenant_column.is_none() {
                check_global(backend, model, &live, &tenant_models, &mut report);
            }
        }
        Ok(report)
    }

    async fn live_table(
        &self,
        table: &str,
        tenant_tables: &[&str],
    ) -> Result<Option<LiveTable>, Error> {
        #[cfg(feature = "sqlite")]
        if let Some(pool) = self.serving_sqlite() {
            let rows: Vec<(String, String, bool, i64)> =
                sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")
                    .bind(table)
                    .fetch_all(pool)
                    .await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let view: Option<String> = sqlx::query_scalar(
                "SELECT sql FROM sqlite_schema WHERE type = 'view' AND name = ?1 COLLATE NOCASE",
            )
            .bind(table)
            .fetch_optional(pool)
            .await?;
            let view_of_tenant_table = view.is_some_and(|sql| mentions_any(&sql, tenant_tables));
            return Ok(Some(LiveTable {
                columns: rows
                    .into_iter()
                    .map(|(name, declared, not_null, pk)| LiveColumn {
                        name,
                        not_null,
                        primary_key: pk > 0,
                        declared,
                        deterministic: true,
                    })
                    .collect(),
                row_security: false,
                view_of_tenant_table,
            }));
        }
        #[cfg(feature = "mysql")]
        if let Some(pool) = self.serving_mysql() {
            return live_mysql_table(pool, table, tenant_tables).await;
        }
        #[cfg(feature = "postgres")]
        if let Some(pool) = self.serving_postgres() {
            return live_postgres_table(pool, table, tenant_tables).await;
        }
        Err(Error::Unsupported {
            backend: self.backend(),
            operation: "the schema check",
        })
    }

    /// For each of `indexes` (the columns `sql` selects, in order): whether
    /// the field's type reads the column as the driver sees it, and the
    /// column's type name.
    async fn column_types(
        &self,
        model: &ModelInfo,
        indexes: &[usize],
        sql: String,
    ) -> Result<Vec<(usize, bool, String)>, Error> {
        async fn on<DB: Driver>(
            pool: &sqlx::Pool<DB>,
            model: &ModelInfo,
            indexes: &[usize],
            sql: String,
        ) -> Result<Vec<(usize, bool, String)>, Error>
        where
            for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
        {
            let sql = sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql));
            let statement = pool.prepare(sql).await?;
            let mut types = Vec::new();
            for (index, column) in indexes.iter().zip(statement.columns()) {
                let ty = column.type_info();
                // No declared type, or one SQLite maps to no affinity sqlx
                // knows: values are checked when read.
                if ty.is_null() {
                    continue;
                }
                types.push((
                    *index,
                    DB::compatible(&model.schema.types[*index], ty),
                    ty.name().to_owned(),
                ));
            }
            Ok(types)
        }
        #[cfg(feature = "sqlite")]
        if let Some(pool) = self.serving_sqlite() {
            return on(pool, model, indexes, sql).await;
        }
        #[cfg(feature = "postgres")]
        if let Some(pool) = self.serving_postgres() {
            return on(pool, model, indexes, sql).await;
        }
        #[cfg(feature = "mysql")]
        if let Some(pool) = self.serving_mysql() {
            return on(pool, model, indexes, sql).await;
        }
        let _ = (model, indexes, sql);
        Ok(Vec::new())
    }

    /// Existence, type and nullability of each of the model's columns.
    async fn check_columns(
        &self,
        model: &ModelInfo,
        live: &LiveTable,
        report: &mut SchemaReport,
    ) -> Result<(), Error> {
        let backend = self.backend();
        // (field index, live column) of the columns that exist.
        let mut present: Vec<(usize, &LiveColumn)> = Vec::new();
        for (index, column) in model.columns.iter().enumerate() {
            match live
                .columns
                .iter()
                .find(|c| same_identifier(backend, &c.name, column))
            {
                Some(found) => present.push((index, found)),
                None => {
                    let near = live
                        .columns
                        .iter()
                        .find(|c| c.name.eq_ignore_ascii_case(column))
                        .map(|c| {
                            format!(
                                " (there is {:?}: PostgreSQL compares quoted names exactly)",
                                c.name
                            )
                        })
                        .unwrap_or_default();
                    report.push(
                        model.table,
                        Some(column),
                        "column_exists",
                        format!(
                            "the model maps column {column:?}, which the table does not have{near}. \
                             Fix: add it, or correct the field (#[tenant(rename = \"..\")])."
                        ),
                    );
                }
            }
        }
        for &(index, live_column) in &present {
            let is_tenant = model.tenant_column == Some(model.columns[index]);
            let is_key = model.primary_key == Some(model.columns[index]) || live_column.primary_key;
            if is_tenant && backend == Backend::Sqlite && !keeps_text(&live_column.declared) {
                report.push(
                    model.table,
                    Some(model.columns[index]),
                    "column_type",
                    format!(
                        "the tenant column is declared {:?}, which gives it numeric affinity in SQLite: \
                         tenant ids such as \"0123\" and \"123\" are stored as the same number, and \
                         one tenant's statements match the other's rows. Fix: declare it TEXT.",
                        live_column.declared
                    ),
                );
            }
            if is_tenant && !live_column.deterministic {
                let table = quoted(backend, model.table);
                let column = quoted(backend, model.columns[index]);
                let fix = match backend {
                    Backend::MySql => format!(
                        "ALTER TABLE {table} MODIFY {column} VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;"
                    ),
                    _ => format!(
                        "ALTER TABLE {table} ALTER COLUMN {column} TYPE text COLLATE \"C\";"
                    ),
                };
                report.push(
                    model.table,
                    Some(model.columns[index]),
                    "tenant_collation",
                    format!(
                        "the tenant column's collation is not exact (nondeterministic, or \
                         case-insensitive): two different tenant ids can compare equal, in the \
                         builders' predicate and in any policy alike. Fix: {fix}"
                    ),
                );
            }
            if is_tenant && !live_column.not_null {
                report.push(
                    model.table,
                    Some(model.columns[index]),
                    "tenant_not_null",
                    format!(
                        "the tenant column allows NULL: a row without a tenant belongs to nobody. \
                         Fix: make it NOT NULL (ALTER TABLE {} ALTER COLUMN {} SET NOT NULL on PostgreSQL, \
                         MODIFY .. NOT NULL on MySQL, or rebuild the SQLite table).",
                        quoted(backend, model.table),
                        quoted(backend, model.columns[index])
                    ),
                );
            } else if !is_key && !live_column.not_null && !model.schema.nullable[index] {
                report.push(
                    model.table,
                    Some(model.columns[index]),
                    "column_nullable",
                    format!(
                        "the column allows NULL but the field is `{}`: reading a row where it is NULL fails. \
                         Fix: declare the field `Option<{}>`, or make the column NOT NULL.",
                        model.schema.rust_types[index], model.schema.rust_types[index]
                    ),
                );
            }
        }
        if present.is_empty() {
            return Ok(());
        }
        // The types as the driver sees them when it reads the columns.
        let table = quoted(backend, model.table);
        let mut sql = String::from("SELECT ");
        for (i, (index, _)) in present.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            push_column(&mut sql, backend, &table, model.columns[*index]);
        }
        sql.push_str(" FROM ");
        sql.push_str(&table);
        let indexes: Vec<usize> = present.iter().map(|(index, _)| *index).collect();
        let types = self.column_types(model, &indexes, sql).await?;
        for (index, compatible, sql_type) in types {
            if !compatible {
                let column = model.columns[index];
                let rust = model.schema.rust_types[index];
                let tenant = if model.tenant_column == Some(column) {
                    " A tenant column holds tenant ids as text."
                } else {
                    ""
                };
                report.push(
                    model.table,
                    Some(column),
                    "column_type",
                    format!(
                        "the column is {sql_type} but the field is `{rust}`, which cannot read it: \
                         every read fails (on SQLite an insert is stored before the failure).{tenant} \
                         Fix: change the column's type or the field's."
                    ),
                );
            }
        }
        Ok(())
    }
}

#[cfg(feature = "postgres")]
async fn live_postgres_table(
    pool: &sqlx::PgPool,
    table: &str,
    tenant_tables: &[&str],
) -> Result<Option<LiveTable>, Error> {
    type Row = (String, bool, bool, bool, bool, bool);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.attname::text, a.attnotnull,
                c.relrowsecurity OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid),
                COALESCE(a.attnum = ANY(pk.conkey), false),
                COALESCE(coll.collisdeterministic, true),
                c.relkind IN ('v', 'm') AND EXISTS (
                    SELECT 1 FROM pg_rewrite r
                    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                    JOIN pg_class t ON t.oid = d.refobjid
                    WHERE r.ev_class = c.oid AND t.oid <> c.oid AND t.relname::text = ANY($2))
         FROM pg_class c
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         LEFT JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
         LEFT JOIN pg_collation coll ON coll.oid = a.attcollation
         WHERE c.oid = to_regclass($1)
         ORDER BY a.attnum",
    )
    .bind(quoted(Backend::Postgres, table))
    .bind(tenant_tables)
    .fetch_all(pool)
    .await?;
    let Some(&(_, _, row_security, _, _, view_of_tenant_table)) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(LiveTable {
        columns: rows
            .into_iter()
            .map(
                |(name, not_null, _, primary_key, deterministic, _)| LiveColumn {
                    name,
                    not_null,
                    primary_key,
                    declared: String::new(),
                    deterministic,
                },
            )
            .collect(),
        row_security,
        view_of_tenant_table,
    }))
}

/// A MySQL table of the current database, from `information_schema`. A
/// tenant column is *deterministic* when its collation is binary: a `_ci`
/// collation matches `'ACME'` for `'acme'`, and a PAD SPACE one `'acme '`.
#[cfg(feature = "mysql")]
async fn live_mysql_table(
    pool: &sqlx::MySqlPool,
    table: &str,
    tenant_tables: &[&str],
) -> Result<Option<LiveTable>, Error> {
    type Row = (String, String, String, String, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT CAST(column_name AS CHAR), CAST(is_nullable AS CHAR), CAST(column_key AS CHAR),
                CAST(column_type AS CHAR), CAST(collation_name AS CHAR)
         FROM information_schema.columns
         WHERE table_schema = DATABASE() AND table_name = ?
         ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let view: Option<String> = sqlx::query_scalar(
        "SELECT CAST(view_definition AS CHAR) FROM information_schema.views
         WHERE table_schema = DATABASE() AND table_name = ?",
    )
    .bind(table)
    .fetch_optional(pool)
    .await?;
    Ok(Some(LiveTable {
        columns: rows
            .into_iter()
            .map(|(name, nullable, key, declared, collation)| LiveColumn {
                name,
                not_null: nullable == "NO",
                primary_key: key == "PRI",
                declared,
                deterministic: collation.is_none_or(|c| binary_collation(&c)),
            })
            .collect(),
        row_security: false,
        // MySQL shows a view's definition only to a user with SHOW VIEW
        // (or its definer); to anyone else it is empty. A view that cannot
        // be read cannot be cleared: count it as reading a tenant table.
        view_of_tenant_table: view
            .is_some_and(|sql| sql.trim().is_empty() || mentions_any(&sql, tenant_tables)),
    }))
}

/// Whether a MySQL collation compares characters exactly (`binary` or a
/// `_bin` collation). A `_ci` or `_cs`/accent-insensitive one lets `'Acme'`
/// or `'acmé'` match the scope `'acme'`. (A PAD SPACE `_bin` collation
/// still ignores trailing spaces; a tenant id never has one, and a stored
/// `'acme '` fails to decode as a `TenantId`.)
#[cfg(feature = "mysql")]
pub(crate) fn binary_collation(collation: &str) -> bool {
    let c = collation.to_ascii_lowercase();
    c == "binary" || c.ends_with("_bin")
}

/// Whether SQL text (a view's definition) names one of `tables` as a word.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) fn mentions_any(sql: &str, tables: &[&str]) -> bool {
    let words: Vec<String> = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map(str::to_ascii_lowercase)
        .collect();
    tables
        .iter()
        .any(|t| words.contains(&t.to_ascii_lowercase()))
}

/// A global model must not map a tenant table.
fn check_global(
    backend: Backend,
    model: &ModelInfo,
    live: &LiveTable,
    tenant_models: &[&ModelInfo],
    report: &mut SchemaReport,
) {
    if let Some(tenant) = tenant_models
        .iter()
        .find(|t| same_identifier(backend, t.table, model.table))
    {
        report.push(
            model.table,
            None,
            "global_table_is_tenant_table",
            format!(
                "a #[tenant(global)] model maps the table of a tenant model (tenant column {:?}): \
                 it reads and rewrites every tenant's rows with no scope. Fix: remove the global \
                 model and use the tenant model, which the compiler scopes.",
                tenant.tenant_column.unwrap_or_default()
            ),
        );
        return;
    }
    if live.view_of_tenant_table {
        report.push(
            model.table,
            None,
            "global_table_is_tenant_table",
            "a #[tenant(global)] model maps a view that reads a tenant model's table (or, on \
             MySQL, whose definition this user cannot read: grant it SHOW VIEW): it shows every \
             tenant's rows with no scope. Fix: map the tenant table with a tenant model, or give \
             the view its own tenant column and model."
                .into(),
        );
    }
    let live_key: Vec<&str> = live
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.as_str())
        .collect();
    for column in &live.columns {
        let exempt = model.holds_tenant_ids_on_purpose(&column.name, &live_key, |a, b| {
            same_identifier(backend, a, b)
        });
        let tenant_like = tenant_models.iter().any(|t| {
            t.tenant_column
                .is_some_and(|c| same_identifier(backend, c, &column.name))
        });
        if tenant_like && !exempt {
            report.push(
                model.table,
                Some(&column.name),
                "global_table_is_tenant_table",
                "a #[tenant(global)] model maps a table with a column named like a tenant column: \
                 it looks like tenant data, and a global model reads and rewrites every tenant's \
                 rows. Fix: make it a tenant model (#[tenant(tenant_id)]), or map the column and \
                 say why it does not scope the rows with #[tenant(unscoped_tenant_id = \"..\")]."
                    .into(),
            );
        }
    }
    if live.row_security {
        report.push(
            model.table,
            None,
            "global_table_is_tenant_table",
            "the table of a #[tenant(global)] model has row-level security enabled or a policy: \
             it holds tenant data. Fix: make it a tenant model, or drop the policies and disable \
             row-level security if it is really shared."
                .into(),
        );
    }
}

/// Whether a SQLite column declared `declared` keeps a tenant id as text, as
/// far as the type check cannot tell: a declared type that the driver does
/// not know (`STRING`, `NUMERIC`, `DECIMAL`, `UUID` ...) gets NUMERIC
/// affinity, which turns numeric-looking text into a number. Types the
/// driver knows (INTEGER, REAL, BOOLEAN, DATETIME ...) are judged by the
/// type check itself. (`tenant-macros`' `drift.rs` applies the same rule
/// to a schema snapshot.)
fn keeps_text(declared: &str) -> bool {
    let upper = declared.to_ascii_uppercase();
    [
        "INT", "CHAR", "CLOB", "TEXT", "BLOB", "REAL", "FLOA", "DOUB",
    ]
    .iter()
    .any(|k| upper.contains(k))
        || matches!(
            upper.as_str(),
            "" | "BOOLEAN" | "BOOL" | "DATE" | "TIME" | "DATETIME" | "TIMESTAMP"
        )
}

/// Identifiers compared the way the backend compares quoted names: SQLite
/// and MySQL (column names; table names on most installations) ignore ASCII
/// case, PostgreSQL does not.
pub(crate) fn same_identifier(backend: Backend, a: &str, b: &str) -> bool {
    match backend {
        Backend::Sqlite | Backend::MySql => a.eq_ignore_ascii_case(b),
        Backend::Postgres => a == b,
    }
}
