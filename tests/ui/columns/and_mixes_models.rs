// Conditions on two different models do not combine.

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

#[derive(TenantModel)]
#[tenant(table = "plans", global)]
pub struct Plan {
    #[tenant(primary_key)]
    pub id: i64,
    pub name: String,
}

fn both() -> Condition<Invoice> {
    Invoice::ID.eq(1).and(Plan::ID.eq(1))
}

fn main() {}
