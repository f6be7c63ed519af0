// A projection field is named like a column of the model.

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
#[tenant(model = Invoice)]
pub struct InvoiceSummary {
    pub id: i64,
    pub amount: i64,
}

fn main() {
    let _ = count();
}
