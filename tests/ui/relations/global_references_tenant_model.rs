// A global model's rows belong to no tenant: it cannot reference a
// tenant-owned model (a join from it would reach every tenant's rows).

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "customers")]
pub struct Customer {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub name: String,
}

#[derive(TenantModel)]
#[tenant(table = "plans", global)]
pub struct Plan {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(references = Customer)]
    pub owner_id: i64,
}

fn main() {}
