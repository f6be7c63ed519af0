//! Schema drift as a compile error: each model checked against the schema
//! snapshot recorded by `tenant_core::snapshot::Snapshot::record`, when the
//! crate has one (see `tenant_core::snapshot` for the rules and the file).
//!
//! Without a snapshot the only output is a reference to the environment
//! variable, so that setting it later rebuilds the crate. With one, the
//! output also includes the file's bytes (so cargo rebuilds when it
//! changes), and each mismatch is an error on the user's tokens. Types the
//! macro cannot judge from their tokens are left to the run-time check.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::SystemTime;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use serde::Deserialize;

use crate::ast::{Field, Model};
use crate::attr;
use crate::ctxt::Ctxt;

/// Overrides where the snapshot is, or `off`.
const ENV: &str = "TENANT_SCHEMA_SNAPSHOT";
/// The snapshot's name in the crate's root.
const FILE: &str = "tenant-schema.json";
const FORMAT: &str = "tenant-schema-snapshot";
const VERSION: u64 = 1;
/// How to record a snapshot, for error messages.
const RECORD: &str = "record it again with tenant_core::snapshot::Snapshot::record(..).write(..) \
     (e.g. `demo-app snapshot`), or set TENANT_SCHEMA_SNAPSHOT=off to build without the check";

// The file format written by `tenant_core::snapshot` (version 1). Fields
// the checks do not need are still listed so a typo in the file is caught.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Snapshot {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    version: u64,
    backend: String,
    judged_types: Vec<String>,
    tenant_columns: Vec<String>,
    tables: Vec<Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    name: String,
    #[allow(dead_code)]
    kind: String,
    tenant_column: Option<String>,
    row_security: bool,
    view_of_tenant_table: bool,
    columns: Vec<Column>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Column {
    name: String,
    sql_type: String,
    not_null: bool,
    primary_key: bool,
    exact_collation: bool,
    reads_as: Option<Vec<String>>,
}

impl Snapshot {
    /// Names compare as the backend compares quoted identifiers: exactly
    /// on PostgreSQL, ignoring ASCII case on SQLite and MySQL.
    fn same(&self, a: &str, b: &str) -> bool {
        if self.backend == "postgres" {
            a == b
        } else {
            a.eq_ignore_ascii_case(b)
        }
    }

    fn backend_name(&self) -> &str {
        match self.backend.as_str() {
            "sqlite" => "SQLite",
            "postgres" => "PostgreSQL",
            "mysql" => "MySQL",
            other => other,
        }
    }
}

/// Where the snapshot is, if the crate has one.
enum Located {
    /// No file, or the check is switched off.
    None,
    /// `TENANT_SCHEMA_SNAPSHOT` names a file that is not there.
    Missing(PathBuf),
    File(PathBuf),
}

fn locate() -> Located {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    // The variable names one file for the whole build: it applies to the
    // packages cargo was asked to build, not to their dependencies, whose
    // models belong to other schemas.
    let primary = std::env::var_os("CARGO_PRIMARY_PACKAGE").is_some();
    match std::env::var_os(ENV) {
        Some(value) if value == "off" => Located::None,
        Some(value) if !value.is_empty() && primary => {
            let path = PathBuf::from(value);
            let path = match (&manifest_dir, path.is_absolute()) {
                (Some(dir), false) => dir.join(path),
                _ => path,
            };
            if path.is_file() {
                Located::File(path)
            } else {
                Located::Missing(path)
            }
        }
        _ => match manifest_dir.map(|dir| dir.join(FILE)) {
            Some(path) if path.is_file() => Located::File(path),
            _ => Located::None,
        },
    }
}

/// The parsed snapshot, or why it cannot be read.
type Loaded = Rc<Result<Snapshot, String>>;

/// A parsed file and what identifies its version: path, size and mtime.
type Cached = (PathBuf, u64, Option<SystemTime>, Loaded);

thread_local! {
    // The compiler runs every derive of a crate in one process: parse the
    // file once, not once per model.
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

fn load(path: &Path) -> Loaded {
    let meta = std::fs::metadata(path).ok();
    let len = meta.as_ref().map_or(0, std::fs::Metadata::len);
    let modified = meta.and_then(|m| m.modified().ok());
    CACHE.with(|cache| {
        if let Some((p, l, m, loaded)) = cache.borrow().as_ref()
            && p == path
            && *l == len
            && *m == modified
        {
            return loaded.clone();
        }
        let loaded = Rc::new(parse(path));
        *cache.borrow_mut() = Some((path.to_owned(), len, modified, loaded.clone()));
        loaded
    })
}

fn parse(path: &Path) -> Result<Snapshot, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    parse_str(&text)
}

