// An update never changes a row's primary key: references to the row
// would point at nothing, or at another row.

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

async fn renumber(db: &TenantDb, scope: &TenantScope) -> Result<u64, tenant_core::Error> {
    Task::update(scope)
        .set(Task::ID, 9)
        .filter(Task::ID.eq(1))
        .execute(db)
        .await
}

fn main() {}
