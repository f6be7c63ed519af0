// A global table that legitimately holds tenant ids: a directory keyed by
// tenant, and a membership table with a stated reason.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "tenants", global)]
pub struct TenantRecord {
    #[tenant(primary_key, client_generated)]
    pub id: TenantId,
    pub name: String,
}

#[derive(TenantModel)]
#[tenant(table = "memberships", global)]
pub struct Membership {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(unscoped_tenant_id = "maps users to the tenants they may act for; read at sign-in")]
    pub tenant_id: TenantId,
    pub user_email: String,
}

fn main() {
    let _ = Membership::query();
    let _ = TenantRecord::query();
}
