// A column compares only with values of its own type.

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

async fn list(db: &TenantDb, scope: &TenantScope) -> Result<Vec<Invoice>, tenant_core::Error> {
    Invoice::query(scope)
        .filter(Invoice::AMOUNT_CENTS.gt("10000"))
        .fetch_all(db)
        .await
}

fn main() {}
