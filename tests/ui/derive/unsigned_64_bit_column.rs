// PostgreSQL and SQLite have no unsigned 64-bit integer: a `u64` field is
// one error, on its type, naming `i64`.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "counters")]
pub struct Counter {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub hits: u64,
}

fn main() {}
