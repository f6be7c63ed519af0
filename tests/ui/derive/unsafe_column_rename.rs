// A renamed column must be a safe SQL identifier.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(rename = "amount\" = 0 OR \"1")]
    pub amount_cents: i64,
}

fn main() {}
