// A column is an index into the model's columns: a hand-made constant past
// them names no column and is refused when the constant is evaluated.

use tenant_core::prelude::*;
use tenant_core::Column;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
}

const FORGED: Column<Invoice, i64> = Column::new(3);

fn main() {
    let _ = FORGED;
}
