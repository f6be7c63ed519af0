// A bulk insert into a tenant-owned table takes its tenant from a scope.

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
    Invoice::insert_many(vec![NewInvoice { amount_cents: 1200 }])
        .execute(db)
        .await
}

fn main() {}
