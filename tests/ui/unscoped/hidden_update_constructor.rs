// The hidden unscoped constructor behind the generated `update` builder
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
    tenant_core::__private::Update::<Invoice>::global()
        .set(Invoice::AMOUNT_CENTS, 0)
        .execute(db)
        .await
}

fn main() {}
