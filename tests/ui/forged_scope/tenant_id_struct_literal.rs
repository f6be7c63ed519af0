// A TenantId cannot be built without validation: its fields are private.

use tenant_core::{TenantId, TenantScope};

fn forge() -> TenantScope {
    TenantScope::new(TenantId {
        len: 4,
        bytes: [b'a'; 63],
    })
}

fn main() {}
