// A scope is made from a validated TenantId, never from a raw string.

use tenant_core::TenantScope;

fn forge(header: &str) -> TenantScope {
    TenantScope::new(header)
}

fn main() {}
