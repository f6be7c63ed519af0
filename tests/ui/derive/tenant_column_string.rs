// The tenant column must be a validated TenantId, not a String.
// (This library has no custom tenant key types: TenantId is the only key.)

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: String,
}

fn main() {}
