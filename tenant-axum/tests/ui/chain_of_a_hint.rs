// A chain must start with a credential: a header hint cannot select the
// tenant.
use tenant_axum::{HeaderHint, TenantChain};

fn main() {
    let _chain = TenantChain::new(HeaderHint::x_tenant_id());
}
