// A tenant column must be a `TenantId`, `i64`, `i32` or `uuid::Uuid`: an
// unsigned integer is not a tenant key.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "ledger")]
pub struct Ledger {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub account_id: u32,
    pub amount: i64,
}

fn main() {}
