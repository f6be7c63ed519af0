// A model needs a tenant column unless it is declared global.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    pub amount_cents: i64,
}

fn main() {}
