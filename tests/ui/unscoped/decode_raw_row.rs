// A model's row decoder cannot be called on rows read with raw SQL: it would
// turn every tenant's rows into models without the tenant filter.

use tenant_core::prelude::*;
use tenant_core::Model;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
}

async fn all(pool: &sqlx::SqlitePool) -> Vec<Invoice> {
    let rows = sqlx::query("SELECT * FROM invoices").fetch_all(pool).await.unwrap();
    rows.iter().map(|row| Invoice::decode::<sqlx::Sqlite>(row).unwrap()).collect()
}

fn main() {}
