//! The SQL type a column is declared with, per backend: read from the type
//! sqlx declares for the field's Rust type (`sqlx::Type::type_info`), the
//! same facts the schema check compares with, so a generated column always
//! passes [`TenantDb::verify`](crate::TenantDb::verify).

use crate::backend::Backend;
use crate::value::TypeChecks;

/// What a column is used for: it decides lengths and collations where a
/// backend needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// The tenant column.
    Tenant,
    /// In a key, an index or a foreign key (MySQL cannot index `TEXT`).
    Key,
    /// Anything else.
    Plain,
}

/// The declared type of a column whose Rust type is `rust_type` (as the
/// derive wrote it) with sqlx type facts `checks`, on `backend`; `Err`
/// says why there is none.
pub(crate) fn column_type(
    backend: Backend,
    checks: &TypeChecks,
    rust_type: &str,
    usage: Use,
) -> Result<String, String> {
    let _ = (checks, rust_type, usage);
    match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => {
            let name = sqlx::TypeInfo::name(&(checks.sqlite_type)()).to_owned();
            if name == "NULL" {
                return Err("sqlx declares no SQLite type for it".into());
            }
            Ok(name)
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let name = sqlx::TypeInfo::name(&(checks.postgres_type)()).to_owned();
            // `"char"`, the one-byte type of `i8`; plain CHAR is character(1).
            Ok(if name == "\"CHAR\"" {
                "\"char\"".into()
            } else {
                name
            })
        }
        #[cfg(feature = "mysql")]
        Backend::MySql => {
            let name = sqlx::TypeInfo::name(&(checks.mysql_type)()).to_owned();
            Ok(mysql_type(&name, rust_type, usage))
        }
        #[allow(unreachable_patterns)]
        _ => Err(format!(
            "tenant-core was built without the {} backend's feature",
            backend.name()
        )),
    }
}

/// MySQL needs lengths where sqlx names a family: text and bytes in a key
/// get a bounded length, the tenant column an exact (`_bin`) collation,
/// a UUID its 16 bytes (sqlx declares it, and `Json`, by the bytes it
/// sends), timestamps microseconds.
#[cfg(feature = "mysql")]
fn mysql_type(name: &str, rust_type: &str, usage: Use) -> String {
    let base = rust_type
        .strip_prefix("Option<")
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(rust_type);
    let last = base.rsplit("::").next().unwrap_or(base);
    let text = matches!(
        name,
        "VARCHAR" | "CHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT"
    );
    match name {
        _ if last == "Uuid" => "BINARY(16)".into(),
        _ if text && usage == Use::Tenant => {
            "VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin".into()
        }
        _ if text && usage == Use::Key => "VARCHAR(255)".into(),
        _ if text => "TEXT".into(),
        "BINARY" => "JSON".into(),
        "BLOB" | "VARBINARY" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" if usage != Use::Plain => {
            "VARBINARY(255)".into()
        }
        "VARBINARY" => "BLOB".into(),
        "TIMESTAMP" | "DATETIME" => "DATETIME(6)".into(),
        "TIME" => "TIME(6)".into(),
        other => other.into(),
    }
}

/// Whether a column of declared type `ty` can count up by itself
/// (an identity, `AUTO_INCREMENT`, SQLite's `INTEGER PRIMARY KEY`).
pub(crate) fn is_integer(backend: Backend, ty: &str) -> bool {
    match backend {
        Backend::Sqlite => ty == "INTEGER",
        Backend::Postgres => matches!(ty, "INT2" | "INT4" | "INT8"),
        Backend::MySql => matches!(ty, "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT"),
    }
}

/// The default of a `#[tenant(generated)]` column of declared type `ty`:
/// the current time for a timestamp; `None` when the generator knows none.
pub(crate) fn generated_default(backend: Backend, ty: &str) -> Option<&'static str> {
    match (backend, ty) {
        (Backend::Sqlite, "DATETIME") => Some("CURRENT_TIMESTAMP"),
        (Backend::Postgres, "TIMESTAMPTZ" | "TIMESTAMP") => Some("CURRENT_TIMESTAMP"),
        (Backend::MySql, "DATETIME(6)") => Some("CURRENT_TIMESTAMP(6)"),
        _ => None,
    }
}
