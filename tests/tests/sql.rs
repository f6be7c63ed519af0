//! The SQL each builder produces: the tenant predicate is always there,
//! values are always placeholders (`$n`; `?` on MySQL), identifiers always
//! quoted (double quotes; backticks on MySQL).

use tenant_core::Backend;
use tenant_core::prelude::*;
use tenant_tests::models::{Customer, Invoice, NewInvoice, Plan};

fn acme() -> TenantScope {
    TenantScope::new(TenantId::parse("acme").expect("id"))
}

const COLS: &str = r#""invoices"."id", "invoices"."tenant_id", "invoices"."amount_cents", "invoices"."customer_email""#;

#[test]
fn select_find_count() {
    let s = acme();
    assert_eq!(
        Invoice::query(&s).to_sql(),
        format!(r#"SELECT {COLS} FROM "invoices" WHERE "invoices"."tenant_id" = $1"#)
    );
    assert_eq!(
        Invoice::find(&s, 1).to_sql(),
        format!(
            r#"SELECT {COLS} FROM "invoices" WHERE "invoices"."tenant_id" = $1 AND "invoices"."id" = $2"#
        )
    );
    assert_eq!(
        Invoice::query(&s)
            .filter(
                Invoice::AMOUNT_CENTS
                    .gt(10)
                    .and(Invoice::CUSTOMER_EMAIL.like("%@x"))
            )
            .filter(!Invoice::ID.is_in([1, 2, 3]))
            .order_by(Invoice::AMOUNT_CENTS.desc())
            .order_by(Invoice::ID.asc())
            .limit(50)
            .offset(10)
            .to_sql(),
        format!(
            r#"SELECT {COLS} FROM "invoices" WHERE "invoices"."tenant_id" = $1 AND ("invoices"."amount_cents" > $2 AND "invoices"."customer_email" LIKE $3) AND NOT ("invoices"."id" IN ($4, $5, $6)) ORDER BY "invoices"."amount_cents" DESC, "invoices"."id" ASC LIMIT $7 OFFSET $8"#
        )
    );
    assert_eq!(
        Invoice::query(&s).filter(Invoice::ID.ne(3)).to_count_sql(),
        r#"SELECT COUNT(*) FROM "invoices" WHERE "invoices"."tenant_id" = $1 AND "invoices"."id" <> $2"#
    );
}

#[test]
fn writes() {
    let s = acme();
    assert_eq!(
        Invoice::insert(
            &s,
            NewInvoice {
                amount_cents: 1,
                customer_email: "a".into()
            }
        )
        .to_sql(),
        format!(
            r#"INSERT INTO "invoices" ("tenant_id", "amount_cents", "customer_email") VALUES ($1, $2, $3) RETURNING {COLS}"#
        )
    );
    assert_eq!(
        Invoice::update(&s)
            .set(Invoice::CUSTOMER_EMAIL, "b")
            .increment(Invoice::AMOUNT_CENTS, 5)
            .filter(Invoice::ID.eq(7))
            .to_sql(),
        r#"UPDATE "invoices" SET "customer_email" = $2, "amount_cents" = "invoices"."amount_cents" + $3 WHERE "invoices"."tenant_id" = $1 AND "invoices"."id" = $4"#
    );
    assert_eq!(
        Invoice::delete(&s).to_sql(),
        r#"DELETE FROM "invoices" WHERE "invoices"."tenant_id" = $1"#
    );
    assert_eq!(
        Invoice::delete(&s).filter(Invoice::ID.le(9)).to_sql(),
        r#"DELETE FROM "invoices" WHERE "invoices"."tenant_id" = $1 AND "invoices"."id" <= $2"#
    );
}

#[test]
fn renamed_tenant_column_and_nulls() {
    let s = acme();
    let sql = Customer::query(&s)
        .filter(Customer::NOTE.is_null().or(Customer::VISITS.is_not_null()))
        .to_sql();
    assert!(
        sql.contains(
            r#"FROM "customers" WHERE "customers"."tenant" = $1 AND ("customers"."note" IS NULL OR "customers"."visits" IS NOT NULL)"#
        ),
        "{sql}"
    );
}

#[test]
fn global_models_have_no_tenant_predicate() {
    assert_eq!(
        Plan::query().to_sql(),
        r#"SELECT "plans"."id", "plans"."name" FROM "plans""#
    );
    assert_eq!(
        Plan::query().filter(Plan::NAME.eq("pro")).to_sql(),
        r#"SELECT "plans"."id", "plans"."name" FROM "plans" WHERE "plans"."name" = $1"#
    );
    assert_eq!(
        Plan::find(1).to_sql(),
        r#"SELECT "plans"."id", "plans"."name" FROM "plans" WHERE "plans"."id" = $1"#
    );
    assert_eq!(
        Plan::update().set(Plan::NAME, "x").to_sql(),
        r#"UPDATE "plans" SET "name" = $1"#
    );
}

#[test]
fn model_metadata() {
    use tenant_core::Model;
    assert_eq!(Invoice::TABLE, "invoices");
    assert_eq!(Invoice::TENANT_COLUMN, Some("tenant_id"));
    assert_eq!(Customer::TENANT_COLUMN, Some("tenant"));
    assert_eq!(Plan::TENANT_COLUMN, None);
    assert_eq!(Invoice::PRIMARY_KEY, Some("id"));
    assert_eq!(
        Invoice::COLUMNS,
        ["id", "tenant_id", "amount_cents", "customer_email"]
    );
    assert_eq!(Invoice::TENANT_ID.name(), "tenant_id");
}

/// Rendered SQL is cached per shape: the same shape with other values gives
/// the same text, and every difference in shape gives its own text.
#[test]
fn cached_sql_follows_the_shape_exactly() {
    let s = acme();
    let q = |c: tenant_core::Condition<Invoice>| Invoice::query(&s).filter(c).to_sql();
    assert_eq!(q(Invoice::ID.eq(1)), q(Invoice::ID.eq(2)));
    let variants = [
        q(Invoice::ID.eq(1)),
        q(Invoice::ID.ne(1)),
        q(Invoice::AMOUNT_CENTS.eq(1)),
        q(Invoice::ID.is_in([1, 2])),
        q(Invoice::ID.is_in([1, 2, 3])),
        q(Invoice::ID.eq(1).and(Invoice::AMOUNT_CENTS.eq(1))),
        q(Invoice::ID.eq(1).or(Invoice::AMOUNT_CENTS.eq(1))),
        q(!Invoice::ID.eq(1)),
        Invoice::query(&s)
            .filter(Invoice::ID.eq(1))
            .limit(1)
            .to_sql(),
        Invoice::query(&s)
            .filter(Invoice::ID.eq(1))
            .order_by(Invoice::ID.asc())
            .to_sql(),
        Invoice::query(&s)
            .filter(Invoice::ID.eq(1))
            .order_by(Invoice::ID.desc())
            .to_sql(),
        Invoice::query(&s).filter(Invoice::ID.eq(1)).to_count_sql(),
        Invoice::query(&s).filter(Invoice::ID.eq(1)).to_rls_sql(),
    ];
    for (i, a) in variants.iter().enumerate() {
        for b in &variants[i + 1..] {
            assert_ne!(a, b);
        }
    }
    let u = |inc: bool| {
        let update = Invoice::update(&s);
        let update = if inc {
            update.increment(Invoice::AMOUNT_CENTS, 1)
        } else {
            update.set(Invoice::AMOUNT_CENTS, 1)
        };
        update.filter(Invoice::ID.eq(1)).to_sql()
    };
    assert_ne!(u(true), u(false));
    assert_eq!(u(true), u(true));
}

/// `TenantDb::connect("sqlite::memory:")`: every pooled connection sees the
/// one database (kept open for the pool's life); an unsupported URL is an
/// error, not a panic or a default database.
#[tokio::test]
async fn connect_in_memory_sqlite_and_refuse_unknown_urls() {
    let db = TenantDb::connect("sqlite::memory:").await.expect("connect");
    let pool = db
        .raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
        .expect("sqlite");
    sqlx::raw_sql(
        "CREATE TABLE invoices (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL,
         amount_cents INTEGER NOT NULL, customer_email TEXT NOT NULL)",
    )
    .execute(pool)
    .await
    .expect("schema");
    // Hold two connections at once: both see the same database.
    let a = pool.acquire().await.expect("first");
    let b = pool.acquire().await.expect("second");
    drop((a, b));
    assert!(pool.size() >= 1);
    assert_eq!(Invoice::query(&acme()).count(&db).await.expect("count"), 0);
    assert!(matches!(
        TenantDb::connect("mssql://localhost/x").await,
        Err(tenant_core::Error::UnsupportedUrl { .. })
    ));
}

