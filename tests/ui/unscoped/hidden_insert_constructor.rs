// The hidden unscoped constructor behind the generated `insert` builder
// refuses a tenant-owned model.

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

async fn unscoped(db: &TenantDb) -> Result<Invoice, tenant_core::Error> {
    tenant_core::__private::Insert::<Invoice>::global(NewInvoice {
        amount_cents: 1200,
        customer_email: "a@example.com".into(),
    })
    .fetch_one(db)
    .await
}

fn main() {}
