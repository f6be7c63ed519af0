// A #[tenant(global)] model: every builder works without a scope.
#![allow(dead_code)]

use tenant_core::prelude::*;

#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "plans", global)]
pub struct Plan {
    #[tenant(primary_key, client_generated)]
    pub code: String,
    pub name: String,
    pub price_cents: i64,
}

async fn plans(db: &TenantDb) -> Result<(), tenant_core::Error> {
    let created: Plan = Plan::insert(NewPlan {
        code: "pro".into(),
        name: "Pro".into(),
        price_cents: 2_000,
    })
    .fetch_one(db)
    .await?;
    let _: Option<Plan> = Plan::find(created.code.clone()).fetch_optional(db).await?;
    let _: Vec<Plan> = Plan::query()
        .filter(Plan::PRICE_CENTS.gt(0))
        .fetch_all(db)
        .await?;
    Plan::update()
        .set(Plan::NAME, "Professional")
        .filter(Plan::CODE.eq("pro"))
        .execute(db)
        .await?;
    Plan::delete()
        .filter(Plan::CODE.eq("pro"))
        .execute(db)
        .await?;
    Ok(())
}

fn main() {}
