//! Attacks on the backend-generic core through MySQL/MariaDB and the
//! integer/UUID tenant keys: concrete attempts to make one tenant read,
//! count, change or delete another tenant's rows, or to lose (or un-lose)
//! a write.

use std::time::Duration;

use tenant_core::prelude::*;
use tenant_core::rls::ModelInfo;
use tenant_tests::MyTestDb;
use tenant_tests::models::{Invoice, NewInvoice};
use tenant_tests::suites::{mysql_db, scope};

/// `account_id BIGINT`, as in key_types.rs: integer keys make a misplaced
/// tenant placeholder type-check silently (an `i64` value bound where the
/// tenant should be, and the tenant where a value should be).
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "ledger")]
pub struct Ledger {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub account_id: i64,
    pub amount: i64,
    pub version: i64,
}

const LEDGER_MYSQL: &str = "
CREATE TABLE ledger (
    id BIGINT NOT NULL AUTO_INCREMENT,
    account_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (account_id, id),
    KEY (id)
);
";

fn invoice(amount: i64, email: &str) -> NewInvoice {
    NewInvoice {
        amount_cents: amount,
        customer_email: email.to_owned(),
    }
}

/// Every MySQL statement shape whose placeholders mix the tenant with other
/// values — SET values and increments before the tenant, IN lists, nested
/// OR/NOT, LIMIT/OFFSET, COUNT over a page, by-key writes — run with integer
/// keys whose values are the other tenant's key, so a tenant bound one
/// position off would silently hit the mirror tenant. Tenant 2's rows must
/// stay byte-identical whatever tenant 1 does, and tenant 1's statements
/// must do exactly what they say.
#[tokio::test]
async fn mysql_integer_keys_every_mixed_bind_shape_stays_in_its_tenant() {
    let mut my = MyTestDb::create().await;
    my.execute_script(LEDGER_MYSQL).await;
    let user = my.create_app_user().await;
    let db = TenantDb::mysql(my.pool_as(&user, 2).await);
    let (one, two) = (
        TenantScope::try_new(1_i64).expect("key"),
        TenantScope::try_new(2_i64).expect("key"),
    );
    // Amounts and versions are the tenants' own keys: every value a
    // misplaced placeholder could receive names a real tenant.
    let mut ids = Vec::new();
    for scope in [&one, &two] {
        for (amount, version) in [(1, 2), (2, 1), (2, 2), (1, 1)] {
            ids.push(
                Ledger::insert(scope, NewLedger { amount, version })
                    .fetch_one(&db)
                    .await
                    .expect("insert")
                    .id,
            );
        }
    }
    let before = Ledger::query(&two)
        .order_by(Ledger::ID.asc())
        .fetch_all(&db)
        .await
        .expect("two's rows");
    assert_eq!(before.len(), 4);

    // UPDATE: a SET, an increment, then the tenant, then an IN list and a
    // nested OR/NOT filter.
    let changed = Ledger::update(&one)
        .set(Ledger::VERSION, 2)
        .increment(Ledger::AMOUNT, 2)
        .filter(Ledger::AMOUNT.is_in([1_i64, 2]))
        .filter(Ledger::VERSION.eq(2).or(!Ledger::AMOUNT.eq(1)))
        .execute(&db)
        .await
        .expect("update");
    // Tenant 1's rows (amount, version): (1,2) (2,1) (2,2) (1,1); the filter
    // keeps (1,2) (2,1) (2,2).
    assert_eq!(changed, 3);
    // Increments only, twice, then the tenant (the tenant's own key as delta).
    assert_eq!(
        Ledger::update(&one)
            .increment(Ledger::VERSION, 1)
            .increment(Ledger::AMOUNT, 1)
            .filter(Ledger::AMOUNT.eq(1))
            .execute(&db)
            .await
            .expect("increments"),
        1
    );
    // By-key writes on the other tenant's ids are NotFound; on own ids 1.
    for other in &ids[4..] {
        assert!(matches!(
            Ledger::update_by_id(&one, *other)
                .set(Ledger::AMOUNT, 2)
                .increment(Ledger::VERSION, 1)
                .execute(&db)
                .await,
            Err(Error::NotFound)
        ));
        assert!(matches!(
            Ledger::delete_by_id(&one, *other).execute(&db).await,
            Err(Error::NotFound)
        ));
    }
    assert_eq!(
        Ledger::update_by_id(&one, ids[0])
            .set(Ledger::AMOUNT, 2)
            .execute(&db)
            .await
            .expect("own by-key update"),
        1
    );
    // Paging and COUNT over a page: LIMIT/OFFSET equal to the keys.
    let page = Ledger::query(&one)
        .filter(
            Ledger::AMOUNT
                .ge(1)
                .and(Ledger::VERSION.is_in([1_i64, 2, 3])),
        )
        .order_by(Ledger::ID.asc())
        .limit(2)
        .offset(1)
        .fetch_all(&db)
        .await
        .expect("page");
    assert_eq!(page.len(), 2);
    assert!(page.iter().all(|r| r.account_id == 1), "{page:?}");
    assert_eq!(
        Ledger::query(&one)
            .filter(Ledger::AMOUNT.ge(1))
            .order_by(Ledger::ID.asc())
            .limit(2)
            .offset(1)
            .count(&db)
            .await
            .expect("count over a page"),
        2
    );
    assert_eq!(
        Ledger::query(&one)
            .offset(2)
            .count(&db)
            .await
            .expect("offset only"),
        2
    );
    // DELETE with an IN list and a filter.
    assert_eq!(
        Ledger::delete(&one)
            .filter(Ledger::ID.is_in(ids.clone()))
            .filter(Ledger::AMOUNT.ne(2))
            .execute(&db)
            .await
            .expect("delete"),
        2
    );

    let after = Ledger::query(&two)
        .order_by(Ledger::ID.asc())
        .fetch_all(&db)
        .await
        .expect("two's rows");
    assert_eq!(before, after, "tenant 2's rows changed");
    // And tenant 1's own rows went where the statements said.
    let own = Ledger::query(&one)
        .order_by(Ledger::ID.asc())
        .fetch_all(&db)
        .await
        .expect("one's rows");
    assert!(
        own.iter().all(|r| r.account_id == 1 && r.amount == 2),
        "{own:?}"
    );
}

