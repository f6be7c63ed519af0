//! Schema snapshots: the live schema recorded as a file in the repository,
//! so `#[derive(TenantModel)]` can check each model against it at compile
//! time (as sqlx checks `query!` against its `.sqlx` offline data).
//!
//! [`Snapshot::record`] reads the catalog of **every** table and view of the
//! current database (SQLite), schema (PostgreSQL) or database (MySQL) —
//! not only the models' tables, so a global model over a tenant table that
//! no model maps is still caught — and [`Snapshot::write`] stores it as
//! sorted, pretty JSON: re-recording an unchanged schema gives the same
//! bytes, so the file diffs cleanly in review.
//!
//! When the file is present, the derive checks each model against it and a
//! mismatch is a compile error on the field, naming the column and the fix:
//!
//! - the table exists (error on `#[tenant(table = "..")]`);
//! - each column exists, compared the way the backend compares names
//!   (SQLite and MySQL ignore ASCII case, PostgreSQL does not);
//! - the field's type reads the column: for the types the recording judged
//!   (integers, floats, `bool`, `String`, `Vec<u8>`, `TenantId`, `Uuid`,
//!   JSON, chrono and time timestamps), written by their usual names. Any
//!   other type — an alias, a newtype, a user enum — is left to
//!   [`TenantDb::verify`](crate::TenantDb::verify) at startup;
//! - a field that is not an `Option` is not over a nullable column (keys
//!   excepted, as SQLite reports `INTEGER PRIMARY KEY` nullable);
//! - the tenant column is `NOT NULL` and compares exactly (no
//!   case-insensitive or nondeterministic collation);
//! - a `#[tenant(global)]` model does not map a tenant table: one mapped by
//!   a tenant model when the snapshot was recorded, one with row-level
//!   security, a view that reads a tenant table, or one with a column named
//!   like a tenant column that the model does not declare
//!   `#[tenant(unscoped_tenant_id = "..")]`.
//!
//! Where the derive looks:
//!
//! - `$CARGO_MANIFEST_DIR/tenant-schema.json` ([`SNAPSHOT_FILE`]) of the
//!   crate that defines the models;
//! - or the path in the environment variable `TENANT_SCHEMA_SNAPSHOT`
//!   ([`SNAPSHOT_ENV`]), relative to the crate's directory unless absolute;
//! - `TENANT_SCHEMA_SNAPSHOT=off` switches the check off.
//!
//! Without a snapshot nothing changes. The run-time check
//! [`TenantDb::verify`](crate::TenantDb::verify) stays the last line: the
//! snapshot may be older than the database a binary meets.
//!
//! Cargo rebuilds a crate when its snapshot changes, or when
//! `TENANT_SCHEMA_SNAPSHOT` does. It cannot know about a snapshot file that
//! did not exist at the last build: after recording the first one, run
//! `cargo clean -p <crate>` (or touch a source file) once.
//!
//! Record it from the same models you give `verify` (they say which tables
//! belong to tenants), after running the migrations:
//!
//! ```
//! use tenant_core::prelude::*;
//! use tenant_core::rls::ModelInfo;
//! use tenant_core::snapshot::Snapshot;
//!
//! #[derive(TenantModel)]
//! #[tenant(table = "invoices")]
//! struct Invoice {
//!     #[tenant(primary_key)]
//!     id: i64,
//!     #[tenant(tenant_id)]
//!     tenant_id: TenantId,
//!     amount_cents: i64,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let db = TenantDb::connect("sqlite::memory:").await?;
//! sqlx::query(
//!     "CREATE TABLE invoices (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL,
//!      amount_cents INTEGER NOT NULL)",
//! )
//! .execute(db.raw_sqlite(&tenant_core::CrossTenant::audited("schema migrations"))?)
//! .await?;
//!
//! let snapshot = Snapshot::record(&db, &[ModelInfo::of::<Invoice>()]).await?;
//! let invoices = snapshot.table("invoices").expect("recorded");
//! assert_eq!(invoices.tenant_column.as_deref(), Some("tenant_id"));
//! let amount = invoices.column("amount_cents").expect("recorded");
//! assert_eq!(amount.sql_type, "INTEGER");
//! assert!(amount.not_null);
//! assert!(amount.reads_as.as_ref().expect("judged").iter().any(|t| t == "i64"));
//!
//! // In a real project: snapshot.write(tenant_core::snapshot::SNAPSHOT_FILE)?;
//! let dir = std::env::temp_dir().join(format!("tenant-snapshot-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join(tenant_core::snapshot::SNAPSHOT_FILE);
//! snapshot.write(&path)?;
//! assert_eq!(Snapshot::from_json(&std::fs::read_to_string(&path)?)?, snapshot);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
//!
//! Recording only reads the catalogs, on one pooled connection, outside any
//! transaction; a dropped `record` future leaves no setting or transaction
//! behind on that connection.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::db::TenantDb;
use crate::error::Error;
use crate::rls::ModelInfo;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
use crate::sql::quoted;
use crate::verify::same_identifier;

