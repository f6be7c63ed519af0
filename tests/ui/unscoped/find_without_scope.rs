// `find` on a tenant-owned model needs the scope before the key.

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

async fn one(db: &TenantDb) -> Result<Option<Invoice>, tenant_core::Error> {
    Invoice::find(42).fetch_optional(db).await
}

fn main() {}
