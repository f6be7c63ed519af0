// A transaction opened for one scope runs that tenant's statements and those
// of global models.
#![allow(dead_code)]

use tenant_core::prelude::*;

#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
}

#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "plans", global)]
pub struct Plan {
    #[tenant(primary_key)]
    pub id: i64,
    pub name: String,
}

async fn in_transaction(
    db: &TenantDb,
    scope: &TenantScope,
) -> Result<Vec<Invoice>, tenant_core::Error> {
    let mut tx: TenantTransaction = db.begin(&scope).await?;
    assert_eq!(tx.scope(), scope);
    Invoice::insert(scope, NewInvoice { amount_cents: 10 })
        .execute(&mut tx)
        .await?;
    let _: Invoice = Invoice::find(scope, 1).fetch_one(&mut tx).await?;
    let _: i64 = Invoice::query(scope).count(&mut tx).await?;
    Invoice::update(scope)
        .set(Invoice::AMOUNT_CENTS, 20)
        .execute(&mut tx)
        .await?;
    let _: Vec<Plan> = Plan::query().fetch_all(&mut tx).await?;
    let rows = Invoice::query(scope).fetch_all(&mut tx).await?;
    Invoice::delete(scope)
        .filter(Invoice::ID.eq(1))
        .execute(&mut tx)
        .await?;
    tx.commit().await?;

    let tx = db.begin(scope).await?;
    tx.rollback().await?;
    Ok(rows)
}

fn main() {}
