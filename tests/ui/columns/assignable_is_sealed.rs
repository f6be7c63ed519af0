// `Assignable` names the column an update sets; implementing it elsewhere
// could name the tenant column by its index.

use tenant_core::prelude::*;
use tenant_core::Assignable;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
}

struct Owner;

impl Assignable<Invoice> for Owner {
    type Value = String;
    fn column_index(&self) -> usize {
        1
    }
}

fn main() {}
