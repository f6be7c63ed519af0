//! Ways across tenants found by attacking the framework, each tested as a
//! class: on SQLite, PostgreSQL, PostgreSQL with row-level security and
//! MySQL/MariaDB where it applies. Every test here failed before its fix.

use tenant_core::prelude::*;
use tenant_tests::models::{Invoice, NewInvoice};
use tenant_tests::suites::{mysql_db, postgres_db, postgres_rls_db, scope, sqlite_db};
use tenant_tests::{MyTestDb, PgTestDb};

fn new_invoice(amount: i64) -> NewInvoice {
    NewInvoice {
        amount_cents: amount,
        customer_email: "x@example.com".into(),
    }
}

/// The throwaway server databases behind the handles: they must live as
/// long as the handles.
type Guards = (Vec<PgTestDb>, MyTestDb);

/// The four kinds of database, with the test schema.
async fn every_db() -> (Guards, Vec<(&'static str, TenantDb)>) {
    let (pg, plain) = postgres_db().await;
    let (pg_rls, rls, _) = postgres_rls_db(2).await;
    let (my, mysql) = mysql_db().await;
    (
        (vec![pg, pg_rls], my),
        vec![
            ("sqlite", sqlite_db().await),
            ("postgres", plain),
            ("postgres+rls", rls),
            ("mysql", mysql),
        ],
    )
}

async fn acme_amounts(db: &TenantDb) -> Vec<i64> {
    Invoice::query(&scope("acme"))
        .order_by(Invoice::ID.asc())
        .fetch_all(db)
        .await
        .expect("list")
        .into_iter()
        .map(|i| i.amount_cents)
        .collect()
}

// --- 2. The tenant column in another case --------------------------------

/// SQLite takes `"Tenant_Id"` for `tenant_id` (and MySQL takes
/// `` `Tenant_Id` ``: its column names never depend on case). A column is
/// named by its index in the model's columns, which the derive keeps
/// distinct ignoring case, so no spelling of the tenant column exists but
/// its own index: a hand-made constant with that index must not be
/// settable, or acme's rows move to globex.
#[tokio::test]
async fn the_tenant_column_cannot_be_set_in_any_case() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        Invoice::insert(&scope("acme"), new_invoice(1))
            .execute(db)
            .await
            .expect("seed");
        let columns = <Invoice as tenant_core::Model>::COLUMNS;
        let tenant_columns = (0..columns.len())
            .filter(|&i| columns[i].eq_ignore_ascii_case("TENANT_ID"))
            .collect::<Vec<_>>();
        assert_eq!(tenant_columns, [1]);
        for spelling in tenant_columns {
            let column = Column::<Invoice, TenantId>::new(spelling);
            let globex = TenantId::parse("globex").expect("id");
            let result = Invoice::update(&scope("acme"))
                .set(column, globex)
                .execute(db)
                .await;
            assert!(
                matches!(result, Err(Error::TenantColumnNotSettable { .. })),
                "{name}: setting {spelling:?} gave {result:?}"
            );
        }
        assert_eq!(acme_amounts(db).await, [1], "{name}: acme's row moved");
        assert_eq!(
            Invoice::query(&scope("globex"))
                .count(db)
                .await
                .expect("count"),
            0,
            "{name}"
        );
    }
}

// --- 3. A column the table does not have -----------------------------------

/// A model whose column the table lacks: the table's tenant column is
/// `org_id`, the model says `tenant_id`.
const ORG_TABLE: &str = "CREATE TABLE invoices (id INTEGER PRIMARY KEY AUTOINCREMENT, \
    org_id TEXT NOT NULL, amount_cents INTEGER NOT NULL, customer_email TEXT NOT NULL);
    INSERT INTO invoices (org_id, amount_cents, customer_email) VALUES
        ('acme', 1, 'a@example.com'), ('globex', 2, 'g@example.com');";

/// A model with a misspelt ordinary column.
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "invoices")]
pub struct Misspelt {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub customer_emial: String,
}

