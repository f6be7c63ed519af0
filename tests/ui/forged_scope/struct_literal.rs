// A TenantScope cannot be written as a struct literal: its field is private.

use tenant_core::{TenantId, TenantScope};

fn forge(tenant_id: TenantId) -> TenantScope {
    TenantScope { tenant_id }
}

fn main() {}
