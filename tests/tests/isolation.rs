//! Two tenants with mirror data: whatever tenant B does with tenant A's ids,
//! B sees and changes only its own rows, and A's rows are unchanged after.
//! Runs on SQLite and on PostgreSQL (as a role that is not a superuser and
//! owns no table).

use tenant_tests::models::{Invoice, NewInvoice};
use tenant_tests::suites::*;

#[tokio::test]
async fn sqlite_isolation() {
    isolation_suite(&sqlite_db().await).await;
}

#[tokio::test]
async fn postgres_isolation() {
    let (_pg, db) = postgres_db().await;
    isolation_suite(&db).await;
}

/// On PostgreSQL the invoice key is `(tenant_id, id)`, so B can hold rows
/// with exactly A's ids: B must still see only its own.
#[tokio::test]
async fn postgres_isolation_with_identical_ids() {
    let (pg, db) = postgres_db().await;
    let a = scope("acme");
    let b = scope("globex");
    for amount in [10, 20, 30] {
        Invoice::insert(
            &a,
            NewInvoice {
                amount_cents: amount,
                customer_email: "same@example.com".into(),
            },
        )
        .execute(&db)
        .await
        .expect("insert");
    }
    pg.execute_script(
        "INSERT INTO invoices (id, tenant_id, amount_cents, customer_email)
         SELECT id, 'globex', amount_cents + 1, customer_email FROM invoices WHERE tenant_id = 'acme'",
    )
    .await;
    let (a_before, _) = snapshot(&db, &a).await;
    for inv in &a_before {
        let theirs = Invoice::find(&b, inv.id)
            .fetch_one(&db)
            .await
            .expect("B's twin");
        assert_eq!(theirs.tenant_id.as_str(), "globex");
        assert_eq!(theirs.amount_cents, inv.amount_cents + 1);
        assert_eq!(
            Invoice::update(&b)
                .set(Invoice::AMOUNT_CENTS, -1)
                .filter(Invoice::ID.eq(inv.id))
                .execute(&db)
                .await
                .expect("update"),
            1
        );
    }
    assert_eq!(Invoice::delete(&b).execute(&db).await.expect("delete"), 3);
    let (a_after, _) = snapshot(&db, &a).await;
    assert_eq!(a_after, a_before);
}

#[tokio::test]
async fn sqlite_transactions() {
    transaction_suite(&sqlite_db().await).await;
}

#[tokio::test]
async fn postgres_transactions() {
    let (_pg, db) = postgres_db().await;
    transaction_suite(&db).await;
}

#[tokio::test]
async fn sqlite_global_models_and_column_types() {
    global_and_types_suite(&sqlite_db().await).await;
}

#[tokio::test]
async fn postgres_global_models_and_column_types() {
    let (_pg, db) = postgres_db().await;
    global_and_types_suite(&db).await;
}

#[tokio::test]
async fn sqlite_paging_and_conditions() {
    paging_suite(&sqlite_db().await).await;
}

#[tokio::test]
async fn postgres_paging_and_conditions() {
    let (_pg, db) = postgres_db().await;
    paging_suite(&db).await;
}
