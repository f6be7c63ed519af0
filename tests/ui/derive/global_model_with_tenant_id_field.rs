// A global model over a table that holds a `TenantId`: it would read and
// rewrite every tenant's rows. Allowed only as the primary key (a directory
// of tenants) or with #[tenant(unscoped_tenant_id = "why")].

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices", global)]
pub struct AllInvoices {
    #[tenant(primary_key)]
    pub id: i64,
    pub tenant_id: TenantId,
    pub amount_cents: i64,
}

fn main() {}
