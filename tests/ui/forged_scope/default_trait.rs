// TenantScope does not implement Default.

use tenant_core::TenantScope;

fn forge() -> TenantScope {
    Default::default()
}

fn main() {}
