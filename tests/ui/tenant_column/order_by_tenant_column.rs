// The tenant column cannot be ordered by: a scoped query holds one tenant.

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

fn by_tenant(scope: &TenantScope) -> tenant_core::Select<Invoice> {
    Invoice::query(scope).order_by(Invoice::TENANT_ID.desc())
}

fn main() {}
