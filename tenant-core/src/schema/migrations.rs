//! Numbered sqlx migrations written from the models, each holding only what
//! changed since the previous one.
//!
//! The directory holds the migrations (`0001_create_invoices.sql`, ...,
//! sqlx's `<VERSION>_<DESCRIPTION>.sql`, which `sqlx::migrate!` and
//! `sqlx::migrate::Migrator::new` run) and the state they were generated
//! from, `tenant-migrations.json` (the tables as the last migration left them;
//! sqlx ignores a file whose name does not end in `.sql`). Commit both.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::backend::Backend;
use crate::rls::ModelInfo;

use super::render;
use super::table::{self, Key, Table};
use super::{SchemaError, plan};

/// The file, in the migration directory, that records the tables as the
/// generated migrations leave them.
pub const STATE_FILE: &str = "tenant-migrations.json";

/// Version of the state file's format.
const FORMAT: u32 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    format: u32,
    backend: String,
    tables: Vec<Table>,
}

/// A change between the recorded tables and the models that a migration
/// cannot make safely by itself — it would lose data, or needs a value
/// only a person can choose. Nothing is written while one is pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualChange {
    /// The table.
    pub table: String,
    /// The column, when the change is about one.
    pub column: Option<String>,
    /// What changed.
    pub change: String,
    /// What to do by hand.
    pub fix: String,
}

impl fmt::Display for ManualChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "table {:?} column {column:?}: ", self.table)?,
            None => write!(f, "table {:?}: ", self.table)?,
        }
        write!(f, "{}. Fix: {}", self.change, self.fix)
    }
}

pub(super) fn describe(changes: &[ManualChange]) -> String {
    let mut out = format!(
        "{} change(s) the generated migration cannot make by itself; nothing was written:",
        changes.len()
    );
    for change in changes {
        out.push_str("\n  ");
        out.push_str(&change.to_string());
    }
    out.push_str(
        "\nWrite a migration for them by hand, then record the models as the new state with Migrations::record().",
    );
    out
}

/// What [`Migrations::write`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// A new migration file, and its SQL.
    Migration {
        /// The file written.
        path: PathBuf,
        /// Its text.
        sql: String,
    },
    /// The models match the recorded state: nothing was written.
    UpToDate,
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Written::Migration { path, .. } => write!(f, "wrote {}", path.display()),
            Written::UpToDate => f.write_str("the migrations match the models: nothing to write"),
        }
    }
}

