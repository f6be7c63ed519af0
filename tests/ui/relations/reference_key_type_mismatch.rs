// A referencing field holds the referenced model's key type.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "customers")]
pub struct Customer {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(references = Customer)]
    pub customer_id: String,
}

fn main() {}
