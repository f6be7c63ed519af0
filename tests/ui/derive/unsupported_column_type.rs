// Every column type must be readable and writable on SQLite and PostgreSQL.

use tenant_core::prelude::*;

pub struct Address {
    pub street: String,
}

#[derive(TenantModel)]
#[tenant(table = "customers")]
pub struct Customer {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub address: Address,
}

fn main() {}
