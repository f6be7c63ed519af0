// A model's fields name its columns: a tuple struct has none.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice(i64, TenantId);

fn main() {}