/// Writes the models' schema as numbered sqlx migrations in a directory,
/// one directory per backend: the first migration creates every table, each
/// later one only what changed (a new table, a new nullable column, a new
/// unique key or index, a new foreign key on PostgreSQL or MySQL). What it
/// cannot do safely by itself — drop or rename a table or column, change a
/// type, a nullability, a primary key or a tenant column, add a `NOT NULL`
/// column to an existing table — is an error listing each change with its
/// fix, and nothing is written.
///
/// Users' models live in their own crate, so the command is a small binary
/// of theirs (an `xtask`) that calls this:
///
/// ```
/// use tenant_core::prelude::*;
/// use tenant_core::rls::ModelInfo;
/// use tenant_core::Backend;
/// use tenant_core::schema::{Migrations, Written};
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
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("tenant-doc-migrations-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let migrations = Migrations::new(&dir, Backend::Sqlite).models(&[ModelInfo::of::<Invoice>()]);
/// let Written::Migration { path, .. } = migrations.write("create invoices")? else {
///     panic!("a first migration");
/// };
/// assert!(path.ends_with("0001_create_invoices.sql"));
/// // Nothing changed since: nothing to write.
/// assert_eq!(migrations.write("again")?, Written::UpToDate);
///
/// // sqlx runs the directory.
/// let db = TenantDb::connect("sqlite::memory:").await?;
/// let pool = db.raw_sqlite(&tenant_core::CrossTenant::audited("schema migrations"))?;
/// sqlx::migrate::Migrator::new(dir.as_path()).await?.run(pool).await?;
/// assert!(db.verify(&[ModelInfo::of::<Invoice>()]).await?.passed());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
///
/// Everything here is synchronous file work: there is no `.await`, so
/// nothing is left half-done by a dropped future. A crash between writing
/// the migration and the state leaves the migration without its state;
/// the state is written first (to a temporary file, then renamed), so a
/// rerun finds no change rather than writing the migration twice.
#[derive(Debug, Clone)]
pub struct Migrations {
    dir: PathBuf,
    backend: Backend,
    models: Vec<ModelInfo>,
}

impl Migrations {
    /// Migrations for `backend` in `dir` (created when missing).
    pub fn new(dir: impl AsRef<Path>, backend: Backend) -> Self {
        Migrations {
            dir: dir.as_ref().to_owned(),
            backend,
            models: Vec::new(),
        }
    }

    /// The models the schema is generated from (every model of the
    /// application: one left out is a table to drop).
    pub fn models(mut self, models: &[ModelInfo]) -> Self {
        self.models = models.to_vec();
        self
    }

    /// The SQL the next migration would hold; `None` when the recorded
    /// state matches the models (a freshness check for CI: the committed
    /// migrations did not drift from the models).
    pub fn pending(&self) -> Result<Option<String>, SchemaError> {
        let (sql, _) = self.next()?;
        Ok(sql)
    }

    /// Writes the next migration, `<NNNN>_<description>.sql`, and the
    /// state it leaves; or nothing, when the models have not changed.
    pub fn write(&self, description: &str) -> Result<Written, SchemaError> {
        let slug = slug(description)?;
        let (sql, tables) = self.next()?;
        let Some(sql) = sql else {
            return Ok(Written::UpToDate);
        };
        let version = self.last_version()? + 1;
        let path = self.dir.join(format!("{version:04}_{slug}.sql"));
        self.save_state(tables)?;
        std::fs::write(&path, &sql).map_err(|source| SchemaError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Written::Migration { path, sql })
    }

    /// Records the models as the state the migrations leave, without
    /// writing a migration: after a change made in a hand-written one.
    pub fn record(&self) -> Result<(), SchemaError> {
        let tables = table::in_reference_order(plan(self.backend, &self.models)?, &[])?;
        self.save_state(tables)
    }

    /// The next migration's SQL (`None`: no change) and the tables it
    /// leaves.
    fn next(&self) -> Result<(Option<String>, Vec<Table>), SchemaError> {
        let old = self.load_state()?;
        let known: Vec<String> = old.iter().map(|t| t.name.clone()).collect();
        let new = table::in_reference_order(plan(self.backend, &self.models)?, &known)?;
        let mut sql = String::new();
        let mut manual = Vec::new();
        for table in &new {
            match old.iter().find(|t| t.name == table.name) {
                None => {
                    if !sql.is_empty() {
                        sql.push('\n');
                    }
                    sql.push_str(&render::create_table(self.backend, table, true));
                }
                Some(before) => sql.push_str(&alter(self.backend, before, table, &mut manual)),
            }
        }
        for gone in old.iter().filter(|t| !new.iter().any(|n| n.name == t.name)) {
            manual.push(ManualChange {
                table: gone.name.clone(),
                column: None,
                change: "no model maps this table any more".into(),
                fix: format!(
                    "if it is to go, drop it in a hand-written migration (DROP TABLE {}); if the model was left out, add it to the list",
                    crate::sql::quoted(self.backend, &gone.name)
                ),
            });
        }
        if !manual.is_empty() {
            return Err(SchemaError::ManualChanges(manual));
        }
        if sql.is_empty() {
            return Ok((None, new));
        }
        let header = format!(
            "-- Generated by tenant-core from the models ({}). Review it; do not edit it once applied.\n",
            self.backend.name()
        );
        Ok((Some(header + &sql), new))
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    fn load_state(&self) -> Result<Vec<Table>, SchemaError> {
        let path = self.state_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(SchemaError::Io { path, source }),
        };
        let state: State = serde_json::from_str(&text).map_err(|e| SchemaError::State {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if state.format != FORMAT {
            return Err(SchemaError::State {
                path,
                reason: format!("format {}, this version reads {FORMAT}", state.format),
            });
        }
        if state.backend != backend_key(self.backend) {
            return Err(SchemaError::State {
                path,
                reason: format!(
                    "it records a {} schema, not {}: keep one directory per backend",
                    state.backend,
                    backend_key(self.backend)
                ),
            });
        }
        Ok(state.tables)
    }

    fn save_state(&self, tables: Vec<Table>) -> Result<(), SchemaError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SchemaError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let state = State {
            format: FORMAT,
            backend: backend_key(self.backend).to_owned(),
            tables,
        };
        let mut text = serde_json::to_string_pretty(&state).map_err(|e| SchemaError::State {
            path: self.state_path(),
            reason: e.to_string(),
        })?;
        text.push('\n');
        let temporary = self.dir.join(format!("{STATE_FILE}.tmp"));
        std::fs::write(&temporary, text).map_err(io(&temporary))?;
        std::fs::rename(&temporary, self.state_path()).map_err(io(&self.state_path()))
    }

    /// The highest version among the directory's migrations (0 if none).
    fn last_version(&self) -> Result<i64, SchemaError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => {
                return Err(SchemaError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut last = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some((version, rest)) = name.split_once('_')
                && rest.ends_with(".sql")
                && let Ok(version) = version.parse::<i64>()
            {
                last = last.max(version);
            }
        }
        Ok(last)
    }
}

fn backend_key(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
    }
}

/// `description` as a file name part: lower-case letters, digits and `_`.
fn slug(description: &str) -> Result<String, SchemaError> {
    let words: Vec<String> = description
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        return Err(SchemaError::Description(description.to_owned()));
    }
    Ok(words.join("_"))
}

