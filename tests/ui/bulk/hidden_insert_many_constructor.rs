// The hidden unscoped constructor is for global models only.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
}

#[derive(TenantModel)]
#[tenant(table = "customers")]
pub struct Customer {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub email: String,
    pub name: String,
}

async fn create(db: &TenantDb) -> Result<u64, tenant_core::Error> {
    tenant_core::__private::InsertMany::<Invoice>::global(vec![NewInvoice { amount_cents: 1200 }])
        .execute(db)
        .await
}

fn main() {}
