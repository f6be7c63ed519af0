// TenantScope does not implement Deserialize: a scope never comes from
// request data.

use tenant_core::TenantScope;

fn forge(body: &str) -> TenantScope {
    serde_json::from_str::<TenantScope>(body).unwrap()
}

fn main() {}
