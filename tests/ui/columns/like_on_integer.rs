// `like` exists only on text columns.

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

fn pattern() -> Condition<Invoice> {
    Invoice::AMOUNT_CENTS.like("1%")
}

fn main() {}
