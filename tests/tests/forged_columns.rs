//! Column constants come from the derive. A hand-made `Column` (the
//! constructor is public only for generated code) names a column by its
//! index in the model's columns, so it can only be one of the derive's
//! columns — never other text — and it still cannot move a row to another
//! tenant.

use tenant_core::Column;
use tenant_core::prelude::*;
use tenant_tests::models::Invoice;
use tenant_tests::models::NewInvoice;
use tenant_tests::suites::{scope, sqlite_db};

#[tokio::test]
async fn a_forged_tenant_column_cannot_be_set() {
    let db = sqlite_db().await;
    let acme = scope("acme");
    let row = Invoice::insert(
        &acme,
        NewInvoice {
            amount_cents: 1,
            customer_email: "a@x".into(),
        },
    )
    .fetch_one(&db)
    .await
    .expect("insert");
    let forged: Column<Invoice, TenantId> = Column::new(1);
    let result = Invoice::update(&acme)
        .set(forged, TenantId::parse("globex").expect("id"))
        .filter(Invoice::ID.eq(row.id))
        .execute(&db)
        .await;
    assert!(
        matches!(result, Err(Error::TenantColumnNotSettable { .. })),
        "{result:?}"
    );
    assert_eq!(
        Invoice::find(&acme, row.id)
            .fetch_one(&db)
            .await
            .expect("still acme's"),
        row
    );
}

#[tokio::test]
async fn a_forged_primary_key_cannot_be_set() {
    let db = sqlite_db().await;
    let acme = scope("acme");
    let row = Invoice::insert(
        &acme,
        NewInvoice {
            amount_cents: 1,
            customer_email: "a@x".into(),
        },
    )
    .fetch_one(&db)
    .await
    .expect("insert");
    assert_eq!(<Invoice as tenant_core::Model>::COLUMNS[0], "id");
    let forged: Column<Invoice, i64> = Column::new(0);
    let result = Invoice::update(&acme)
        .set(forged, row.id + 100)
        .filter(Invoice::ID.eq(row.id))
        .execute(&db)
        .await;
    assert!(
        matches!(result, Err(Error::PrimaryKeyNotSettable { .. })),
        "{result:?}"
    );
    assert_eq!(
        Invoice::find(&acme, row.id)
            .fetch_one(&db)
            .await
            .expect("same key"),
        row
    );
}

#[test]
fn a_forged_column_is_one_of_the_models_columns_or_nothing() {
    let columns = <Invoice as tenant_core::Model>::COLUMNS;
    for (index, name) in columns.iter().enumerate() {
        let forged: Column<Invoice, i64> = Column::new(index);
        assert_eq!(forged.name(), *name);
    }
    // Past the model's columns there is no column to name: refused where
    // it is made (in a `const`, a compile error), before any SQL exists.
    let past = std::panic::catch_unwind(|| Column::<Invoice, i64>::new(columns.len()));
    assert!(past.is_err());
}

/// MySQL takes the tenant column in any case too: a forged tenant column
/// is refused there as on SQLite.
#[tokio::test]
async fn a_forged_tenant_column_cannot_be_set_on_mysql() {
    let (_my, db) = tenant_tests::suites::mysql_db().await;
    for tenant in ["acme", "globex"] {
        Invoice::insert(
            &scope(tenant),
            NewInvoice {
                amount_cents: 1,
                customer_email: "a@x".into(),
            },
        )
        .execute(&db)
        .await
        .expect("insert");
    }
    let forged: Column<Invoice, TenantId> = Column::new(1);
    let moved = Invoice::update(&scope("acme"))
        .set(forged, TenantId::parse("globex").expect("id"))
        .execute(&db)
        .await;
    assert!(
        matches!(moved, Err(Error::TenantColumnNotSettable { .. })),
        "{moved:?}"
    );
    assert_eq!(
        Invoice::query(&scope("globex"))
            .count(&db)
            .await
            .expect("count"),
        1
    );
}
