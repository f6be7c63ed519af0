// A global model has no tenant column.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "plans", global)]
pub struct Plan {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

fn main() {}