/// The snapshot's file name, in the root of the crate that defines the
/// models (next to its `Cargo.toml`).
pub const SNAPSHOT_FILE: &str = "tenant-schema.json";

/// The environment variable that overrides where the derive finds the
/// snapshot (a path, relative to the crate's directory unless absolute), or
/// switches the check off with the value `off`.
pub const SNAPSHOT_ENV: &str = "TENANT_SCHEMA_SNAPSHOT";

/// The value of `format` in every snapshot file.
pub const FORMAT: &str = "tenant-schema-snapshot";

/// The version of the file format this crate writes and the derive reads.
pub const FORMAT_VERSION: u32 = 1;

/// The live schema, as recorded by [`Snapshot::record`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when it was written.
    pub version: u32,
    /// `sqlite`, `postgres` or `mysql`: decides how names compare.
    pub backend: String,
    /// The Rust types whose compatibility with each column was judged (see
    /// [`ColumnSnapshot::reads_as`]); the derive says nothing about others.
    pub judged_types: Vec<String>,
    /// The tenant columns of the tenant models given to `record`, sorted: a
    /// column of that name in a global model's table looks like tenant data.
    pub tenant_columns: Vec<String>,
    /// Every table and view, sorted by name.
    pub tables: Vec<TableSnapshot>,
}

/// One table or view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSnapshot {
    /// The name, as the catalog spells it.
    pub name: String,
    /// `table` or `view` (materialized views are views).
    pub kind: String,
    /// The tenant column of the tenant model that maps this table, when one
    /// of the models given to `record` does.
    pub tenant_column: Option<String>,
    /// PostgreSQL: row-level security enabled, or a policy defined.
    pub row_security: bool,
    /// A view that reads a tenant model's table (on MySQL, also one whose
    /// definition the recording user cannot read).
    pub view_of_tenant_table: bool,
    /// The columns, in the table's order.
    pub columns: Vec<ColumnSnapshot>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSnapshot {
    /// The name, as the catalog spells it.
    pub name: String,
    /// The type as the catalog says it: SQLite's declared type,
    /// PostgreSQL's `format_type`, MySQL's `column_type`.
    pub sql_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// Part of the primary key.
    pub primary_key: bool,
    /// Its collation compares exactly (binary or deterministic, or no
    /// collation at all).
    pub exact_collation: bool,
    /// Which of [`Snapshot::judged_types`] read this column, as the driver
    /// decides when it reads a row. `None` when the driver reports no type
    /// (a SQLite column without a declared type, an expression in a view):
    /// such a column is checked when it is read.
    pub reads_as: Option<Vec<String>>,
}

impl Snapshot {
    /// Reads the live schema of `db`: every table and view of the current
    /// database or schema, with each column's type, nullability, key and
    /// collation, and which of the judged Rust types read it. `models`
    /// (the list given to [`TenantDb::verify`]) says which tables belong to
    /// tenants and what a tenant column is called.
    pub async fn record(db: &TenantDb, models: &[ModelInfo]) -> Result<Snapshot, Error> {
        let backend = db.backend();
        let tenant_tables: Vec<&str> = models
            .iter()
            .filter(|m| m.tenant_column.is_some())
            .map(|m| m.table)
            .collect();
        let mut tables = live_tables(db, &tenant_tables).await?;
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        for table in &mut tables {
            table.tenant_column = models
                .iter()
                .find(|m| {
                    m.tenant_column.is_some() && same_identifier(backend, m.table, &table.name)
                })
                .and_then(|m| m.tenant_column)
                .map(str::to_owned);
        }
        let mut tenant_columns: Vec<String> = models
            .iter()
            .filter_map(|m| m.tenant_column)
            .map(str::to_owned)
            .collect();
        tenant_columns.sort();
        tenant_columns.dedup();
        Ok(Snapshot {
            format: FORMAT.to_owned(),
            version: FORMAT_VERSION,
            backend: backend_id(backend).to_owned(),
            judged_types: judged_type_names(backend),
            tenant_columns,
            tables,
        })
    }

