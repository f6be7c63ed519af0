// TenantScope has no `default()`.

use tenant_core::TenantScope;

fn forge() -> TenantScope {
    TenantScope::default()
}

fn main() {}
