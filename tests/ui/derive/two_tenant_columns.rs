// A model has exactly one tenant column.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(tenant_id)]
    pub owner_tenant: TenantId,
}

fn main() {}
