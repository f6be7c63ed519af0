// A tenant table named directly is refused: it would read every tenant's rows.

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
    tenant_core::query_as!((i64,), scope, "SELECT id FROM invoices")
}

fn main() {}
