// A table function is refused: it can read rows around the tenant filter.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
}

fn run(scope: &TenantScope) -> tenant_core::RawQuery<(i64,)> {
    tenant_core::query_as!((i64,), scope, "SELECT id FROM {Invoice} i, generate_series(1, 3) g")
}

fn main() {}
