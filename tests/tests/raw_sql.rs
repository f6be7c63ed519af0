//! `query_as!`: raw SQL naming tenant tables through their models. Tenants
//! acme and globex hold mirrored rows; every query through the macro, on
//! SQLite, PostgreSQL, PostgreSQL with row-level security (as a role that
//! owns no table and lacks BYPASSRLS) and MariaDB, returns only the scope's
//! rows: joins, aggregates, CTEs, subqueries, UNION, LATERAL.

use tenant_core::prelude::*;
use tenant_core::query_as;
use tenant_tests::every_backend;
use tenant_tests::models::{
    self, Invoice, NewInvoice, NewPayment, NewPlan, POSTGRES_SCHEMA, Payment, Plan,
};
use tenant_tests::suites::scope;

/// The same table as [`Invoice`], declared global by mistake: the macro
/// expands it to the bare table. Only row-level security can still keep
/// tenants apart here.
#[derive(Debug, TenantModel)]
#[tenant(table = "invoices", global)]
pub struct InvoiceRow {
    #[tenant(primary_key)]
    pub id: i64,
    pub amount_cents: i64,
}

/// A row struct read by name.
#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Line {
    email: String,
    amount_cents: i64,
    paid: i64,
}

/// Three invoices per tenant (100, 200, 300 cents, e-mail
/// `<tenant>@example.com`), a payment of the 300 one, and one more invoice
/// of acme's with a quote in its e-mail.
async fn seed(db: &TenantDb) {
    for tenant in ["acme", "globex"] {
        let s = scope(tenant);
        for amount in [100, 200, 300] {
            Invoice::insert(
                &s,
                NewInvoice {
                    amount_cents: amount,
                    customer_email: format!("{tenant}@example.com"),
                },
            )
            .execute(db)
            .await
            .expect("invoice");
        }
        let last = Invoice::query(&s)
            .filter(Invoice::AMOUNT_CENTS.eq(300))
            .fetch_one(db)
            .await
            .expect("the 300 invoice")
            .id;
        Payment::insert(
            &s,
            NewPayment {
                invoice_id: last,
                amount_cents: 300,
            },
        )
        .execute(db)
        .await
        .expect("payment");
    }
    Plan::insert(NewPlan { name: "pro".into() })
        .execute(db)
        .await
        .expect("plan");
}

