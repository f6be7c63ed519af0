//! Models and schemas shared by the integration tests.

use chrono::{DateTime, Utc};
use tenant_core::prelude::*;
use uuid::Uuid;

/// The invoice of SPEC.md.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    /// Database-generated key.
    #[tenant(primary_key)]
    pub id: i64,
    /// Owner.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    /// Amount.
    pub amount_cents: i64,
    /// Customer e-mail.
    pub customer_email: String,
}

/// A customer: client-generated UUID key, natural key `email` unique per
/// tenant, and one column of each supported type.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "customers")]
pub struct Customer {
    /// Client-generated key, the same across tenants in the mirror tests.
    #[tenant(primary_key, client_generated)]
    pub id: Uuid,
    /// Owner.
    #[tenant(tenant_id, rename = "tenant")]
    pub tenant_id: TenantId,
    /// Natural key, unique per tenant.
    pub email: String,
    /// A user enum stored as text.
    pub status: Status,
    /// Floating point.
    pub score: f64,
    /// Boolean.
    pub active: bool,
    /// Nullable text.
    pub note: Option<String>,
    /// JSON document.
    pub metadata: serde_json::Value,
    /// Nullable integer.
    pub visits: Option<i32>,
    /// Filled by the database.
    #[tenant(generated)]
    pub created_at: DateTime<Utc>,
}

/// A user enum stored as text, with hand-written sqlx impls (the way
/// demo-app does it). A `#[derive(sqlx::Type)]` enum would work on SQLite
/// and PostgreSQL, but sqlx's derived MySQL impl only decodes a nullable
/// `ENUM` column: a `NOT NULL` one (or `VARCHAR`) fails with "`ENUM` is not
/// compatible with `ENUM`" (sqlx issue #3750). verify.rs shows
/// `TenantDb::verify` reporting that as `column_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Active.
    Active,
    /// Suspended.
    Suspended,
}

impl Status {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "active" => Ok(Status::Active),
            "suspended" => Ok(Status::Suspended),
            other => Err(format!("unknown status {other:?}")),
        }
    }
}

/// `Status` as the text type of backend `$db`.
macro_rules! status_as_text {
    ($db:ty) => {
        impl sqlx::Type<$db> for Status {
            fn type_info() -> <$db as sqlx::Database>::TypeInfo {
                <str as sqlx::Type<$db>>::type_info()
            }

            fn compatible(ty: &<$db as sqlx::Database>::TypeInfo) -> bool {
                <str as sqlx::Type<$db>>::compatible(ty)
            }
        }

        impl sqlx::Encode<'_, $db> for Status {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<$db>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, $db> for Status {
            fn decode(
                value: <$db as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(<&str as sqlx::Decode<$db>>::decode(value)?.parse::<Status>()?)
            }
        }
    };
}

status_as_text!(sqlx::Sqlite);
status_as_text!(sqlx::Postgres);
status_as_text!(sqlx::MySql);

/// A payment of one of the tenant's invoices: a same-tenant reference,
/// whose key is looked up for the tenant on every write.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "payments")]
pub struct Payment {
    /// Database-generated key.
    #[tenant(primary_key)]
    pub id: i64,
    /// Owner.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    /// The invoice paid.
    #[tenant(references = Invoice)]
    pub invoice_id: i64,
    /// Amount.
    pub amount_cents: i64,
}

/// A global table: no tenant column, no scope.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "plans", global)]
pub struct Plan {
    /// Key.
    #[tenant(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
}

/// Schema for SQLite.
pub const SQLITE_SCHEMA: &str = r#"
CREATE TABLE plans (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    customer_email TEXT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE TABLE payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    invoice_id INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL
);
CREATE TABLE customers (
    id BLOB NOT NULL,
    tenant TEXT NOT NULL,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    active BOOLEAN NOT NULL,
    note TEXT,
    metadata TEXT NOT NULL,
    visits INTEGER,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, email)
);
"#;

/// Schema for PostgreSQL.
pub const POSTGRES_SCHEMA: &str = r#"
CREATE TABLE plans (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE invoices (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY,
    tenant_id TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    customer_email TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE payments (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY,
    tenant_id TEXT NOT NULL,
    invoice_id BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE customers (
    id UUID NOT NULL,
    tenant TEXT NOT NULL,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    active BOOLEAN NOT NULL,
    note TEXT,
    metadata JSONB NOT NULL,
    visits INTEGER,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, email)
);
"#;

/// Schema for MySQL/MariaDB. Tenant columns compare byte for byte
/// (`utf8mb4_bin`): under a case-insensitive collation `'Acme'` would match
/// tenant `acme`'s rows. `invoices.id` is AUTO_INCREMENT inside the
/// composite key, so it needs a key of its own (`KEY (id)`). sqlx stores a
/// `uuid::Uuid` as 16 bytes on MySQL, hence `BINARY(16)`. MariaDB's `JSON`
/// is `LONGTEXT` with a `json_valid` check.
pub const MYSQL_SCHEMA: &str = r#"
CREATE TABLE plans (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE
);
CREATE TABLE invoices (
    id BIGINT NOT NULL AUTO_INCREMENT,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    amount_cents BIGINT NOT NULL,
    customer_email VARCHAR(255) NOT NULL,
    PRIMARY KEY (tenant_id, id),
    KEY (id)
);
CREATE TABLE payments (
    id BIGINT NOT NULL AUTO_INCREMENT,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    invoice_id BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    KEY (id)
);
CREATE TABLE customers (
    id BINARY(16) NOT NULL,
    tenant VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    email VARCHAR(255) NOT NULL,
    status VARCHAR(32) NOT NULL,
    score DOUBLE NOT NULL,
    active BOOLEAN NOT NULL,
    note TEXT,
    metadata JSON NOT NULL,
    visits INT,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, email)
);
"#;

/// Row-level security policies for every tenant table of the test schema.
pub fn postgres_policies() -> String {
    tenant_core::rls::policy_sql::<Invoice>() + &tenant_core::rls::policy_sql::<Customer>()
}
