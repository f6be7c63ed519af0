// An insert into a tenant-owned table takes its tenant from a scope.

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

async fn create(db: &TenantDb) -> Result<Invoice, tenant_core::Error> {
    Invoice::insert(NewInvoice {
        amount_cents: 1200,
        customer_email: "a@example.com".into(),
    })
    .fetch_one(db)
    .await
}

fn main() {}
