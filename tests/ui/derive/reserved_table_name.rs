// Names starting with `__tenant` are the aliases of the generated SQL: a
// table `__tenant_ctx` with a column `value` would make the row-level
// security predicate compare the table with itself.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "__tenant_ctx")]
pub struct Ctx {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub value: String,
}

fn main() {}
