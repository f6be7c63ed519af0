// The tenant column cannot be compared with: the scope decides the tenant.

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

async fn other_tenant(
    db: &TenantDb,
    scope: &TenantScope,
    other: TenantId,
) -> Result<Vec<Invoice>, tenant_core::Error> {
    Invoice::query(scope)
        .filter(Invoice::TENANT_ID.eq(other))
        .fetch_all(db)
        .await
}

fn main() {}
