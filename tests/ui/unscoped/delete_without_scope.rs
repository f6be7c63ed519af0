// A delete on a tenant-owned table needs a scope.

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

async fn purge(db: &TenantDb) -> Result<u64, tenant_core::Error> {
    Invoice::delete().execute(db).await
}

fn main() {}
