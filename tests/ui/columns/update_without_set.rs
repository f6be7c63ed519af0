// An update must set at least one column before it runs.

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

fn nothing(db: &TenantDb, scope: &TenantScope) {
    let _ = Invoice::update(scope).filter(Invoice::ID.eq(1)).execute(db);
}

fn main() {}
