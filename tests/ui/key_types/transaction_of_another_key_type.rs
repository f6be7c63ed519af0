// A transaction opened for an `i32` team scope is a `TenantTransaction<i32>`;
// its scope cannot be passed where an `i64` account scope is expected.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "ledger")]
pub struct Ledger {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub account_id: i64,
    pub amount: i64,
}

async fn run(db: &TenantDb, team: &TenantScope<i32>) -> Result<i64, tenant_core::Error> {
    let mut tx = db.begin(team).await?;
    Ledger::query(tx.scope()).count(&mut tx).await
}

fn main() {}
