// An update that sets nothing, run and awaited: one error, at `execute`.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "tasks")]
pub struct Task {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub done: bool,
}

async fn nothing(db: &TenantDb, scope: &TenantScope) -> Result<u64, tenant_core::Error> {
    Task::update(scope).filter(Task::ID.eq(1)).execute(db).await
}

fn main() {}
