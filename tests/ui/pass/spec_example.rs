// The example of SPEC.md ("The user's code"), verbatim: it must compile.
// `#[rustfmt::skip]` keeps the SPEC's own layout.
#![allow(dead_code, unused_variables)]

use tenant_core::prelude::*;

#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
    pub customer_email: String,
}

#[rustfmt::skip]
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "plans", global)]          // a table with no tenant column, on purpose
pub struct Plan { #[tenant(primary_key)] pub id: i64, pub name: String }

#[rustfmt::skip]
async fn example(db: &TenantDb, scope: &TenantScope) -> Result<(), tenant_core::Error> {
    let big: Vec<Invoice> = Invoice::query(scope)
        .filter(Invoice::AMOUNT_CENTS.gt(10_000))
        .order_by(Invoice::ID.desc())
        .limit(50)
        .fetch_all(db).await?;

    let one: Option<Invoice> = Invoice::find(scope, 42).fetch_optional(db).await?;
    let n: i64 = Invoice::query(scope).count(db).await?;

    let created: Invoice = Invoice::insert(scope, NewInvoice {
        amount_cents: 1200,
        customer_email: "a@example.com".into(),
    }).fetch_one(db).await?;                         // tenant_id comes from the scope

    let changed: u64 = Invoice::update(scope)
        .set(Invoice::AMOUNT_CENTS, 1500)
        .filter(Invoice::ID.eq(created.id))
        .execute(db).await?;

    let gone: u64 = Invoice::delete(scope)
        .filter(Invoice::ID.eq(created.id))
        .execute(db).await?;

    let plans: Vec<Plan> = Plan::query().fetch_all(db).await?;   // global: no scope
    Ok(())
}

fn main() {}
