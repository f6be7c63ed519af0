// `rename` names a column the table does not have: the error is on the name.
use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(rename = "total_cents")]
    pub amount: i64,
}

fn main() {}
