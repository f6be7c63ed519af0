// A snapshot of another format version: one error naming the file and how
// to record it again.
use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

fn main() {
    // The model's items are still generated: no cascade of errors here.
    let scope = TenantScope::new(TenantId::parse("acme").unwrap());
    let _ = Invoice::query(&scope).filter(Invoice::ID.eq(1));
}