fn parse_str(text: &str) -> Result<Snapshot, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let format = value.get("format").and_then(serde_json::Value::as_str);
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    if format != Some(FORMAT) || version != Some(VERSION) {
        return Err(format!(
            "it is format {} version {}; this version of tenant-core reads {FORMAT:?} version {VERSION}",
            format.map_or_else(|| "(none)".to_owned(), |f| format!("{f:?}")),
            version.map_or_else(|| "(none)".to_owned(), |v| v.to_string()),
        ));
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Checks `model` against the crate's snapshot, if it has one, recording
/// each mismatch in `cx`. Returns the items that make cargo rebuild the
/// crate when the snapshot or the variable changes. A model whose
/// declaration is already in error is not checked: its mistakes come first.
pub(crate) fn check(cx: &Ctxt, model: &Model<'_>) -> TokenStream {
    let env_dep = quote! {
        const _: ::core::option::Option<&'static str> = ::core::option_env!(#ENV);
    };
    let path = match locate() {
        Located::None => return env_dep,
        Located::Missing(path) => {
            cx.syn_error(syn::Error::new(
                table_span(model),
                format!(
                    "{ENV} names the schema snapshot {}, which does not exist: record it \
                     (tenant_core::snapshot::Snapshot::record(..).write(..)), correct the path, \
                     or set {ENV}=off to build without the check",
                    path.display()
                ),
            ));
            return env_dep;
        }
        Located::File(path) => path,
    };
    let shown = path.display().to_string();
    let tokens = quote! {
        #env_dep
        const _: &[u8] = ::core::include_bytes!(#shown);
    };
    if cx.has_errors() {
        return tokens;
    }
    match load(&path).as_ref() {
        Ok(snapshot) => check_model(cx, model, snapshot, &shown),
        Err(why) => cx.syn_error(syn::Error::new(
            table_span(model),
            format!("the schema snapshot {shown} cannot be read: {why}. Fix: {RECORD}"),
        )),
    }
    tokens
}

fn table_span(model: &Model<'_>) -> Span {
    model
        .attrs
        .table
        .as_ref()
        .map_or_else(|| model.input.ident.span(), |t| t.span)
}

fn check_model(cx: &Ctxt, model: &Model<'_>, snapshot: &Snapshot, file: &str) {
    let Some(table_name) = model.table() else {
        return;
    };
    let backend = snapshot.backend_name();
    let Some(table) = snapshot
        .tables
        .iter()
        .find(|t| snapshot.same(&t.name, table_name))
    else {
        let names: Vec<&str> = snapshot.tables.iter().map(|t| t.name.as_str()).collect();
        let hint = near(snapshot, table_name, &names);
        cx.syn_error(syn::Error::new(
            table_span(model),
            format!(
                "table {table_name:?} is not in the schema snapshot {file} ({backend}){hint}. \
                 Fix: create it with a migration and record the snapshot again, or correct \
                 #[tenant(table = \"..\")]"
            ),
        ));
        return;
    };
    let judged = |key: &str| snapshot.judged_types.iter().any(|t| t == key);
    let live_key: Vec<&str> = table
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.as_str())
        .collect();
    for field in &model.fields {
        let name = field.column();
        let Some(column) = table.columns.iter().find(|c| snapshot.same(&c.name, &name)) else {
            let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            let hint = near(snapshot, &name, &names);
            let message = format!(
                "column {name:?} is not in table {:?} of the schema snapshot {file} ({backend}){hint}. \
                 Fix: add the column with a migration and record the snapshot again, rename the \
                 field to the column's name, or map it with #[tenant(rename = \"..\")]",
                table.name
            );
            match &field.attrs.rename {
                Some(rename) => cx.syn_error(syn::Error::new(rename.span, message)),
                None => cx.error_spanned_by(field.ident, message),
            }
            continue;
        };
        check_type(cx, snapshot, table, field, column, &judged);
        let is_key = field.attrs.primary_key.is_some() || column.primary_key;
        if field.is_tenant() {
            check_tenant_column(cx, table, field, column, file);
        } else if !column.not_null && !is_key && !rust_type(field.ty).is_some_and(|t| t.nullable) {
            let ty = field.ty;
            let rust = quote!(#ty).to_string().replace(' ', "");
            cx.error_spanned_by(
                field.ty,
                format!(
                    "column {:?} of table {:?} allows NULL in the schema snapshot, but the field \
                     is `{rust}`: reading a row where it is NULL fails. Fix: declare the field \
                     `Option<{rust}>`, or make the column NOT NULL with a migration and record \
                     the snapshot again",
                    column.name, table.name
                ),
            );
        }
    }
    if let Some(global) = model.attrs.global {
        check_global(cx, model, snapshot, table, &live_key, global);
    }
}

/// The field's type reads the column, when the snapshot judged that type.
fn check_type(
    cx: &Ctxt,
    snapshot: &Snapshot,
    table: &Table,
    field: &Field<'_>,
    column: &Column,
    judged: &dyn Fn(&str) -> bool,
) {
    if field.is_tenant() && snapshot.backend == "sqlite" && !keeps_text(&column.sql_type) {
        cx.error_spanned_by(
            field.ty,
            format!(
                "the tenant column {:?} of table {:?} is declared {:?} in the schema snapshot, \
                 which gives it numeric affinity in SQLite: tenant ids such as \"0123\" and \
                 \"123\" are stored as the same number, and one tenant's statements match the \
                 other's rows. Fix: declare it TEXT with a migration and record the snapshot again",
                column.name, table.name, column.sql_type
            ),
        );
        return;
    }
    let (Some(rust), Some(reads)) = (rust_type(field.ty), &column.reads_as) else {
        return;
    };
    if !judged(rust.key) || reads.iter().any(|r| r == rust.key) {
        return;
    }
    let message = format!(
        "column {:?} of table {:?} is {} in the schema snapshot ({}), which a `{}` field \
             cannot read: every read fails. Fix: change the field's type to one that reads \
             {} (such as {}), or change the column's type with a migration and record the \
             snapshot again",
        column.name,
        table.name,
        column.sql_type,
        snapshot.backend_name(),
        rust.key,
        column.sql_type,
        readers(reads),
    );
    cx.error_spanned_by(field.ty, message);
}

/// Whether a SQLite column declared `declared` keeps a tenant id as text:
/// a declared type the driver does not know (`STRING`, `NUMERIC`, `UUID`
/// ...) gets NUMERIC affinity, which turns numeric-looking text into a
/// number. Types the driver knows are judged by `reads_as`. The rule of
/// `TenantDb::verify` (`tenant-core/src/verify.rs`).
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

/// The Rust types that read a column, for the fix.
fn readers(reads: &[String]) -> String {
    if reads.is_empty() {
        return "a type that derives `sqlx::Type` for it".to_owned();
    }
    reads
        .iter()
        .take(4)
        .map(|r| format!("`{r}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_tenant_column(cx: &Ctxt, table: &Table, field: &Field<'_>, column: &Column, file: &str) {
    if !column.not_null {
        cx.error_spanned_by(
            field.ident,
            format!(
                "the tenant column {:?} of table {:?} allows NULL in the schema snapshot {file}: \
                 a row without a tenant belongs to nobody. Fix: make it NOT NULL with a migration \
                 and record the snapshot again",
                column.name, table.name
            ),
        );
    }
    if !column.exact_collation {
        cx.error_spanned_by(
            field.ident,
            format!(
                "the tenant column {:?} of table {:?} has a collation that is not exact in the \
                 schema snapshot {file} (case-insensitive or nondeterministic): two different \
                 tenant ids can compare equal. Fix: give it a binary collation (utf8mb4_bin on \
                 MySQL, \"C\" on PostgreSQL) with a migration and record the snapshot again",
                column.name, table.name
            ),
        );
    }
}

/// A `#[tenant(global)]` model must not map a tenant table.
fn check_global(
    cx: &Ctxt,
    model: &Model<'_>,
    snapshot: &Snapshot,
    table: &Table,
    live_key: &[&str],
    global: Span,
) {
    let name = &table.name;
    let fix = "Fix: remove `global` and mark the tenant column #[tenant(tenant_id)], so the \
               compiler scopes every statement";
    let why = if let Some(tenant) = &table.tenant_column {
        Some((
            format!(
                "table {name:?} belongs to tenants (a tenant model maps it, tenant column \
                 {tenant:?}, in the schema snapshot)"
            ),
            fix,
        ))
    } else if table.row_security {
        Some((
            format!(
                "table {name:?} has row-level security enabled or a policy in the schema \
                 snapshot: it holds tenant data"
            ),
            fix,
        ))
    } else if table.view_of_tenant_table {
        Some((
            format!(
                "{name:?} is a view that reads a tenant table in the schema snapshot (or, on \
                 MySQL, one whose definition the recording user could not read)"
            ),
            "Fix: map the tenant table with a tenant model, or give the view its own tenant \
             column and a tenant model",
        ))
    } else {
        None
    };
    if let Some((why, fix)) = why {
        cx.syn_error(syn::Error::new(
            global,
            format!(
                "a #[tenant(global)] model cannot map it: {why}, and a global model reads and \
                 rewrites every tenant's rows with no scope. {fix}"
            ),
        ));
        return;
    }
    let own_key = model.primary_key().map(Field::column);
    for column in &table.columns {
        if !snapshot
            .tenant_columns
            .iter()
            .any(|t| snapshot.same(t, &column.name))
        {
            continue;
        }
        let is_own_key = match (&own_key, live_key) {
            (Some(pk), [only]) => snapshot.same(pk, only) && snapshot.same(pk, &column.name),
            _ => false,
        };
        let field = model
            .fields
            .iter()
            .find(|f| snapshot.same(&f.column(), &column.name));
        if is_own_key || field.is_some_and(|f| f.attrs.unscoped_tenant_id.is_some()) {
            continue;
        }
        let message = format!(
            "table {name:?} has a column {:?}, named like a tenant column in the schema \
             snapshot: it looks like tenant data, and a #[tenant(global)] model reads and \
             rewrites every tenant's rows. Fix: make it a tenant model (remove `global`, mark \
             the column #[tenant(tenant_id)]), or map the column and say why it does not scope \
             the rows with #[tenant(unscoped_tenant_id = \"..\")]",
            column.name
        );
        match field {
            Some(field) => cx.error_spanned_by(field.ident, message),
            None => cx.syn_error(syn::Error::new(global, message)),
        }
    }
}

/// " (did you mean ..?)" for a name close to one of `names`; for
/// PostgreSQL also a name that differs only in case.
fn near(snapshot: &Snapshot, name: &str, names: &[&str]) -> String {
    if let Some(same_case) = names.iter().find(|n| n.eq_ignore_ascii_case(name)) {
        return format!(" (there is {same_case:?}: PostgreSQL compares quoted names exactly)");
    }
    let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    match attr::closest(&name.to_ascii_lowercase(), &lower) {
        Some(best) => {
            let original = names
                .iter()
                .find(|n| snapshot.same(n, best) || n.eq_ignore_ascii_case(best))
                .unwrap_or(&best);
            format!(" (did you mean {original:?}?)")
        }
        None => String::new(),
    }
}

/// A field type the snapshot may have judged: its name there, and whether
/// the field is an `Option`.
struct RustType {
    key: &'static str,
    nullable: bool,
}

/// The judged type a field's tokens name, written as usual (`i64`,
/// `String`, `Option<Uuid>`, `chrono::DateTime<Utc>` ...). `None` for any
/// other type: an alias or a user type is not judged from its name.
fn rust_type(ty: &syn::Type) -> Option<RustType> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let names: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let last = path.path.segments.last()?;
    let argument = match &last.arguments {
        syn::PathArguments::None => None,
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => {
            match args.args.first() {
                Some(syn::GenericArgument::Type(inner)) => Some(inner),
                _ => return None,
            }
        }
        _ => return None,
    };
    if let Some(inner) = argument {
        return match names.as_slice() {
            ["Option"] | ["std" | "core", "option", "Option"] => {
                let inner = rust_type(inner)?;
                (!inner.nullable).then_some(RustType {
                    key: inner.key,
                    nullable: true,
                })
            }
            ["Vec"] | ["std" | "alloc", "vec", "Vec"] => {
                is_named(inner, &[&["u8"]]).then_some(RustType {
                    key: "Vec<u8>",
                    nullable: false,
                })
            }
            ["DateTime"] | ["chrono", "DateTime"] => {
                is_named(inner, &[&["Utc"], &["chrono", "Utc"]]).then_some(RustType {
                    key: "DateTime<Utc>",
                    nullable: false,
                })
            }
            _ => None,
        };
    }
    let key = match names.as_slice() {
        [p @ ("i8" | "i16" | "i32" | "i64" | "f32" | "f64" | "bool")] => match *p {
            "i8" => "i8",
            "i16" => "i16",
            "i32" => "i32",
            "i64" => "i64",
            "f32" => "f32",
            "f64" => "f64",
            _ => "bool",
        },
        ["String"] | ["std" | "alloc", "string", "String"] => "String",
        ["TenantId"] | ["tenant_core", "TenantId"] => "TenantId",
        ["Uuid"] | ["uuid", "Uuid"] | ["sqlx", "types", "Uuid"] => "Uuid",
        ["JsonValue"] | ["serde_json", "Value"] | ["sqlx", "types", "JsonValue"] => "JsonValue",
        ["NaiveDateTime"] | ["chrono", "NaiveDateTime"] => "NaiveDateTime",
        ["NaiveDate"] | ["chrono", "NaiveDate"] => "NaiveDate",
        ["NaiveTime"] | ["chrono", "NaiveTime"] => "NaiveTime",
        ["OffsetDateTime"] | ["time", "OffsetDateTime"] => "OffsetDateTime",
        ["PrimitiveDateTime"] | ["time", "PrimitiveDateTime"] => "PrimitiveDateTime",
        ["time", "Date"] => "time::Date",
        ["time", "Time"] => "time::Time",
        _ => return None,
    };
    Some(RustType {
        key,
        nullable: false,
    })
}

/// Whether `ty` is a plain path spelled as one of `paths`.
fn is_named(ty: &syn::Type, paths: &[&[&str]]) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    let names: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    path.qself.is_none()
        && path
            .path
            .segments
            .iter()
            .all(|s| matches!(s.arguments, syn::PathArguments::None))
        && paths
            .iter()
            .any(|p| p.len() == names.len() && p.iter().zip(&names).all(|(a, b)| a == b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ty: &str) -> Option<(&'static str, bool)> {
        let ty: syn::Type = syn::parse_str(ty).expect("a type");
        rust_type(&ty).map(|t| (t.key, t.nullable))
    }

    #[test]
    fn judges_only_types_named_as_usual() {
        assert_eq!(key("i64"), Some(("i64", false)));
        assert_eq!(key("Option<String>"), Some(("String", true)));
        assert_eq!(key("std::option::Option<uuid::Uuid>"), Some(("Uuid", true)));
        assert_eq!(key("Vec<u8>"), Some(("Vec<u8>", false)));
        assert_eq!(
            key("chrono::DateTime<chrono::Utc>"),
            Some(("DateTime<Utc>", false))
        );
        assert_eq!(key("serde_json::Value"), Some(("JsonValue", false)));
        // Not judged: aliases, user types, other zones, nested options,
        // names another crate could also use.
        assert_eq!(key("Money"), None);
        assert_eq!(key("Value"), None);
        assert_eq!(key("Date"), None);
        assert_eq!(key("DateTime<Local>"), None);
        assert_eq!(key("Vec<i32>"), None);
        assert_eq!(key("Option<Option<i64>>"), None);
        assert_eq!(key("&'static str"), None);
        assert_eq!(key("<T as Trait>::Assoc"), None);
    }

    #[test]
    fn a_snapshot_of_another_format_or_version_is_refused() {
        let err = parse_str(r#"{"format": "tenant-schema-snapshot", "version": 2}"#)
            .err()
            .unwrap_or_default();
        assert!(err.contains("version 2"), "{err}");
        assert!(
            err.contains("reads \"tenant-schema-snapshot\" version 1"),
            "{err}"
        );
        let err = parse_str("{").err().unwrap_or_default();
        assert!(err.contains("EOF"), "{err}");
        let err =
            parse_str(r#"{"format": "tenant-schema-snapshot", "version": 1, "backend": "sqlite"}"#)
                .err()
                .unwrap_or_default();
        assert!(err.contains("missing field"), "{err}");
    }

    #[test]
    fn names_compare_as_the_backend_does() {
        let snapshot = |backend: &str| Snapshot {
            format: FORMAT.into(),
            version: VERSION,
            backend: backend.into(),
            judged_types: Vec::new(),
            tenant_columns: Vec::new(),
            tables: Vec::new(),
        };
        assert!(snapshot("sqlite").same("Invoices", "invoices"));
        assert!(snapshot("mysql").same("TENANT_ID", "tenant_id"));
        assert!(!snapshot("postgres").same("Invoices", "invoices"));
        assert!(snapshot("postgres").same("invoices", "invoices"));
    }
}