/// The statements that bring `before` to `after`, or the manual changes.
fn alter(
    backend: Backend,
    before: &Table,
    after: &Table,
    manual: &mut Vec<ManualChange>,
) -> String {
    let q = |name: &str| crate::sql::quoted(backend, name);
    let mut push = |column: Option<&str>, change: String, fix: String| {
        manual.push(ManualChange {
            table: after.name.clone(),
            column: column.map(str::to_owned),
            change,
            fix,
        });
    };
    let mut sql = String::new();
    if before.tenant_column != after.tenant_column {
        push(
            None,
            format!(
                "the tenant column changes from {:?} to {:?}",
                before.tenant_column, after.tenant_column
            ),
            "move the data to a new table in a hand-written migration: every row's tenant, key and policy depend on it".into(),
        );
    }
    if before.primary_key != after.primary_key {
        push(
            None,
            format!(
                "the primary key changes from {:?} to {:?}",
                before.primary_key, after.primary_key
            ),
            "rebuild the key (and the foreign keys pointing at it) in a hand-written migration"
                .into(),
        );
    }
    for old in &before.columns {
        if after.column(&old.name).is_none() {
            push(
                Some(&old.name),
                "the column is no longer mapped (dropped or renamed)".into(),
                format!(
                    "rename it (ALTER TABLE {} RENAME COLUMN {} TO ..) or drop it (ALTER TABLE {} DROP COLUMN {}) in a hand-written migration",
                    q(&after.name),
                    q(&old.name),
                    q(&after.name),
                    q(&old.name)
                ),
            );
        }
    }
    for column in &after.columns {
        match before.column(&column.name) {
            None if !column.not_null && column.default.is_none() && !column.identity => {
                sql.push_str(&render::add_column(backend, after, column));
            }
            None => push(
                Some(&column.name),
                format!("a new NOT NULL column ({}) in a table that may hold rows", column.sql_type),
                "declare the field `Option<_>` (a nullable column is added by itself), or add the column with a default in a hand-written migration".into(),
            ),
            Some(old) if old.sql_type != column.sql_type => push(
                Some(&column.name),
                format!("its type changes from {} to {}", old.sql_type, column.sql_type),
                "convert it in a hand-written migration (ALTER TABLE .. ALTER COLUMN .. TYPE / MODIFY, or a table rebuild on SQLite)".into(),
            ),
            Some(old) if old.not_null != column.not_null => push(
                Some(&column.name),
                format!(
                    "it becomes {}",
                    if column.not_null { "NOT NULL" } else { "nullable" }
                ),
                "change it in a hand-written migration (fill the NULLs first when it becomes NOT NULL)".into(),
            ),
            Some(old) if old.identity != column.identity || old.default != column.default => push(
                Some(&column.name),
                "whether the database fills it changes (generated, client_generated)".into(),
                "change its default or identity in a hand-written migration".into(),
            ),
            Some(_) => {}
        }
    }
    let keys = |of: &Table, unique: bool| -> Vec<Key> {
        if unique {
            of.unique.clone()
        } else {
            of.indexes.clone()
        }
    };
    for unique in [true, false] {
        let (old, new) = (keys(before, unique), keys(after, unique));
        for key in old
            .iter()
            .filter(|k| !new.iter().any(|n| n.columns == k.columns))
        {
            sql.push_str(&render::drop_index(backend, &after.name, key));
        }
        for key in new
            .iter()
            .filter(|k| !old.iter().any(|o| o.columns == k.columns))
        {
            sql.push_str(&render::create_index(backend, &after.name, key, unique));
        }
    }
    for fk in &after.foreign_keys {
        let existed = before
            .foreign_keys
            .iter()
            .any(|o| o.columns == fk.columns && o.parent == fk.parent);
        if existed {
            continue;
        }
        if backend == Backend::Sqlite {
            push(
                fk.columns.last().map(String::as_str),
                format!("a new reference to {:?}", fk.parent),
                "SQLite cannot add a foreign key to an existing table: rebuild the table in a hand-written migration (create the new table, copy the rows, drop the old, rename)".into(),
            );
        } else {
            sql.push_str(&render::add_foreign_key(backend, &after.name, fk));
        }
    }
    for fk in &before.foreign_keys {
        if !after
            .foreign_keys
            .iter()
            .any(|n| n.columns == fk.columns && n.parent == fk.parent)
        {
            push(
                fk.columns.last().map(String::as_str),
                format!("the reference to {:?} is gone", fk.parent),
                format!(
                    "drop foreign key {} in a hand-written migration",
                    q(&fk.name)
                ),
            );
        }
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_become_file_names_or_an_error() {
        assert_eq!(
            slug("Add invoices & tags!").ok().as_deref(),
            Some("add_invoices_tags")
        );
        assert!(matches!(slug(" -- "), Err(SchemaError::Description(_))));
    }
}
