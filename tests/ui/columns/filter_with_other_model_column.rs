// A filter is built from the queried model's own columns.

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

async fn list(db: &TenantDb, scope: &TenantScope) -> Result<Vec<Invoice>, tenant_core::Error> {
    Invoice::query(scope)
        .filter(Plan::NAME.eq("pro"))
        .fetch_all(db)
        .await
}

fn main() {}
