// A global model over the tenant table `invoices` would read every tenant's rows.
use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices", global)]
pub struct AllInvoices {
    #[tenant(primary_key)]
    pub id: i64,
    pub amount_cents: i64,
}

fn main() {}
