// Tenant models that reference each other compare their tenant columns in
// every join, so they hold the same tenant key type.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "customers")]
pub struct Customer {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub account_id: i64,
}

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(references = Customer)]
    pub customer_id: i64,
}

fn main() {}
