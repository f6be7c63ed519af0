// The tenant column of `legacy_orders` allows NULL.
use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "legacy_orders")]
pub struct LegacyOrder {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub total: i64,
}

fn main() {}
