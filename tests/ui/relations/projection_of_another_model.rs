// A projection reads rows of the model it names, not another's.

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

#[derive(TenantProjection)]
#[tenant(model = Customer)]
pub struct CustomerName {
    pub id: i64,
    pub name: String,
}

fn main() {
    let acme = TenantScope::new(TenantId::parse("acme").unwrap());
    let _ = Invoice::query(&acme).select_as::<CustomerName>();
    let _ = count();
}
