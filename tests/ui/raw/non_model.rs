// Braces name models only: a type that is not a TenantModel is refused.

use tenant_core::prelude::*;

pub struct Invoice {
    pub id: i64,
}

fn run(scope: &TenantScope) -> tenant_core::RawQuery<(i64,)> {
    tenant_core::query_as!((i64,), scope, "SELECT id FROM {Invoice}")
}

fn main() {}
