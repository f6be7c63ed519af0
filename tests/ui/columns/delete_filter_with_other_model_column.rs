// A delete's filter is built from the deleted model's own columns.

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

async fn purge(db: &TenantDb, scope: &TenantScope) -> Result<u64, tenant_core::Error> {
    Invoice::delete(scope)
        .filter(Plan::ID.eq(1))
        .execute(db)
        .await
}

fn main() {}
