// The tenant of an existing scope cannot be changed.

use tenant_core::{TenantId, TenantScope};

fn retarget(scope: &mut TenantScope, other: TenantId) {
    scope.tenant_id = other;
}

fn main() {}
