// An unknown key on the struct is an error that lists the known ones.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices", schema = "billing")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

fn main() {}
