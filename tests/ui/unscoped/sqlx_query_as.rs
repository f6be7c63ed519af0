// Models deliberately do not implement sqlx::FromRow, so a hand-written
// `sqlx::query_as` cannot load them without the tenant filter.

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

fn list() {
    let _ = sqlx::query_as::<sqlx::Sqlite, Invoice>("SELECT * FROM invoices");
}

fn main() {}
