//! Two tenants with mirror data: whatever tenant B does with tenant A's ids,
//! B sees and changes only its own rows, and A's rows are unchanged after.
//! Runs on SQLite, on PostgreSQL (as a role that is not a superuser and
//! owns no table) and on MySQL/MariaDB (as a user with only SELECT, INSERT,
//! UPDATE and DELETE on the database).

use tenant_core::prelude::*;
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

/// Inserts three invoices for acme through the builders.
async fn seed_acme(db: &TenantDb) {
    for amount in [10, 20, 30] {
        Invoice::insert(
            &scope("acme"),
            NewInvoice {
                amount_cents: amount,
                customer_email: "same@example.com".into(),
            },
        )
        .execute(db)
        .await
        .expect("insert");
    }
}

/// The copy of acme's invoices, with acme's ids, that the owner gives
/// globex (each amount plus one).
const COPY_ACME_TO_GLOBEX: &str =
    "INSERT INTO invoices (id, tenant_id, amount_cents, customer_email)
     SELECT id, 'globex', amount_cents + 1, customer_email FROM invoices WHERE tenant_id = 'acme'";

/// With globex holding rows with exactly acme's ids: globex finds, updates
/// and deletes only its own twins; acme's rows are as they were.
async fn twins_stay_apart(db: &TenantDb, a_before: &[Invoice]) {
    let a = scope("acme");
    let b = scope("globex");
    for inv in a_before {
        let theirs = Invoice::find(&b, inv.id)
            .fetch_one(db)
            .await
            .expect("B's twin");
        assert_eq!(theirs.tenant_id.as_str(), "globex");
        assert_eq!(theirs.amount_cents, inv.amount_cents + 1);
        assert_eq!(
            Invoice::update(&b)
                .set(Invoice::AMOUNT_CENTS, -1)
                .filter(Invoice::ID.eq(inv.id))
                .execute(db)
                .await
                .expect("update"),
            1
        );
    }
    assert_eq!(Invoice::delete(&b).execute(db).await.expect("delete"), 3);
    let (a_after, _) = snapshot(db, &a).await;
    assert_eq!(a_after, a_before);
}

/// On PostgreSQL the invoice key is `(tenant_id, id)`, so B can hold rows
/// with exactly A's ids: B must still see only its own.
#[tokio::test]
async fn postgres_isolation_with_identical_ids() {
    let (pg, db) = postgres_db().await;
    seed_acme(&db).await;
    pg.execute_script(COPY_ACME_TO_GLOBEX).await;
    let (a_before, _) = snapshot(&db, &scope("acme")).await;
    twins_stay_apart(&db, &a_before).await;
}

/// The same on MySQL/MariaDB, whose invoice key is `(tenant_id, id)` too
/// (`id` AUTO_INCREMENT with a non-unique `KEY (id)`).
#[tokio::test]
async fn mysql_isolation_with_identical_ids() {
    let (my, db) = mysql_db().await;
    seed_acme(&db).await;
    my.execute_script(COPY_ACME_TO_GLOBEX).await;
    let (a_before, _) = snapshot(&db, &scope("acme")).await;
    twins_stay_apart(&db, &a_before).await;
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

#[tokio::test]
async fn mysql_isolation() {
    let (_my, db) = mysql_db().await;
    isolation_suite(&db).await;
}

#[tokio::test]
async fn mysql_transactions() {
    let (_my, db) = mysql_db().await;
    transaction_suite(&db).await;
}

#[tokio::test]
async fn mysql_global_models_and_column_types() {
    let (_my, db) = mysql_db().await;
    global_and_types_suite(&db).await;
}

#[tokio::test]
async fn mysql_paging_and_conditions() {
    let (_my, db) = mysql_db().await;
    paging_suite(&db).await;
}
