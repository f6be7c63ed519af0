// The table is not in the schema snapshot (a typo of `invoices`).
use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoice")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

fn main() {}