const MY_COLS: &str = "`invoices`.`id`, `invoices`.`tenant_id`, `invoices`.`amount_cents`, `invoices`.`customer_email`";

/// MySQL's dialect: backtick quoting and `?` placeholders, which are
/// positional, so the tenant's value is bound where its `?` stands (after
/// the SET values of an UPDATE, not first as PostgreSQL's `$1`).
#[test]
fn mysql_select_find_count() {
    let s = acme();
    let my = Backend::MySql;
    assert_eq!(
        Invoice::query(&s).to_sql_for(my),
        format!("SELECT {MY_COLS} FROM `invoices` WHERE `invoices`.`tenant_id` = ?")
    );
    assert_eq!(
        Invoice::find(&s, 1).to_sql_for(my),
        format!(
            "SELECT {MY_COLS} FROM `invoices` WHERE `invoices`.`tenant_id` = ? AND `invoices`.`id` = ?"
        )
    );
    assert_eq!(
        Invoice::query(&s)
            .filter(
                Invoice::AMOUNT_CENTS
                    .gt(10)
                    .and(Invoice::CUSTOMER_EMAIL.like("%@x"))
            )
            .filter(!Invoice::ID.is_in([1, 2, 3]))
            .order_by(Invoice::AMOUNT_CENTS.desc())
            .order_by(Invoice::ID.asc())
            .limit(50)
            .offset(10)
            .to_sql_for(my),
        format!(
            "SELECT {MY_COLS} FROM `invoices` WHERE `invoices`.`tenant_id` = ? AND (`invoices`.`amount_cents` > ? AND `invoices`.`customer_email` LIKE ?) AND NOT (`invoices`.`id` IN (?, ?, ?)) ORDER BY `invoices`.`amount_cents` DESC, `invoices`.`id` ASC LIMIT ? OFFSET ?"
        )
    );
    // MySQL has no OFFSET without LIMIT: the page gets a LIMIT (bound to
    // the largest value) either way.
    assert_eq!(
        Invoice::query(&s).offset(10).to_sql_for(my),
        format!(
            "SELECT {MY_COLS} FROM `invoices` WHERE `invoices`.`tenant_id` = ? LIMIT ? OFFSET ?"
        )
    );
    assert_eq!(
        Invoice::query(&s)
            .filter(Invoice::ID.ne(3))
            .to_count_sql_for(my),
        "SELECT COUNT(*) FROM `invoices` WHERE `invoices`.`tenant_id` = ? AND `invoices`.`id` <> ?"
    );
    // A derived table needs an alias on MySQL.
    assert_eq!(
        Invoice::query(&s).limit(4).offset(2).to_count_sql_for(my),
        format!(
            "SELECT COUNT(*) FROM (SELECT {MY_COLS} FROM `invoices` WHERE `invoices`.`tenant_id` = ? LIMIT ? OFFSET ?) AS counted"
        )
    );
    assert_eq!(
        Invoice::query(&s)
            .filter(Invoice::ID.is_in(Vec::<i64>::new()))
            .to_sql_for(my),
        format!("SELECT {MY_COLS} FROM `invoices` WHERE `invoices`.`tenant_id` = ? AND 1 = 0")
    );
}

