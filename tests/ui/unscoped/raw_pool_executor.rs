// A builder runs only on a TenantDb (or a TenantTransaction), not on a raw
// sqlx pool.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
    pub customer_email: String,
}

fn list(pool: &sqlx::SqlitePool, scope: &TenantScope) {
    let _ = Invoice::query(scope).fetch_all(pool);
}

fn main() {}
