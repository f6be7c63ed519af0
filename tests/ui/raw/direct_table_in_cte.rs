// A tenant table named directly in a CTE body is refused.

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
    tenant_core::query_as!((i64,), scope, "WITH big AS (SELECT id FROM invoices WHERE amount_cents > 100) SELECT id FROM big")
}

fn main() {}