    /// The table or view named `name`, compared as the snapshot's backend
    /// compares names.
    pub fn table(&self, name: &str) -> Option<&TableSnapshot> {
        let case_sensitive = self.backend == backend_id(Backend::Postgres);
        self.tables.iter().find(|t| {
            if case_sensitive {
                t.name == name
            } else {
                t.name.eq_ignore_ascii_case(name)
            }
        })
    }

    /// The snapshot as the file holds it: pretty JSON, ending in a newline.
    pub fn to_json(&self) -> String {
        // Serializing plain strings, numbers and vectors cannot fail.
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        json
    }

    /// Reads a snapshot written by [`Snapshot::to_json`]. A file of another
    /// format or version is an error: record it again.
    pub fn from_json(json: &str) -> Result<Snapshot, SnapshotError> {
        let snapshot: Snapshot =
            serde_json::from_str(json).map_err(|e| SnapshotError(e.to_string()))?;
        if snapshot.format != FORMAT || snapshot.version != FORMAT_VERSION {
            return Err(SnapshotError(format!(
                "format {:?} version {}, expected {FORMAT:?} version {FORMAT_VERSION}",
                snapshot.format, snapshot.version
            )));
        }
        Ok(snapshot)
    }

    /// Writes the snapshot to `path` (usually [`SNAPSHOT_FILE`] in the
    /// crate's root). It is written to a temporary file beside it and
    /// renamed, so a build never reads half a snapshot.
    pub fn write(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let path = path.as_ref();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, self.to_json())?;
        std::fs::rename(&tmp, path)
    }
}

impl TableSnapshot {
    /// The column named `name`, compared exactly (use the snapshot's
    /// backend rules for names written in code).
    pub fn column(&self, name: &str) -> Option<&ColumnSnapshot> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A snapshot file that cannot be read: not JSON of this format, or of
/// another version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError(String);

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not a tenant schema snapshot this version reads ({}); record it again",
            self.0
        )
    }
}

impl std::error::Error for SnapshotError {}

/// The backend's name in the file.
fn backend_id(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
    }
}

/// A Rust type the recording judges, under the name the derive matches,
/// with its compatibility check on backend `DB`.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
type Judge<DB> = (&'static str, fn(&<DB as sqlx::Database>::TypeInfo) -> bool);

/// The judged types of backend `$db`: sqlx's own `Type::compatible`, the
/// check the driver makes when it reads a row.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
macro_rules! judges {
    ($db:ty) => {{
        #[allow(unused_mut)]
        let mut judges: Vec<Judge<$db>> = vec![
            ("i8", <i8 as sqlx::Type<$db>>::compatible),
            ("i16", <i16 as sqlx::Type<$db>>::compatible),
            ("i32", <i32 as sqlx::Type<$db>>::compatible),
            ("i64", <i64 as sqlx::Type<$db>>::compatible),
            ("f32", <f32 as sqlx::Type<$db>>::compatible),
            ("f64", <f64 as sqlx::Type<$db>>::compatible),
            ("bool", <bool as sqlx::Type<$db>>::compatible),
            ("String", <String as sqlx::Type<$db>>::compatible),
            ("Vec<u8>", <Vec<u8> as sqlx::Type<$db>>::compatible),
            ("TenantId", <crate::TenantId as sqlx::Type<$db>>::compatible),
        ];
        #[cfg(feature = "uuid")]
        judges.push(("Uuid", <sqlx::types::Uuid as sqlx::Type<$db>>::compatible));
        #[cfg(feature = "json")]
        judges.push((
            "JsonValue",
            <sqlx::types::JsonValue as sqlx::Type<$db>>::compatible,
        ));
        #[cfg(feature = "chrono")]
        {
            use sqlx::types::chrono;
            judges.push((
                "DateTime<Utc>",
                <chrono::DateTime<chrono::Utc> as sqlx::Type<$db>>::compatible,
            ));
            judges.push((
                "NaiveDateTime",
                <chrono::NaiveDateTime as sqlx::Type<$db>>::compatible,
            ));
            judges.push((
                "NaiveDate",
                <chrono::NaiveDate as sqlx::Type<$db>>::compatible,
            ));
            judges.push((
                "NaiveTime",
                <chrono::NaiveTime as sqlx::Type<$db>>::compatible,
            ));
        }
        #[cfg(feature = "time")]
        {
            use sqlx::types::time;
            judges.push((
                "OffsetDateTime",
                <time::OffsetDateTime as sqlx::Type<$db>>::compatible,
            ));
            judges.push((
                "PrimitiveDateTime",
                <time::PrimitiveDateTime as sqlx::Type<$db>>::compatible,
            ));
            judges.push(("time::Date", <time::Date as sqlx::Type<$db>>::compatible));
            judges.push(("time::Time", <time::Time as sqlx::Type<$db>>::compatible));
        }
        judges
    }};
}

/// The names of the types judged on `backend`.
fn judged_type_names(backend: Backend) -> Vec<String> {
    let names: Vec<&str> = match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => judges!(sqlx::Sqlite).iter().map(|j| j.0).collect(),
        #[cfg(feature = "postgres")]
        Backend::Postgres => judges!(sqlx::Postgres).iter().map(|j| j.0).collect(),
        #[cfg(feature = "mysql")]
        Backend::MySql => judges!(sqlx::MySql).iter().map(|j| j.0).collect(),
        #[allow(unreachable_patterns)]
        _ => Vec::new(),
    };
    names.into_iter().map(str::to_owned).collect()
}

