// The hidden unscoped constructor behind the generated `delete` builder
// refuses a tenant-owned model.

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

async fn unscoped(db: &TenantDb) -> Result<u64, tenant_core::Error> {
    tenant_core::__private::Delete::<Invoice>::global()
        .execute(db)
        .await
}

fn main() {}