/// SQLite reads an unknown double-quoted name as a string literal: the
/// tenant named `tenant_id` saw and rewrote every row, everyone else saw
/// nothing, and a misspelt column read back its own name. Each is an error.
#[tokio::test]
async fn an_unknown_column_is_an_error_not_a_string() {
    let pool = tenant_tests::sqlite_memory().await;
    sqlx::raw_sql(ORG_TABLE)
        .execute(&pool)
        .await
        .expect("schema");
    let db = TenantDb::sqlite(pool.clone());
    for tenant in ["tenant_id", "acme"] {
        let s = scope(tenant);
        let list = Invoice::query(&s).fetch_all(&db).await;
        assert!(list.is_err(), "{tenant}: list gave {list:?}");
        let count = Invoice::query(&s).count(&db).await;
        assert!(count.is_err(), "{tenant}: count gave {count:?}");
        let find = Invoice::find(&s, 1).fetch_optional(&db).await;
        assert!(find.is_err(), "{tenant}: find gave {find:?}");
        let filtered = Invoice::query(&s)
            .filter(Invoice::AMOUNT_CENTS.gt(0))
            .order_by(Invoice::ID.desc())
            .fetch_all(&db)
            .await;
        assert!(
            filtered.is_err(),
            "{tenant}: filtered list gave {filtered:?}"
        );
        let update = Invoice::update(&s)
            .set(Invoice::AMOUNT_CENTS, 999)
            .execute(&db)
            .await;
        assert!(update.is_err(), "{tenant}: update gave {update:?}");
        let increment = Invoice::update(&s)
            .increment(Invoice::AMOUNT_CENTS, 1)
            .execute(&db)
            .await;
        assert!(increment.is_err(), "{tenant}: increment gave {increment:?}");
        let delete = Invoice::delete(&s).execute(&db).await;
        assert!(delete.is_err(), "{tenant}: delete gave {delete:?}");
    }
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT org_id, amount_cents FROM invoices ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("raw");
    assert_eq!(
        rows,
        [("acme".to_owned(), 1), ("globex".to_owned(), 2)],
        "rows were changed"
    );

    // A misspelt ordinary column, in the select list and in a filter.
    let (_pg, pg_db) = postgres_db().await;
    let (_my, my_db) = mysql_db().await;
    let sqlite = sqlite_db().await;
    for (name, db) in [("sqlite", &sqlite), ("postgres", &pg_db), ("mysql", &my_db)] {
        Invoice::insert(&scope("acme"), new_invoice(5))
            .execute(db)
            .await
            .expect("seed");
        let read = Misspelt::query(&scope("acme")).fetch_all(db).await;
        assert!(read.is_err(), "{name}: misspelt column read back {read:?}");
        let by_id = Misspelt::find(&scope("acme"), 1).fetch_optional(db).await;
        assert!(by_id.is_err(), "{name}: {by_id:?}");
        let filter = Misspelt::query(&scope("acme"))
            .filter(Misspelt::CUSTOMER_EMIAL.eq("customer_emial"))
            .count(db)
            .await;
        assert!(
            filter.is_err(),
            "{name}: filter on a misspelt column gave {filter:?}"
        );
    }
}

/// MySQL reads a double-quoted name as a string too (without ANSI_QUOTES):
/// the builders quote with backticks there, so a model whose tenant column
/// the table lacks fails on every statement and changes nothing.
#[tokio::test]
async fn an_unknown_column_is_an_error_on_mysql() {
    let mut my = MyTestDb::create().await;
    my.execute_script(
        "CREATE TABLE invoices (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            org_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
            amount_cents BIGINT NOT NULL, customer_email VARCHAR(255) NOT NULL);
         INSERT INTO invoices (org_id, amount_cents, customer_email) VALUES
            ('acme', 1, 'a@example.com'), ('globex', 2, 'g@example.com');",
    )
    .await;
    let user = my.create_app_user().await;
    let db = TenantDb::mysql(my.pool_as(&user, 2).await);
    for tenant in ["tenant_id", "acme"] {
        let s = scope(tenant);
        let list = Invoice::query(&s).fetch_all(&db).await;
        assert!(list.is_err(), "{tenant}: list gave {list:?}");
        let count = Invoice::query(&s).count(&db).await;
        assert!(count.is_err(), "{tenant}: count gave {count:?}");
        let find = Invoice::find(&s, 1).fetch_optional(&db).await;
        assert!(find.is_err(), "{tenant}: find gave {find:?}");
        let update = Invoice::update(&s)
            .set(Invoice::AMOUNT_CENTS, 999)
            .execute(&db)
            .await;
        assert!(update.is_err(), "{tenant}: update gave {update:?}");
        let increment = Invoice::update(&s)
            .increment(Invoice::AMOUNT_CENTS, 1)
            .execute(&db)
            .await;
        assert!(increment.is_err(), "{tenant}: increment gave {increment:?}");
        let delete = Invoice::delete(&s).execute(&db).await;
        assert!(delete.is_err(), "{tenant}: delete gave {delete:?}");
    }
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT org_id, amount_cents FROM invoices ORDER BY id")
            .fetch_all(&my.owner)
            .await
            .expect("raw");
    assert_eq!(
        rows,
        [("acme".to_owned(), 1), ("globex".to_owned(), 2)],
        "rows were changed"
    );
}

