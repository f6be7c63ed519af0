// An update can never move a row to another tenant.

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

async fn steal(
    db: &TenantDb,
    scope: &TenantScope,
    other: TenantId,
) -> Result<u64, tenant_core::Error> {
    Invoice::update(scope)
        .set(Invoice::TENANT_ID, other)
        .execute(db)
        .await
}

fn main() {}
