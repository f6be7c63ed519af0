// `find` takes the primary key's type.

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

async fn one(db: &TenantDb, scope: &TenantScope) -> Result<Option<Invoice>, tenant_core::Error> {
    Invoice::find(scope, "42").fetch_optional(db).await
}

fn main() {}
