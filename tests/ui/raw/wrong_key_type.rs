// A scope of another key type than the model's tenant key does not compile.

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

fn run(scope: &TenantScope<i64>) -> tenant_core::RawQuery<(i64,)> {
    tenant_core::query_as!((i64,), scope, "SELECT id FROM {Invoice}")
}

fn main() {}