#[test]
fn mysql_writes() {
    let s = acme();
    let my = Backend::MySql;
    let insert = Invoice::insert(
        &s,
        NewInvoice {
            amount_cents: 1,
            customer_email: "a".into(),
        },
    );
    // `fetch_one` uses INSERT .. RETURNING: MariaDB (10.5+) has it, MySQL 8
    // does not (use `execute` there).
    assert_eq!(
        insert.to_sql_for(my),
        format!(
            "INSERT INTO `invoices` (`tenant_id`, `amount_cents`, `customer_email`) VALUES (?, ?, ?) RETURNING {MY_COLS}"
        )
    );
    assert_eq!(
        insert.to_execute_sql_for(my),
        "INSERT INTO `invoices` (`tenant_id`, `amount_cents`, `customer_email`) VALUES (?, ?, ?)"
    );
    assert_eq!(
        Invoice::update(&s)
            .set(Invoice::CUSTOMER_EMAIL, "b")
            .increment(Invoice::AMOUNT_CENTS, 5)
            .filter(Invoice::ID.eq(7))
            .to_sql_for(my),
        "UPDATE `invoices` SET `customer_email` = ?, `amount_cents` = `invoices`.`amount_cents` + ? WHERE `invoices`.`tenant_id` = ? AND `invoices`.`id` = ?"
    );
    assert_eq!(
        Invoice::delete(&s).to_sql_for(my),
        "DELETE FROM `invoices` WHERE `invoices`.`tenant_id` = ?"
    );
    assert_eq!(
        Invoice::delete(&s).filter(Invoice::ID.le(9)).to_sql_for(my),
        "DELETE FROM `invoices` WHERE `invoices`.`tenant_id` = ? AND `invoices`.`id` <= ?"
    );
}

