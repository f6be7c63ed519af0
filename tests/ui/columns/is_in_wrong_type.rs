// `is_in` takes values of the column's type.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
    pub customer_email: String,
}

fn some() -> Condition<Invoice> {
    Invoice::ID.is_in(["1", "2"])
}

fn main() {}
