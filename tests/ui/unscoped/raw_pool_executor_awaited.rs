// A raw sqlx pool as the executor, awaited: one error, naming `TenantDb`.

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

async fn all(pool: &sqlx::PgPool, scope: &TenantScope) -> Result<Vec<Task>, tenant_core::Error> {
    Task::query(scope).fetch_all(pool).await
}

fn main() {}
