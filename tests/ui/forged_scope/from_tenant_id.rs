// There is no `From<TenantId>` conversion: the only constructor is
// `TenantScope::new`, called where the tenant is known for certain.

use tenant_core::{TenantId, TenantScope};

fn forge(tenant_id: TenantId) -> TenantScope {
    TenantScope::from(tenant_id)
}

fn main() {}
