// A global model has no tenants to cross: it is read with `Plan::query()`.

use tenant_core::prelude::*;
use tenant_core::Tenants;

#[derive(TenantModel)]
#[tenant(table = "plans", global)]
struct Plan {
    #[tenant(primary_key)]
    id: i64,
}

fn plans(admin: &CrossTenant) {
    let _ = Plan::query_across(admin, Tenants::all());
}

fn main() {}
