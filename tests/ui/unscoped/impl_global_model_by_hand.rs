// A tenant-owned model cannot be declared global by hand to reach the
// unscoped builders: GlobalModel follows from the derive alone.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

impl tenant_core::GlobalModel for Invoice {}

fn main() {}
