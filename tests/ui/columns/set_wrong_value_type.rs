// An update sets a column to a value of its own type.

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

async fn reprice(db: &TenantDb, scope: &TenantScope) -> Result<u64, tenant_core::Error> {
    Invoice::update(scope)
        .set(Invoice::AMOUNT_CENTS, 12.5)
        .execute(db)
        .await
}

fn main() {}
