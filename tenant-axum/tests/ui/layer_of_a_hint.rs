// The layer needs a credential too: a subdomain hint alone is refused.
use tenant_axum::{SubdomainHint, TenantLayer};

fn main() {
    let _layer = TenantLayer::new(SubdomainHint::new(["example.com"]));
}
