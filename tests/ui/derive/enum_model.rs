// Only a struct with named fields can be a model.

use tenant_core::TenantModel;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub enum Invoice {
    Draft { id: i64 },
    Sent { id: i64 },
}

fn main() {}
