// A query of a global model cannot join a tenant-owned model that
// references it: nothing would scope the tenant side.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "plans", global)]
pub struct Plan {
    #[tenant(primary_key)]
    pub id: i64,
    pub name: String,
}

#[derive(TenantModel)]
#[tenant(table = "accounts")]
pub struct Account {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(references = Plan)]
    pub plan_id: i64,
}

fn main() {
    let _ = Plan::query().inner_join::<Account>();
}
