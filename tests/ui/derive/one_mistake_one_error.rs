// One mistake in the declaration gives one error: the model's items are
// still generated, so the code that uses them adds no cascade of
// "no function `query`" / "no constant `AMOUNT_CENTS`" errors.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primay_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
}

async fn big(db: &TenantDb, scope: &TenantScope) -> Result<Vec<Invoice>, tenant_core::Error> {
    Invoice::query(scope)
        .filter(Invoice::AMOUNT_CENTS.gt(10_000))
        .fetch_all(db)
        .await
}

fn main() {
    let _ = big;
}
