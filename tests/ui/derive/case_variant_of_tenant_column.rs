// SQLite and MySQL ignore the case of identifiers: `Tenant_ID` is the tenant
// column `tenant_id` there, so mapping it as an ordinary (settable) column
// would let an update move rows to another tenant.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct InvoiceOwner {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(rename = "Tenant_ID")]
    pub owner: String,
}

fn main() {}