async fn backends() -> (tenant_tests::Guards, Vec<(&'static str, TenantDb)>) {
    let (guards, dbs) = every_backend(
        models::SQLITE_SCHEMA,
        POSTGRES_SCHEMA,
        &models::postgres_policies(),
        models::MYSQL_SCHEMA,
    )
    .await;
    for (_, db) in &dbs {
        seed(db).await;
    }
    (guards, dbs)
}

#[tokio::test]
async fn every_query_shape_returns_only_the_scopes_rows() {
    let (_guards, dbs) = backends().await;
    for (name, db) in &dbs {
        for tenant in ["acme", "globex"] {
            let s = scope(tenant);
            let email = format!("{tenant}@example.com");

            // A join of two models, with a struct row.
            let lines: Vec<Line> = query_as!(
                Line,
                &s,
                "SELECT i.customer_email AS email, i.amount_cents, p.amount_cents AS paid
                 FROM {Invoice} i JOIN {Payment} p ON p.invoice_id = i.id
                 ORDER BY i.id",
            )
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: join: {e}"));
            assert_eq!(
                lines,
                [Line {
                    email: email.clone(),
                    amount_cents: 300,
                    paid: 300
                }],
                "{name} {tenant}"
            );

            // Aggregates over an unaliased model.
            let (n, max): (i64, i64) = query_as!(
                (i64, i64),
                &s,
                "SELECT COUNT(*), MAX(invoices.amount_cents) FROM {Invoice}"
            )
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: aggregate: {e}"));
            assert_eq!((n, max), (3, 300), "{name} {tenant}");

            // A CTE, a parameter, the CTE joined with a model.
            let rows: Vec<(String, i64)> = query_as!(
                (String, i64),
                &s,
                "WITH big AS (SELECT id, customer_email, amount_cents FROM {Invoice} WHERE amount_cents >= ?)
                 SELECT big.customer_email, COUNT(p.id) FROM big LEFT JOIN {Payment} p ON p.invoice_id = big.id
                 GROUP BY big.id, big.customer_email ORDER BY big.id",
                200_i64,
            )
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: cte: {e}"));
            assert_eq!(
                rows,
                [(email.clone(), 0), (email.clone(), 1)],
                "{name} {tenant}"
            );

            // IN (subquery), EXISTS, and a UNION's two arms.
            let rows: Vec<(i64,)> = query_as!(
                (i64,),
                &s,
                "SELECT i.amount_cents FROM {Invoice} i
                 WHERE i.id IN (SELECT invoice_id FROM {Payment})
                   AND EXISTS (SELECT 1 FROM {Payment} q WHERE q.invoice_id = i.id)
                 UNION ALL
                 SELECT amount_cents FROM {Payment}"
            )
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: subqueries: {e}"));
            assert_eq!(rows, [(300,), (300,)], "{name} {tenant}");

            // A global model beside a tenant one.
            let rows: Vec<(String, i64)> = query_as!(
                (String, i64),
                &s,
                "SELECT p.name, (SELECT COUNT(*) FROM {Invoice}) FROM {Plan} p"
            )
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: global: {e}"));
            assert_eq!(rows, [("pro".to_owned(), 3)], "{name} {tenant}");
        }

        // LATERAL (PostgreSQL; SQLite and MariaDB have none).
        if name.starts_with("postgres") {
            let rows: Vec<(i64, i64)> = query_as!(
                (i64, i64),
                &scope("acme"),
                "SELECT i.amount_cents, l.n FROM {Invoice} i,
                 LATERAL (SELECT COUNT(*) AS n FROM {Payment} p WHERE p.invoice_id = i.id) l
                 ORDER BY i.amount_cents"
            )
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: lateral: {e}"));
            assert_eq!(rows, [(100, 0), (200, 0), (300, 1)], "{name}");
        }
    }
}

#[tokio::test]
async fn parameters_are_bound_not_spliced() {
    let (_guards, dbs) = backends().await;
    for (name, db) in &dbs {
        let acme = scope("acme");
        let quoted = "o'brien@example.com";
        Invoice::insert(
            &acme,
            NewInvoice {
                amount_cents: 1,
                customer_email: quoted.into(),
            },
        )
        .execute(db)
        .await
        .expect("insert");
        // A quote in a value matches itself.
        let rows: Vec<(String,)> = query_as!(
            (String,),
            &acme,
            "SELECT customer_email FROM {Invoice} WHERE customer_email = ?",
            quoted,
        )
        .fetch_all(db)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rows, [(quoted.to_owned(),)], "{name}");
        // Injection text is a value: it matches no row, and widens nothing.
        let attack = String::from("x' OR '1'='1");
        let (n,): (i64,) = query_as!(
            (i64,),
            &acme,
            "SELECT COUNT(*) FROM {Invoice} WHERE customer_email = ?",
            &attack,
        )
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, 0, "{name}");
        // And the SQL sent holds placeholders only.
        let q = query_as!(
            (i64,),
            &acme,
            "SELECT COUNT(*) FROM {Invoice} WHERE customer_email = ?",
            &attack,
        );
        for backend in tenant_core::Backend::ALL {
            let sql = q.to_sql(backend);
            assert!(!sql.contains("OR '1'") && !sql.contains("acme"), "{sql}");
        }
    }
}

#[tokio::test]
async fn a_transaction_runs_its_own_tenant_only() {
    let (_guards, dbs) = backends().await;
    for (name, db) in &dbs {
        let acme = scope("acme");
        let mut tx = db.begin(&acme).await.expect("begin");
        let (n,): (i64,) = query_as!((i64,), &acme, "SELECT COUNT(*) FROM {Invoice}")
            .fetch_one(&mut tx)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, 3, "{name}");
        let other = query_as!((i64,), &scope("globex"), "SELECT COUNT(*) FROM {Invoice}")
            .fetch_one(&mut tx)
            .await;
        assert!(
            matches!(other, Err(tenant_core::Error::ScopeMismatch { .. })),
            "{name}: {other:?}"
        );
        tx.rollback().await.expect("rollback");
    }
}

#[tokio::test]
async fn row_level_security_applies_to_raw_sql() {
    let (_guards, dbs) = backends().await;
    for (name, db) in &dbs {
        if !name.starts_with("postgres") {
            continue;
        }
        // `InvoiceRow` is the bare table: without policies it shows both
        // tenants' rows; with them, only the scope's.
        let (all, scoped): (i64, i64) = query_as!(
            (i64, i64),
            &scope("acme"),
            "SELECT (SELECT COUNT(*) FROM {InvoiceRow}), (SELECT COUNT(*) FROM {Invoice})"
        )
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected_all = if db.uses_rls() { 3 } else { 6 };
        assert_eq!((all, scoped), (expected_all, 3), "{name}");
        if db.uses_rls() {
            // The setting was transaction-local: nothing is left on the pool.
            let pool = db
                .raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
                .expect("postgres");
            for _ in 0..4 {
                let setting: Option<String> =
                    sqlx::query_scalar("SELECT current_setting('app.tenant_id', true)")
                        .fetch_one(pool)
                        .await
                        .expect("setting");
                assert!(setting.unwrap_or_default().is_empty(), "{name}");
            }
        }
    }
}
