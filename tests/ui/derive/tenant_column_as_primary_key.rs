// The tenant column always comes from the scope: it cannot be the key.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "tenants")]
pub struct Tenant {
    #[tenant(tenant_id, primary_key)]
    pub id: TenantId,
    pub name: String,
}

fn main() {}