/// A column as the catalog lists it, before its types are judged.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
struct CatalogColumn {
    table: String,
    kind: &'static str,
    row_security: bool,
    view_of_tenant_table: bool,
    column: ColumnSnapshot,
}

/// Groups catalog rows (sorted by table) into tables.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
fn group(rows: Vec<CatalogColumn>) -> Vec<TableSnapshot> {
    let mut tables: Vec<TableSnapshot> = Vec::new();
    for row in rows {
        match tables.last_mut() {
            Some(table) if table.name == row.table => table.columns.push(row.column),
            _ => tables.push(TableSnapshot {
                name: row.table,
                kind: row.kind.to_owned(),
                tenant_column: None,
                row_security: row.row_security,
                view_of_tenant_table: row.view_of_tenant_table,
                columns: vec![row.column],
            }),
        }
    }
    tables
}

/// Fills each column's `reads_as`: prepares `SELECT * FROM table` and asks
/// each judged type whether it reads the column's type as the driver
/// reports it. A table the database cannot prepare a read of (a view over
/// a dropped table) keeps `None`: it is checked when it is read.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
async fn judge_columns<DB>(
    conn: &mut DB::Connection,
    table: &mut TableSnapshot,
    judges: &[Judge<DB>],
) -> Result<(), Error>
where
    DB: crate::backend::Driver,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    use sqlx::{Column as _, Executor as _, Statement as _, TypeInfo as _};
    let sql = format!("SELECT * FROM {}", quoted(DB::BACKEND, &table.name));
    let sql = sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql));
    let statement = match (&mut *conn).prepare(sql).await {
        Ok(statement) => statement,
        Err(sqlx::Error::Database(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for live in statement.columns() {
        let ty = live.type_info();
        if ty.is_null() {
            continue;
        }
        let Some(column) = table.columns.iter_mut().find(|c| c.name == live.name()) else {
            continue;
        };
        let reads: Vec<String> = judges
            .iter()
            .filter(|(_, compatible)| compatible(ty))
            .map(|(name, _)| (*name).to_owned())
            .collect();
        column.reads_as = Some(reads);
    }
    Ok(())
}

async fn live_tables(db: &TenantDb, tenant_tables: &[&str]) -> Result<Vec<TableSnapshot>, Error> {
    #[cfg(feature = "sqlite")]
    if let Some(pool) = db.serving_sqlite() {
        return sqlite_tables(pool, tenant_tables).await;
    }
    #[cfg(feature = "postgres")]
    if let Some(pool) = db.serving_postgres() {
        return postgres_tables(pool, tenant_tables).await;
    }
    #[cfg(feature = "mysql")]
    if let Some(pool) = db.serving_mysql() {
        return mysql_tables(pool, tenant_tables).await;
    }
    let _ = tenant_tables;
    Err(Error::Unsupported {
        backend: db.backend(),
        operation: "recording a schema snapshot",
    })
}

#[cfg(feature = "sqlite")]
async fn sqlite_tables(
    pool: &sqlx::SqlitePool,
    tenant_tables: &[&str],
) -> Result<Vec<TableSnapshot>, Error> {
    type Row = (String, String, String, String, bool, i64, Option<String>);
    let mut conn = pool.acquire().await?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT m.name, m.type, p.name, p.type, p.\"notnull\", p.pk, m.sql
         FROM sqlite_schema m JOIN pragma_table_info(m.name) p
         WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         ORDER BY m.name, p.cid",
    )
    .fetch_all(&mut *conn)
    .await?;
    let rows = rows
        .into_iter()
        .map(
            |(table, kind, name, declared, not_null, pk, sql)| CatalogColumn {
                table,
                kind: if kind == "view" { "view" } else { "table" },
                row_security: false,
                view_of_tenant_table: kind == "view"
                    && sql.is_some_and(|sql| crate::verify::mentions_any(&sql, tenant_tables)),
                column: ColumnSnapshot {
                    name,
                    sql_type: declared,
                    not_null,
                    primary_key: pk > 0,
                    exact_collation: true,
                    reads_as: None,
                },
            },
        )
        .collect();
    let mut tables = group(rows);
    let judges = judges!(sqlx::Sqlite);
    for table in &mut tables {
        judge_columns::<sqlx::Sqlite>(&mut conn, table, &judges).await?;
    }
    Ok(tables)
}

#[cfg(feature = "postgres")]
async fn postgres_tables(
    pool: &sqlx::PgPool,
    tenant_tables: &[&str],
) -> Result<Vec<TableSnapshot>, Error> {
    type Row = (String, String, String, String, bool, bool, bool, bool, bool);
    let mut conn = pool.acquire().await?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.relname::text, c.relkind::text, a.attname::text,
                format_type(a.atttypid, a.atttypmod), a.attnotnull,
                COALESCE(a.attnum = ANY(pk.conkey), false),
                COALESCE(coll.collisdeterministic, true),
                c.relrowsecurity OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid),
                c.relkind IN ('v', 'm') AND EXISTS (
                    SELECT 1 FROM pg_rewrite r
                    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                    JOIN pg_class t ON t.oid = d.refobjid
                    WHERE r.ev_class = c.oid AND t.oid <> c.oid AND t.relname::text = ANY($1))
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         LEFT JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
         LEFT JOIN pg_collation coll ON coll.oid = a.attcollation
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
         ORDER BY c.relname::text COLLATE \"C\", a.attnum",
    )
    .bind(tenant_tables)
    .fetch_all(&mut *conn)
    .await?;
    let rows = rows
        .into_iter()
        .map(
            |(table, kind, name, sql_type, not_null, pk, deterministic, rls, view_of_tenant)| {
                CatalogColumn {
                    table,
                    kind: if kind == "v" || kind == "m" {
                        "view"
                    } else {
                        "table"
                    },
                    row_security: rls,
                    view_of_tenant_table: view_of_tenant,
                    column: ColumnSnapshot {
                        name,
                        sql_type,
                        not_null,
                        primary_key: pk,
                        exact_collation: deterministic,
                        reads_as: None,
                    },
                }
            },
        )
        .collect();
    let mut tables = group(rows);
    let judges = judges!(sqlx::Postgres);
    for table in &mut tables {
        judge_columns::<sqlx::Postgres>(&mut conn, table, &judges).await?;
    }
    Ok(tables)
}

