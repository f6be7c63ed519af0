// A projection reads as the tuple of its items' types.

use tenant_core::prelude::*;

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
    pub status: String,
    pub amount_cents: i64,
}

async fn report(db: &TenantDb, acme: &TenantScope) -> Result<(), tenant_core::Error> {
    let rows: Vec<(String, String)> = Invoice::query(acme)
        .select((Invoice::STATUS, Invoice::AMOUNT_CENTS))
        .fetch_all(db)
        .await?;
    let _ = rows;
    Ok(())
}

fn main() {}
