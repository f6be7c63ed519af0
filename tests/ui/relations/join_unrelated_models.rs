// A join follows a declared reference: two models without one cannot be
// joined (there would be no join condition to scope).

use tenant_core::prelude::*;

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
    #[tenant(references = Customer)]
    pub customer_id: i64,
    pub amount_cents: i64,
}

#[derive(TenantModel)]
#[tenant(table = "notes")]
pub struct Note {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub body: String,
}

fn main() {
    let acme = TenantScope::new(TenantId::parse("acme").unwrap());
    let _ = Invoice::query(&acme).inner_join::<Note>();
}
