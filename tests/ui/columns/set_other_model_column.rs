// An update sets the updated model's own columns.

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

#[derive(TenantModel)]
#[tenant(table = "plans", global)]
pub struct Plan {
    #[tenant(primary_key)]
    pub id: i64,
    pub name: String,
}

async fn rename(db: &TenantDb, scope: &TenantScope) -> Result<u64, tenant_core::Error> {
    Invoice::update(scope)
        .set(Plan::NAME, "pro")
        .execute(db)
        .await
}

fn main() {}