// --- 10. Writes by key to another tenant's row ------------------------------

/// Updating or deleting another tenant's row by id is `NotFound`, not a
/// silent `Ok(0)`; the row is untouched.
#[tokio::test]
async fn writes_by_key_to_another_tenants_row_are_not_found() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let acme = scope("acme");
        let globex = scope("globex");
        let row = Invoice::insert(&acme, new_invoice(7))
            .fetch_one(db)
            .await
            .expect("insert");
        let update = Invoice::update_by_id(&globex, row.id)
            .set(Invoice::AMOUNT_CENTS, 0)
            .execute(db)
            .await;
        assert!(matches!(update, Err(Error::NotFound)), "{name}: {update:?}");
        let delete = Invoice::delete_by_id(&globex, row.id).execute(db).await;
        assert!(matches!(delete, Err(Error::NotFound)), "{name}: {delete:?}");
        assert_eq!(acme_amounts(db).await, [7], "{name}: acme's row changed");

        let own = Invoice::update_by_id(&acme, row.id)
            .set(Invoice::AMOUNT_CENTS, 8)
            .execute(db)
            .await;
        assert_eq!(own.expect("own update"), 1, "{name}");
        assert_eq!(acme_amounts(db).await, [8], "{name}");
        assert_eq!(
            Invoice::delete_by_id(&acme, row.id)
                .execute(db)
                .await
                .expect("own delete"),
            1,
            "{name}"
        );
        let again = Invoice::delete_by_id(&acme, row.id).execute(db).await;
        assert!(matches!(again, Err(Error::NotFound)), "{name}: {again:?}");
    }
}

// --- 6. Increments that leave the column's type -----------------------------

/// Counters of both integer widths.
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "counters")]
pub struct Counter {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub small: i32,
    pub big: i64,
    pub ratio: f64,
}

const COUNTERS_SQLITE: &str = "CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, \
    tenant_id TEXT NOT NULL, small INTEGER NOT NULL, big INTEGER NOT NULL, ratio REAL NOT NULL)";
const COUNTERS_POSTGRES: &str = "CREATE TABLE counters (id BIGINT GENERATED BY DEFAULT AS IDENTITY \
    PRIMARY KEY, tenant_id TEXT NOT NULL, small INTEGER NOT NULL, big BIGINT NOT NULL, \
    ratio DOUBLE PRECISION NOT NULL)";
const COUNTERS_MYSQL: &str = "CREATE TABLE counters (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \
    small INT NOT NULL, big BIGINT NOT NULL, ratio DOUBLE NOT NULL)";

