// `client_generated` applies only to the primary key.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(client_generated)]
    pub number: i64,
}

fn main() {}
