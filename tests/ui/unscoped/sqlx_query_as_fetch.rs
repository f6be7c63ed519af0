// `sqlx::query_as` cannot load a model, however the query is then run: one
// error, naming the builders.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "tasks")]
pub struct Task {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub title: String,
}

async fn all(pool: &sqlx::SqlitePool) -> Result<Vec<Task>, sqlx::Error> {
    sqlx::query_as::<_, Task>("SELECT * FROM tasks")
        .fetch_all(pool)
        .await
}

fn main() {}
