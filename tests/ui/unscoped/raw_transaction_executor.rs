// A builder does not run on a plain sqlx transaction: only on a
// TenantTransaction opened for a scope.

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

fn list(tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>, scope: &TenantScope) {
    let _ = Invoice::query(scope).fetch_all(tx);
}

fn main() {}
