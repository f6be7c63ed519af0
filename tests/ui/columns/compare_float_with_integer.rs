// A float column compares with a float: `3.0`, not `3`.

use tenant_core::prelude::*;

#[derive(TenantModel)]
#[tenant(table = "reviews")]
pub struct Review {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub rating: Option<f64>,
}

async fn good(db: &TenantDb, scope: &TenantScope) -> Result<Vec<Review>, tenant_core::Error> {
    Review::query(scope)
        .filter(Review::RATING.gt(3))
        .fetch_all(db)
        .await
}

fn main() {}
