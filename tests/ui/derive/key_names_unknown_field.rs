use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "customers", unique(emial))]
pub struct Customer {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub email: String,
}

fn main() {}
