// The rows of a bulk insert are the model's own `New<Model>`.

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

async fn create(db: &TenantDb, scope: &TenantScope) -> Result<u64, tenant_core::Error> {
    Invoice::insert_many(scope, vec![NewCustomer { email: "a@example.com".into(), name: "A".into() }])
        .execute(db)
        .await
}

fn main() {}
