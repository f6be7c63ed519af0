// The table name must be a safe SQL identifier.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices; DROP TABLE invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

fn main() {}
