// A model needs #[tenant(table = "...")].

use tenant_core::prelude::*;

#[derive(TenantModel)]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

fn main() {}
