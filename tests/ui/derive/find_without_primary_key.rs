// `find` looks a row up by its primary key: a model without one has no
// `find`, and says which attribute gives it one.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "tasks")]
pub struct Task {
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub title: String,
}

async fn one(db: &TenantDb, scope: &TenantScope) -> Result<Option<Task>, tenant_core::Error> {
    Task::find(scope, 1).fetch_optional(db).await
}

fn main() {}
