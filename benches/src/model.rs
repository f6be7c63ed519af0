//! The benchmark model: diesel_bench's shape with a tenant column, written
//! once with the derive and once as the struct hand-written sqlx code uses.

use tenant_core::prelude::*;

/// An invoice, through `#[derive(TenantModel)]`.
#[derive(Debug, Clone, TenantModel)]
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

/// The same row as hand-written sqlx code reads it: `#[derive(FromRow)]`
/// and the tenant as a `String`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceRow {
    /// Key.
    pub id: i64,
    /// Owner.
    pub tenant_id: String,
    /// Amount.
    pub amount_cents: i64,
    /// Customer e-mail.
    pub customer_email: String,
}

/// The filter of the list workloads: `amount_cents > 1000` keeps 99 % of the
/// rows, so a tenant of [`crate::data::ROWS_PER_TENANT`] rows has more than
/// 10 000 matches.
pub const LIST_MIN_AMOUNT: i64 = 1000;

/// The e-mail every benchmark insert writes.
pub const INSERT_EMAIL: &str = "bench@example.test";

/// The tenant every read workload queries.
pub const READ_TENANT: &str = "t00";

/// The tenant the insert workloads write to, so the read data stays fixed.
pub const WRITE_TENANT: &str = "ins";

/// A scope for `tenant`; panics on an invalid literal (a bug in the bench).
pub fn scope(tenant: &str) -> TenantScope {
    TenantScope::new(TenantId::parse(tenant).expect("valid tenant literal"))
}