#[cfg(feature = "mysql")]
async fn mysql_tables(
    pool: &sqlx::MySqlPool,
    tenant_tables: &[&str],
) -> Result<Vec<TableSnapshot>, Error> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let mut conn = pool.acquire().await?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT CAST(c.table_name AS CHAR), CAST(t.table_type AS CHAR),
                CAST(c.column_name AS CHAR), CAST(c.column_type AS CHAR),
                CAST(c.is_nullable AS CHAR), CAST(c.column_key AS CHAR),
                CAST(c.collation_name AS CHAR), CAST(v.view_definition AS CHAR)
         FROM information_schema.columns c
         JOIN information_schema.tables t
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name
         LEFT JOIN information_schema.views v
           ON v.table_schema = c.table_schema AND v.table_name = c.table_name
         WHERE c.table_schema = DATABASE()
         ORDER BY CAST(c.table_name AS BINARY), c.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await?;
    let rows = rows
        .into_iter()
        .map(
            |(table, table_type, name, sql_type, nullable, key, collation, view)| {
                let is_view = table_type == "VIEW";
                CatalogColumn {
                    table,
                    kind: if is_view { "view" } else { "table" },
                    row_security: false,
                    // MySQL shows a view's definition only to a user with
                    // SHOW VIEW (or its definer): one it cannot read cannot
                    // be cleared (as `verify` decides).
                    view_of_tenant_table: is_view
                        && view.is_none_or(|sql| {
                            sql.trim().is_empty()
                                || crate::verify::mentions_any(&sql, tenant_tables)
                        }),
                    column: ColumnSnapshot {
                        name,
                        sql_type,
                        not_null: nullable == "NO",
                        primary_key: key == "PRI",
                        exact_collation: collation
                            .is_none_or(|c| crate::verify::binary_collation(&c)),
                        reads_as: None,
                    },
                }
            },
        )
        .collect();
    let mut tables = group(rows);
    let judges = judges!(sqlx::MySql);
    for table in &mut tables {
        judge_columns::<sqlx::MySql>(&mut conn, table, &judges).await?;
    }
    Ok(tables)
}
