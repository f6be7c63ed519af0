// An upsert's conflict target must include the tenant column: a unique key
// without it spans tenants, so its conflict could update another tenant's
// row.

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
        .on_conflict(Customer::EMAIL)
        .do_update(Customer::NAME)
        .execute(db)
        .await
}

fn main() {}
