// An upsert never updates the primary key: `SET id = EXCLUDED.id` would
// renumber the existing row.

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

async fn upsert(db: &TenantDb, scope: &TenantScope) -> Result<u64, tenant_core::Error> {
    Customer::upsert(scope, NewCustomer { email: "a@example.com".into(), name: "A".into() })
        .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
        .do_update(Customer::ID)
        .execute(db)
        .await
}

fn main() {}
