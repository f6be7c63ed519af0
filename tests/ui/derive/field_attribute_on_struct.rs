// A field key written on the struct says where it belongs.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices", primary_key)]
pub struct Invoice {
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

fn main() {}
