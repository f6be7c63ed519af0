//! Column constants come from the derive. A hand-made `Column` (the
//! constructor is public only for generated code) still cannot move a row to
//! another tenant or break out of its quoted identifier.

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
    let forged: Column<Invoice, TenantId> = Column::new("tenant_id");
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
async fn a_forged_column_name_stays_one_quoted_identifier() {
    let db = sqlite_db().await;
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
    let evil: Column<Invoice, i64> = Column::new(r#"id" IS NOT NULL OR 1 = 1 OR "id"#);
    let query = Invoice::query(&scope("acme")).filter(evil.eq(0));
    assert!(
        query
            .to_sql()
            .contains(r#""id"" IS NOT NULL OR 1 = 1 OR ""id" = $2"#),
        "{}",
        query.to_sql()
    );
    let result = query.fetch_all(&db).await;
    // The whole text is one quoted name (SQLite even reads an unknown quoted
    // name as a string): an error or no row, never rows of another tenant.
    assert!(result.as_ref().map_or(true, Vec::is_empty), "{result:?}");
}

/// MySQL quotes with backticks: a forged name holding backticks stays one
/// identifier there too (each backtick doubled), and the statement fails or
/// finds nothing; it never reads another tenant's rows.
#[tokio::test]
async fn a_forged_column_name_stays_one_backtick_quoted_identifier_on_mysql() {
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
    let evil: Column<Invoice, i64> = Column::new("id` IS NOT NULL OR 1 = 1 OR `id");
    let query = Invoice::query(&scope("acme")).filter(evil.eq(0));
    let sql = query.to_sql_for(tenant_core::Backend::MySql);
    assert!(
        sql.contains("`id`` IS NOT NULL OR 1 = 1 OR ``id` = ?"),
        "{sql}"
    );
    let result = query.fetch_all(&db).await;
    assert!(
        result.is_err(),
        "an unknown column must be an error: {result:?}"
    );
    let forged: Column<Invoice, TenantId> = Column::new("tenant_id");
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
