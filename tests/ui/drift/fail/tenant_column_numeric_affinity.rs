// The tenant column of `imported_orders` is declared STRING, which SQLite
// gives numeric affinity: "0123" and "123" would be the same tenant.
use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "imported_orders")]
pub struct ImportedOrder {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub total: i64,
}

fn main() {}
