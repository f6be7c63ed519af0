// A `TenantId` under another name is still a tenant id: a global model over
// it would read and rewrite every tenant's rows.

use tenant_core::prelude::*;

type Org = TenantId;

#[derive(TenantModel)]
#[tenant(table = "invoices", global)]
pub struct AllInvoices {
    #[tenant(primary_key)]
    pub id: i64,
    pub org: Org,
    pub amount_cents: i64,
}

fn main() {}
