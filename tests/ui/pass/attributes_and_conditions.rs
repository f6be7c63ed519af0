// Every field attribute and the supported column types, with conditions
// built from `and`, `or`, `not`, `!`, `is_in`, `like` and `is_null`.
#![allow(dead_code)]

use tenant_core::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "order_status", rename_all = "lowercase")]
pub enum Status {
    Open,
    Paid,
    Void,
}

#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "orders")]
pub struct Order {
    #[tenant(primary_key, client_generated)]
    pub id: uuid::Uuid,
    #[tenant(tenant_id, rename = "org_id")]
    pub tenant: TenantId,
    #[tenant(rename = "total_cents")]
    pub total: i64,
    pub note: Option<String>,
    pub reference: String,
    pub status: Status,
    pub metadata: serde_json::Value,
    pub paid: bool,
    pub ratio: f64,
    #[tenant(generated)]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

async fn conditions(db: &TenantDb, scope: &TenantScope) -> Result<Vec<Order>, tenant_core::Error> {
    // Every field except the tenant column and the generated one.
    let created: Order = Order::insert(
        scope,
        NewOrder {
            id: uuid::Uuid::new_v4(),
            total: 100,
            note: None,
            reference: "A-1".into(),
            status: Status::Open,
            metadata: serde_json::json!({ "source": "api" }),
            paid: false,
            ratio: 0.5,
        },
    )
    .fetch_one(db)
    .await?;
    let _: Option<Order> = Order::find(scope, created.id).fetch_optional(db).await?;

    let condition: Condition<Order> = Order::TOTAL
        .ge(10)
        .and(Order::TOTAL.lt(1_000))
        .or(Order::NOTE.is_null().not())
        .and(!Order::STATUS.is_in([Status::Void, Status::Paid]))
        .and(Order::REFERENCE.like("A-%"))
        .and(Order::NOTE.like("%urgent%").or(Order::NOTE.is_not_null()))
        .and(Order::NOTE.eq("x").or(Order::NOTE.eq("y".to_owned())))
        .and(Order::PAID.ne(true))
        .and(Order::RATIO.le(1.0))
        .and(Order::CREATED_AT.gt(chrono::Utc::now()))
        .and(Order::ID.is_in(vec![created.id]))
        .and(Order::STATUS.eq(Status::Open));

    Order::update(scope)
        .set(Order::NOTE, "paid late")
        .set(Order::STATUS, Status::Paid)
        .set(Order::METADATA, serde_json::json!({}))
        .filter(Order::ID.eq(created.id))
        .execute(db)
        .await?;

    let tenant_column_name: &str = Order::TENANT.name();
    assert_eq!(tenant_column_name, "org_id");

    Order::query(scope)
        .filter(condition)
        .order_by(Order::CREATED_AT.desc())
        .order_by(Order::ID.asc())
        .offset(10)
        .limit(5)
        .fetch_all(db)
        .await
}

fn main() {}
