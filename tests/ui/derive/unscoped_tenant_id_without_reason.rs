// The reason a global table holds tenant ids must be stated.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "memberships", global)]
pub struct Membership {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(unscoped_tenant_id = " ")]
    pub tenant_id: TenantId,
    pub user_email: String,
}

fn main() {}
