// A tenant's scope does not open a read over every tenant: that takes the
// cross-tenant capability.

use tenant_core::prelude::*;
use tenant_core::Tenants;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
struct Invoice {
    #[tenant(primary_key)]
    id: i64,
    #[tenant(tenant_id)]
    tenant_id: TenantId,
}

fn all_invoices(scope: &TenantScope) {
    let _ = Invoice::query_across(scope, Tenants::all());
}

fn main() {}