/// MySQL/MariaDB: a deadlock rolls back the *whole* InnoDB transaction and
/// ends it, so the statements a `TenantTransaction` runs after that error
/// run in autocommit mode and are committed at once. `commit()` then
/// reports `Error::RolledBack` (the failed flag is set) and `rollback()`
/// succeeds — yet the later write is in the database. On PostgreSQL the
/// same code gets "current transaction is aborted" for every later
/// statement. The guarantee checked: a transaction the framework reports
/// as rolled back leaves no write behind.
#[tokio::test]
async fn mysql_writes_after_a_deadlock_in_a_tenant_transaction_are_not_committed() {
    let (my, db) = mysql_db().await;
    let acme = scope("acme");
    let globex = scope("globex");
    let r1 = Invoice::insert(&acme, invoice(1, "r1@a"))
        .fetch_one(&db)
        .await
        .expect("r1");
    let r2 = Invoice::insert(&acme, invoice(2, "r2@a"))
        .fetch_one(&db)
        .await
        .expect("r2");
    for i in 0..40 {
        Invoice::insert(&globex, invoice(i, "g@g"))
            .execute(&db)
            .await
            .expect("globex rows");
    }

    let mut tx = db.begin(&acme).await.expect("begin");
    Invoice::update(&acme)
        .set(Invoice::AMOUNT_CENTS, 10)
        .filter(Invoice::ID.eq(r1.id))
        .execute(&mut tx)
        .await
        .expect("lock r1");

    // Another session (a batch job) locks r2 after changing many rows, so
    // InnoDB picks the framework's smaller transaction as the victim.
    let mut other = my.owner.acquire().await.expect("acquire");
    for sql in [
        "BEGIN",
        "UPDATE invoices SET amount_cents = amount_cents + 1 WHERE tenant_id = 'globex'",
    ] {
        sqlx::query(sql).execute(&mut *other).await.expect(sql);
    }
    sqlx::query("UPDATE invoices SET amount_cents = 20 WHERE id = ?")
        .bind(r2.id)
        .execute(&mut *other)
        .await
        .expect("lock r2");

    let (framework, batch) = tokio::join!(
        Invoice::update(&acme)
            .set(Invoice::AMOUNT_CENTS, 11)
            .filter(Invoice::ID.eq(r2.id))
            .execute(&mut tx),
        async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            sqlx::query("UPDATE invoices SET amount_cents = 21 WHERE id = ?")
                .bind(r1.id)
                .execute(&mut *other)
                .await
        }
    );
    let deadlocked =
        matches!(&framework, Err(Error::Database(e)) if e.to_string().contains("eadlock"));
    assert!(
        deadlocked,
        "set-up: expected the framework's update to be the deadlock victim: {framework:?} / {batch:?}"
    );
    batch.expect("the batch job goes on");
    sqlx::query("COMMIT")
        .execute(&mut *other)
        .await
        .expect("commit batch");

    // The application goes on with the transaction it still holds (e.g. it
    // treats the failed update as "not applicable") and writes more.
    let late = Invoice::insert(&acme, invoice(777, "after-deadlock@a"))
        .execute(&mut tx)
        .await;
    let outcome = tx.commit().await;
    assert!(
        matches!(outcome, Err(Error::RolledBack)),
        "commit after a failed statement: {outcome:?}"
    );
    let persisted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM invoices WHERE customer_email = 'after-deadlock@a'",
    )
    .fetch_one(&my.owner)
    .await
    .expect("count");
    assert_eq!(
        persisted, 0,
        "the insert after the deadlock ({late:?}) was committed, though commit() reported \
         the transaction rolled back: a retry of the whole transaction writes it twice"
    );
}

