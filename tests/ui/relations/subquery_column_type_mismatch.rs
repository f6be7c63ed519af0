// A subquery's column must hold the type of the column it is compared with.

use tenant_core::prelude::*;
use tenant_core::count;

#[derive(TenantModel)]
#[tenant(table = "customers")]
pub struct Customer {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub name: String,
}

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub customer_id: i64,
    pub amount_cents: i64,
}

fn main() {
    let acme = TenantScope::new(TenantId::parse("acme").unwrap());
    let names = Customer::query(&acme).column(Customer::NAME);
    let _ = Invoice::query(&acme).filter(Invoice::CUSTOMER_ID.is_in(names));
    let _ = count();
}