#[test]
fn mysql_renamed_tenant_column_and_global_models() {
    let s = acme();
    let my = Backend::MySql;
    let sql = Customer::query(&s)
        .filter(Customer::NOTE.is_null().or(Customer::VISITS.is_not_null()))
        .to_sql_for(my);
    assert!(
        sql.contains(
            "FROM `customers` WHERE `customers`.`tenant` = ? AND (`customers`.`note` IS NULL OR `customers`.`visits` IS NOT NULL)"
        ),
        "{sql}"
    );
    assert_eq!(
        Plan::query().filter(Plan::NAME.eq("pro")).to_sql_for(my),
        "SELECT `plans`.`id`, `plans`.`name` FROM `plans` WHERE `plans`.`name` = ?"
    );
    assert_eq!(
        Plan::find(1).to_sql_for(my),
        "SELECT `plans`.`id`, `plans`.`name` FROM `plans` WHERE `plans`.`id` = ?"
    );
    assert_eq!(
        Plan::update().set(Plan::NAME, "x").to_sql_for(my),
        "UPDATE `plans` SET `name` = ?"
    );
}

/// `TenantDb::connect` with a `mysql://` and a `mariadb://` URL gives a
/// MySQL handle whose statements run.
#[tokio::test]
async fn connect_mysql_and_mariadb_urls() {
    let mut my = tenant_tests::MyTestDb::create().await;
    my.execute_script(tenant_tests::models::MYSQL_SCHEMA).await;
    let user = my.create_app_user().await;
    let url = my.url_for(&user);
    let mariadb = url.replacen("mysql://", "mariadb://", 1);
    for url in [url, mariadb] {
        let db = TenantDb::connect(&url).await.expect("connect");
        assert_eq!(db.backend(), Backend::MySql);
        assert!(
            db.raw_mysql(&tenant_core::CrossTenant::audited("test fixtures"))
                .is_ok()
        );
        assert!(
            db.raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
                .is_err()
                && db
                    .raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
                    .is_err()
        );
        assert_eq!(Invoice::query(&acme()).count(&db).await.expect("count"), 0);
    }
    // The admin URL of the test database works the same way.
    let db = TenantDb::connect(&my.url())
        .await
        .expect("connect as owner");
    assert_eq!(Invoice::query(&acme()).count(&db).await.expect("count"), 0);
}
