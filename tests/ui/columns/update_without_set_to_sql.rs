// An update that sets nothing has no SQL: `UPDATE "invoices" SET  WHERE ..`
// is not representable.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
}

fn sql(scope: &TenantScope) -> String {
    Invoice::update(scope).filter(Invoice::ID.eq(1)).to_sql()
}

fn main() {}
