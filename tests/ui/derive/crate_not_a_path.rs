// `crate = ".."` must be a path.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices", crate = "not a path")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

fn main() {}
