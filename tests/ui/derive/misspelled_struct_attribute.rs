// A misspelled key on the struct is an error, with a suggestion.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices", globl)]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

fn main() {}
