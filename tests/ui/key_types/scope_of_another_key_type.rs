// A scope whose key type is not the model's tenant column type does not
// compile: an `i64` account scope cannot query a model keyed by `TenantId`.

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

fn query(account: &TenantScope<i64>) -> tenant_core::Select<Invoice> {
    Invoice::query(account)
}

fn main() {}