/// The counters table on SQLite, on PostgreSQL (as a role that owns
/// nothing) and on MySQL (as a DML-only user); the guards keep the server
/// databases alive.
async fn counter_dbs() -> ((PgTestDb, MyTestDb), [(&'static str, TenantDb); 3]) {
    let pool = tenant_tests::sqlite_memory().await;
    sqlx::raw_sql(COUNTERS_SQLITE)
        .execute(&pool)
        .await
        .expect("schema");
    let mut pg = PgTestDb::create().await;
    pg.execute_script(COUNTERS_POSTGRES).await;
    let role = pg.create_app_role().await;
    let pg_db = TenantDb::postgres(pg.pool_as(&role, 2).await);
    let mut my = MyTestDb::create().await;
    my.execute_script(COUNTERS_MYSQL).await;
    let user = my.create_app_user().await;
    let my_db = TenantDb::mysql(my.pool_as(&user, 2).await);
    (
        (pg, my),
        [
            ("sqlite", TenantDb::sqlite(pool)),
            ("postgres", pg_db),
            ("mysql", my_db),
        ],
    )
}

/// MySQL refuses a value out of its column's range only in strict mode
/// (`STRICT_TRANS_TABLES` or `STRICT_ALL_TABLES`, the default since MySQL
/// 5.7 and MariaDB 10.2.4); otherwise it clamps `INT` overflow to the
/// largest value and warns. The increment tests rely on strict mode: check
/// that the application's connections run in it.
async fn assert_mysql_is_strict(db: &TenantDb) {
    let pool = db
        .raw_mysql(&tenant_core::CrossTenant::audited("test fixtures"))
        .expect("mysql");
    let mode: String = sqlx::query_scalar("SELECT CAST(@@SESSION.sql_mode AS CHAR)")
        .fetch_one(pool)
        .await
        .expect("sql_mode");
    assert!(
        mode.split(',')
            .any(|m| m == "STRICT_TRANS_TABLES" || m == "STRICT_ALL_TABLES"),
        "the MySQL session is not in strict mode ({mode:?}): an INT increment past the top \
         would be clamped, not refused"
    );
}

/// SQLite turned an `i64` overflow into a REAL (every later read of the
/// tenant's rows failed) and stored an `i32` overflow that reads back
/// truncated. It is an error on every backend, with the row unchanged.
/// (MySQL: BIGINT arithmetic overflow is always an error; an INT column
/// refuses an out-of-range result only in strict mode, checked here.)
#[tokio::test]
async fn increment_overflow_is_an_error_and_changes_nothing() {
    let (_guards, dbs) = counter_dbs().await;
    let acme = scope("acme");
    for (name, db) in &dbs {
        if *name == "mysql" {
            assert_mysql_is_strict(db).await;
        }
        let row = Counter::insert(
            &acme,
            NewCounter {
                small: i32::MAX - 1,
                big: i64::MAX - 1,
                ratio: 0.5,
            },
        )
        .fetch_one(db)
        .await
        .expect("insert");
        let read = |db| async move {
            Counter::find(&scope("acme"), row.id)
                .fetch_one(db)
                .await
                .expect("the row still reads")
        };
        // In range: fine.
        Counter::update_by_id(&acme, row.id)
            .increment(Counter::SMALL, 1)
            .increment(Counter::BIG, 1)
            .increment(Counter::RATIO, 0.25)
            .execute(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: in-range increment failed: {e}"));
        let now = read(db).await;
        assert_eq!(
            (now.small, now.big, now.ratio),
            (i32::MAX, i64::MAX, 0.75),
            "{name}"
        );
        // One past the top, one past the bottom, for each width.
        for (column, delta) in [("big", 1_i64), ("big", i64::MAX)] {
            let result = Counter::update(&acme)
                .increment(Counter::BIG, delta)
                .execute(db)
                .await;
            assert!(
                result.is_err(),
                "{name}: {column} += {delta} gave {result:?}"
            );
        }
        for delta in [1_i32, i32::MAX] {
            let result = Counter::update(&acme)
                .increment(Counter::SMALL, delta)
                .execute(db)
                .await;
            assert!(result.is_err(), "{name}: small += {delta} gave {result:?}");
        }
        let after = read(db).await;
        assert_eq!(
            (after.small, after.big),
            (i32::MAX, i64::MAX),
            "{name}: a failed increment changed the row"
        );
        // Down to the bottom is fine, below it is not.
        Counter::update(&acme)
            .set(Counter::BIG, i64::MIN + 1)
            .set(Counter::SMALL, i32::MIN + 1)
            .execute(db)
            .await
            .expect("set");
        assert!(
            Counter::update(&acme)
                .increment(Counter::BIG, -1)
                .increment(Counter::SMALL, -1)
                .execute(db)
                .await
                .is_ok(),
            "{name}"
        );
        for result in [
            Counter::update(&acme)
                .increment(Counter::BIG, -1)
                .execute(db)
                .await,
            Counter::update(&acme)
                .increment(Counter::SMALL, -1)
                .execute(db)
                .await,
        ] {
            assert!(result.is_err(), "{name}: below the bottom gave {result:?}");
        }
        let bottom = read(db).await;
        assert_eq!((bottom.small, bottom.big), (i32::MIN, i64::MIN), "{name}");
    }
}

// --- 8. NULL comparisons -----------------------------------------------------

/// Nullable columns compare with bare values (`.eq(None)` does not compile,
/// see `tests/ui/columns/eq_none_on_nullable.rs`), are set with bare values
/// or `None`, and `ne` leaves NULL out as SQL does.
#[tokio::test]
async fn nullable_columns_compare_with_bare_values() {
    use tenant_tests::models::{Customer, NewCustomer, Status};
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let acme = scope("acme");
        for (note, visits) in [(Some("vip"), Some(5)), (None, None), (Some("new"), Some(1))] {
            Customer::insert(
                &acme,
                NewCustomer {
                    id: uuid::Uuid::new_v4(),
                    email: format!("{}@example.com", uuid::Uuid::new_v4()),
                    status: Status::Active,
                    score: 0.0,
                    active: true,
                    note: note.map(str::to_owned),
                    metadata: serde_json::json!({}),
                    visits,
                },
            )
            .execute(db)
            .await
            .expect("insert");
        }
        let count = |c: Condition<Customer>| async move {
            Customer::query(&scope("acme"))
                .filter(c)
                .count(db)
                .await
                .expect("count")
        };
        assert_eq!(count(Customer::NOTE.eq("vip")).await, 1, "{name}");
        assert_eq!(
            count(Customer::NOTE.ne("vip")).await,
            1,
            "{name}: ne skips NULL"
        );
        assert_eq!(
            count(Customer::NOTE.ne("vip").or(Customer::NOTE.is_null())).await,
            2,
            "{name}"
        );
        assert_eq!(count(Customer::VISITS.is_in([1, 5])).await, 2, "{name}");
        assert_eq!(count(Customer::VISITS.ge(2)).await, 1, "{name}");
        assert_eq!(count(Customer::NOTE.is_null()).await, 1, "{name}");
        let changed = Customer::update(&acme)
            .set(Customer::VISITS, 9)
            .set(Customer::NOTE, None)
            .filter(Customer::VISITS.eq(1))
            .execute(db)
            .await
            .expect("update");
        assert_eq!(changed, 1, "{name}");
        assert_eq!(
            count(Customer::VISITS.eq(9).and(Customer::NOTE.is_null())).await,
            1,
            "{name}"
        );
    }
}

// --- A failed statement inside a transaction --------------------------------

/// PostgreSQL aborts a transaction at its first error and answers COMMIT
/// with a rollback that sqlx reports as success: every write of it was lost
/// behind an `Ok(())`. `commit` now rolls back and says so, on every backend
/// (SQLite would have committed the rest: the same code behaves the same).
#[tokio::test]
async fn commit_after_a_failed_statement_rolls_back_and_says_so() {
    use tenant_tests::models::{Customer, NewCustomer, Status};
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let acme = scope("acme");
        let id = uuid::Uuid::new_v4();
        let customer = |email: &str| NewCustomer {
            id,
            email: email.to_owned(),
            status: Status::Active,
            score: 0.0,
            active: true,
            note: None,
            metadata: serde_json::json!({}),
            visits: None,
        };
        Customer::insert(&acme, customer("first@example.com"))
            .execute(db)
            .await
            .expect("seed");
        let mut tx = db.begin(&acme).await.expect("begin");
        Invoice::insert(&acme, new_invoice(1))
            .execute(&mut tx)
            .await
            .expect("insert in tx");
        let duplicate = Customer::insert(&acme, customer("second@example.com"))
            .execute(&mut tx)
            .await;
        assert!(
            duplicate.as_ref().is_err_and(Error::is_unique_violation),
            "{name}: {duplicate:?}"
        );
        // Nothing more runs on a failed transaction: on MySQL a deadlock ends
        // the transaction and the next statement would autocommit.
        let after = Invoice::insert(&acme, new_invoice(2))
            .execute(&mut tx)
            .await;
        assert!(
            matches!(after, Err(Error::RolledBack)),
            "{name}: a statement after a failure gave {after:?}"
        );
        let committed = tx.commit().await;
        assert!(
            matches!(committed, Err(Error::RolledBack)),
            "{name}: commit after a failed statement gave {committed:?}"
        );
        assert_eq!(
            Invoice::query(&acme).count(db).await.expect("count"),
            0,
            "{name}: part of a rolled-back transaction was stored"
        );
        // A transaction without failures commits as before.
        let mut tx = db.begin(&acme).await.expect("begin");
        Invoice::insert(&acme, new_invoice(2))
            .execute(&mut tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        assert_eq!(acme_amounts(db).await, [2], "{name}");
    }
}

/// SQLite stored infinity for a floating-point increment past the type's
/// largest value; PostgreSQL and MySQL raise an error. All raise one now.
#[tokio::test]
async fn float_increment_overflow_is_an_error() {
    let (_guards, dbs) = counter_dbs().await;
    let acme = scope("acme");
    for (name, db) in &dbs {
        Counter::insert(
            &acme,
            NewCounter {
                small: 0,
                big: 0,
                ratio: f64::MAX,
            },
        )
        .execute(db)
        .await
        .expect("insert");
        let result = Counter::update(&acme)
            .increment(Counter::RATIO, f64::MAX)
            .execute(db)
            .await;
        assert!(
            result.is_err(),
            "{name}: f64::MAX + f64::MAX gave {result:?}"
        );
        let row = Counter::query(&acme).fetch_one(db).await.expect("read");
        assert_eq!(row.ratio, f64::MAX, "{name}: the row changed");
        Counter::update(&acme)
            .increment(Counter::RATIO, -1.0e308)
            .execute(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: an in-range float increment failed: {e}"));
    }
}