/// The MySQL doctor calls a tenant column without a collation "compared
/// byte by byte". For a `TenantId` (text) key over an integer column that is
/// false: MySQL compares an INT column with a string as numbers, so the
/// valid tenant ids "07" and "7e0" are the tenant "7". Reads fail to decode
/// (sqlx refuses INT for a String), but COUNT, UPDATE and DELETE do not
/// decode: tenant "07" counts and deletes tenant "7"'s rows. `verify`
/// reports the column type; the doctor, the MySQL safety check, passes.
#[tokio::test]
async fn mysql_doctor_refuses_an_integer_tenant_column_for_a_text_key() {
    let mut my = MyTestDb::create().await;
    my.execute_script(
        "CREATE TABLE invoices (
            id BIGINT NOT NULL AUTO_INCREMENT,
            tenant_id BIGINT NOT NULL,
            amount_cents BIGINT NOT NULL,
            customer_email VARCHAR(255) NOT NULL,
            PRIMARY KEY (tenant_id, id),
            KEY (id)
        );",
    )
    .await;
    let user = my.create_app_user().await;
    let pool = my.pool_as(&user, 2).await;
    let db = TenantDb::mysql(pool.clone());
    let (seven, alias) = (scope("7"), scope("07"));
    Invoice::insert(&seven, invoice(700, "seven@x"))
        .execute(&db)
        .await
        .expect("tenant 7 writes");
    let seen_by_alias = Invoice::query(&alias).count(&db).await;
    let deleted_by_alias = Invoice::delete(&scope("7e0")).execute(&db).await;

    let report = tenant_core::doctor::diagnose_mysql(&pool, &[ModelInfo::of::<Invoice>()])
        .await
        .expect("doctor");
    let verify = db
        .verify(&[ModelInfo::of::<Invoice>()])
        .await
        .expect("verify");
    assert!(
        !report.passed(),
        "the doctor passes a BIGINT tenant column for a TenantId key, while tenant \"07\" \
         counts {seen_by_alias:?} of tenant \"7\"'s rows and tenant \"7e0\" deletes \
         {deleted_by_alias:?} of them (verify reports column_type: {})\n{report}",
        verify.failed("invoices", "column_type")
    );
}
