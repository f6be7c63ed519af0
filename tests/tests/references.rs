//! Same-tenant references on write: a row whose `#[tenant(references = ..)]`
//! key names another tenant's row, or no row, is refused before it is
//! written — by insert, bulk insert, upsert and update, on a pool and in a
//! transaction, on every backend (SQLite, PostgreSQL with and without
//! row-level security, MariaDB) — although the schema has no foreign key at
//! all. Both tenants hold identical ids, so a check that forgot the tenant
//! would find the other tenant's row and let the write through.

use tenant_core::prelude::*;
use tenant_tests::suites::scope;
use tenant_tests::{Guards, MyTestDb, PgTestDb};

/// A global table every tenant may reference.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "ref_plans", global)]
pub struct RefPlan {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    pub name: String,
}

/// A tenant's customer.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "ref_customers")]
pub struct RefCustomer {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub name: String,
    #[tenant(references = RefPlan)]
    pub plan_id: Option<i64>,
}

/// An order of one of the tenant's customers, optionally forwarded to
/// another of its customers.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "ref_orders")]
pub struct RefOrder {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(references = RefCustomer)]
    pub customer_id: i64,
    pub note: String,
}

// No foreign keys: only the framework's check refuses a foreign reference.
const SQLITE: &str = "
CREATE TABLE ref_plans (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE ref_customers (id INTEGER NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
    plan_id INTEGER, PRIMARY KEY (tenant_id, id));
CREATE TABLE ref_orders (id INTEGER NOT NULL, tenant_id TEXT NOT NULL, customer_id INTEGER NOT NULL,
    note TEXT NOT NULL, PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, note));";

const POSTGRES: &str = "
CREATE TABLE ref_plans (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE ref_customers (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
    plan_id BIGINT, PRIMARY KEY (tenant_id, id));
CREATE TABLE ref_orders (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, customer_id BIGINT NOT NULL,
    note TEXT NOT NULL, PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, note));";

const MYSQL: &str = "
CREATE TABLE ref_plans (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL);
CREATE TABLE ref_customers (id BIGINT NOT NULL,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    name VARCHAR(255) NOT NULL, plan_id BIGINT, PRIMARY KEY (tenant_id, id));
CREATE TABLE ref_orders (id BIGINT NOT NULL,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    customer_id BIGINT NOT NULL, note VARCHAR(255) NOT NULL, PRIMARY KEY (tenant_id, id),
    UNIQUE KEY (tenant_id, note));";

async fn every_db() -> (Guards, Vec<(&'static str, TenantDb)>) {
    let policies =
        tenant_core::rls::policy_sql::<RefCustomer>() + &tenant_core::rls::policy_sql::<RefOrder>();
    tenant_tests::every_backend(SQLITE, POSTGRES, &policies, MYSQL).await
}

/// Plan 1 exists, plan 9 does not. Acme has customer 1; globex has
/// customers 1 and 2 — so customer 2 exists, but not for acme.
async fn seed(db: &TenantDb) {
    RefPlan::insert(NewRefPlan {
        id: 1,
        name: "basic".into(),
    })
    .execute(db)
    .await
    .expect("plan");
    for (tenant, id) in [("acme", 1), ("globex", 1), ("globex", 2)] {
        RefCustomer::insert(
            &scope(tenant),
            NewRefCustomer {
                id,
                name: format!("{tenant}-{id}"),
                plan_id: Some(1),
            },
        )
        .execute(db)
        .await
        .expect("customer");
    }
}

fn order(id: i64, customer_id: i64) -> NewRefOrder {
    NewRefOrder {
        id,
        customer_id,
        note: format!("order {id}"),
    }
}

/// The error for a reference to customer `key`, which acme does not have.
fn assert_refused<T: std::fmt::Debug>(backend: &str, what: &str, result: Result<T, Error>) {
    match result {
        Err(Error::ReferenceNotFound {
            model,
            column,
            parent,
            tenant,
            ..
        }) => {
            assert_eq!(
                (model, column, parent, tenant.as_str()),
                ("RefOrder", "customer_id", "RefCustomer", "acme"),
                "{backend}: {what}"
            );
        }
        other => panic!("{backend}: {what}: expected ReferenceNotFound, got {other:?}"),
    }
}

/// Acme's orders, as (id, customer) pairs.
async fn acme_orders(db: &TenantDb) -> Vec<(i64, i64)> {
    let mut orders: Vec<(i64, i64)> = RefOrder::query(&scope("acme"))
        .fetch_all(db)
        .await
        .expect("orders")
        .into_iter()
        .map(|o| (o.id, o.customer_id))
        .collect();
    orders.sort_unstable();
    orders
}

#[tokio::test]
async fn inserts_refer_only_to_rows_of_their_own_tenant_on_every_backend() {
    let (_guards, dbs) = every_db().await;
    let acme = scope("acme");
    for (backend, db) in &dbs {
        seed(db).await;
        // Another tenant's customer (2 is globex's) and no customer (7).
        for customer in [2, 7] {
            assert_refused(
                backend,
                "insert",
                RefOrder::insert(&acme, order(10, customer))
                    .execute(db)
                    .await,
            );
            assert_refused(
                backend,
                "insert returning",
                RefOrder::insert(&acme, order(10, customer))
                    .fetch_one(db)
                    .await,
            );
        }
        // The message names the column, the model and the key, and says
        // nothing about whether another tenant has it.
        let message = RefOrder::insert(&acme, order(10, 2))
            .execute(db)
            .await
            .expect_err("refused")
            .to_string();
        assert_eq!(
            message,
            "`RefOrder.customer_id` must refer to a `RefCustomer` of tenant `acme`, and tenant `acme` has no `RefCustomer` with customer_id = 2; nothing was written",
            "{backend}"
        );
        // Its own customer is accepted; the row is stored once.
        let stored = RefOrder::insert(&acme, order(11, 1))
            .fetch_one(db)
            .await
            .expect("own customer");
        assert_eq!((stored.id, stored.customer_id), (11, 1), "{backend}");
        assert_eq!(acme_orders(db).await, vec![(11, 1)], "{backend}");

        // A reference to a global model: a missing plan is refused, none
        // at all (an optional reference) is accepted.
        let missing_plan = RefCustomer::insert(
            &acme,
            NewRefCustomer {
                id: 5,
                name: "x".into(),
                plan_id: Some(9),
            },
        )
        .execute(db)
        .await;
        assert!(
            matches!(
                missing_plan,
                Err(Error::ReferenceNotFound {
                    parent: "RefPlan",
                    ..
                })
            ),
            "{backend}: {missing_plan:?}"
        );
        RefCustomer::insert(
            &acme,
            NewRefCustomer {
                id: 5,
                name: "no plan".into(),
                plan_id: None,
            },
        )
        .execute(db)
        .await
        .expect("no plan");

        // In a transaction: refused, nothing written, and the transaction
        // goes on (the lookup itself did not fail).
        let mut tx = db.begin(&acme).await.expect("begin");
        assert_refused(
            backend,
            "insert in a transaction",
            RefOrder::insert(&acme, order(12, 2)).execute(&mut tx).await,
        );
        RefOrder::insert(&acme, order(13, 1))
            .execute(&mut tx)
            .await
            .expect("own customer in the transaction");
        tx.commit().await.expect("commit");
        assert_eq!(acme_orders(db).await, vec![(11, 1), (13, 1)], "{backend}");
    }
}

#[tokio::test]
async fn bulk_inserts_and_upserts_are_refused_whole_on_every_backend() {
    let (_guards, dbs) = every_db().await;
    let acme = scope("acme");
    for (backend, db) in &dbs {
        seed(db).await;
        // One foreign key among many valid rows (and repeated keys): the
        // whole batch is refused, in every chunking.
        let rows = || (20..40).map(|id| order(id, if id == 33 { 2 } else { 1 }));
        assert_refused(
            backend,
            "insert_many",
            RefOrder::insert_many(&acme, rows()).execute(db).await,
        );
        assert_refused(
            backend,
            "insert_many in chunks",
            RefOrder::insert_many(&acme, rows())
                .rows_per_statement(3)
                .fetch_all(db)
                .await,
        );
        let mut tx = db.begin(&acme).await.expect("begin");
        assert_refused(
            backend,
            "insert_many in a transaction",
            RefOrder::insert_many(&acme, rows()).execute(&mut tx).await,
        );
        tx.commit().await.expect("commit");
        assert_eq!(acme_orders(db).await, vec![], "{backend}: nothing stored");

        let valid = (20..25).map(|id| order(id, 1));
        assert_eq!(
            RefOrder::insert_many(&acme, valid)
                .execute(db)
                .await
                .expect("valid batch"),
            5,
            "{backend}"
        );

        // An upsert whose update would move an order to another tenant's
        // customer: refused, the stored row unchanged.
        let upsert = RefOrder::upsert(
            &acme,
            NewRefOrder {
                id: 20,
                customer_id: 2,
                note: "order 20".into(),
            },
        )
        .on_conflict((RefOrder::TENANT_ID, RefOrder::ID))
        .do_update(RefOrder::CUSTOMER_ID);
        assert_refused(backend, "upsert", upsert.execute(db).await);
        assert!(
            acme_orders(db).await.iter().all(|&(_, c)| c == 1),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn updates_cannot_point_a_row_at_another_tenants_row_on_every_backend() {
    let (_guards, dbs) = every_db().await;
    let acme = scope("acme");
    for (backend, db) in &dbs {
        seed(db).await;
        RefOrder::insert(&acme, order(1, 1))
            .execute(db)
            .await
            .expect("order");
        for customer in [2, 7] {
            assert_refused(
                backend,
                "update",
                RefOrder::update(&acme)
                    .set(RefOrder::CUSTOMER_ID, customer)
                    .filter(RefOrder::ID.eq(1))
                    .execute(db)
                    .await,
            );
        }
        if *backend != "mysql" {
            assert_refused(
                backend,
                "update returning",
                RefOrder::update(&acme)
                    .set(RefOrder::CUSTOMER_ID, 2)
                    .fetch_all(db)
                    .await,
            );
        }
        let mut tx = db.begin(&acme).await.expect("begin");
        assert_refused(
            backend,
            "update in a transaction",
            RefOrder::update(&acme)
                .set(RefOrder::CUSTOMER_ID, 2)
                .execute(&mut tx)
                .await,
        );
        tx.commit().await.expect("commit");
        assert_eq!(acme_orders(db).await, vec![(1, 1)], "{backend}");

        // An increment would compute keys nobody checked: refused.
        let increment = RefOrder::update(&acme)
            .increment(RefOrder::CUSTOMER_ID, 1)
            .execute(db)
            .await;
        assert!(
            matches!(increment, Err(Error::Unsupported { .. })),
            "{backend}: {increment:?}"
        );

        // A valid new key, and clearing an optional reference, go through.
        RefCustomer::insert(
            &acme,
            NewRefCustomer {
                id: 3,
                name: "acme-3".into(),
                plan_id: None,
            },
        )
        .execute(db)
        .await
        .expect("customer");
        let changed = RefOrder::update(&acme)
            .set(RefOrder::CUSTOMER_ID, 3)
            .execute(db)
            .await
            .expect("own customer");
        assert_eq!(changed, 1, "{backend}");
        assert_eq!(acme_orders(db).await, vec![(1, 3)], "{backend}");
        let cleared = RefCustomer::update(&acme)
            .set(RefCustomer::PLAN_ID, None::<i64>)
            .filter(RefCustomer::ID.eq(1))
            .execute(db)
            .await
            .expect("clear the plan");
        assert_eq!(cleared, 1, "{backend}");
        assert_eq!(
            RefCustomer::update(&acme)
                .set(RefCustomer::PLAN_ID, Some(9))
                .filter(RefCustomer::ID.eq(1))
                .execute(db)
                .await
                .map_err(|e| e.to_string()),
            Err("`RefCustomer.plan_id` must refer to a `RefPlan` of tenant `acme`, and tenant `acme` has no `RefPlan` with plan_id = the value assigned; nothing was written".to_owned()),
            "{backend}"
        );
    }
}

/// While a checked write's transaction is open, the row it refers to cannot
/// be deleted by anyone else: the lookup locked it (PostgreSQL `FOR KEY
/// SHARE`, MySQL `LOCK IN SHARE MODE`), or the write holds SQLite's write
/// lock. Without that, a parent deleted between the lookup and the commit
/// would leave the new row pointing at nothing.
#[tokio::test]
async fn the_referenced_row_stays_until_the_write_commits() {
    let acme = scope("acme");
    const DELETE: &str = "DELETE FROM ref_customers WHERE tenant_id = 'acme' AND id = 1";

    // PostgreSQL, as the application role; the owner's delete waits for
    // the lock and gives up after 200 ms.
    let mut pg = PgTestDb::create().await;
    pg.execute_script(POSTGRES).await;
    let role = pg.create_app_role().await;
    let db = TenantDb::postgres(pg.pool_as(&role, 2).await);
    seed(&db).await;
    let mut tx = db.begin(&acme).await.expect("begin");
    RefOrder::insert(&acme, order(1, 1))
        .execute(&mut tx)
        .await
        .expect("checked insert");
    let blocked = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET lock_timeout = '200ms'; {DELETE}"
    )))
    .execute(&pg.owner)
    .await;
    let code = blocked
        .as_ref()
        .err()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(
        code.as_deref(),
        Some("55P03"),
        "postgres: the delete must wait for the write: {blocked:?}"
    );
    tx.commit().await.expect("commit");

    // MariaDB: the delete waits for the shared lock and times out (1 s).
    let mut my = MyTestDb::create().await;
    my.execute_script(MYSQL).await;
    let user = my.create_app_user().await;
    let db = TenantDb::mysql(my.pool_as(&user, 2).await);
    seed(&db).await;
    let mut tx = db.begin(&acme).await.expect("begin");
    RefOrder::insert(&acme, order(1, 1))
        .execute(&mut tx)
        .await
        .expect("checked insert");
    let mut owner = my.owner.acquire().await.expect("owner connection");
    sqlx::query("SET SESSION innodb_lock_wait_timeout = 1")
        .execute(&mut *owner)
        .await
        .expect("lock timeout");
    let blocked = sqlx::query(DELETE).execute(&mut *owner).await;
    let code = blocked
        .as_ref()
        .err()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    // SQLSTATE HY000 with error 1205 (lock wait timeout).
    assert!(
        blocked
            .as_ref()
            .is_err_and(|e| e.to_string().contains("1205")),
        "mysql: the delete must wait for the write: {blocked:?} ({code:?})"
    );
    drop(owner);
    tx.commit().await.expect("commit");

    // SQLite, a file with two connections: the write holds the database's
    // write lock until it commits, so the delete is refused as busy.
    let dir = std::env::temp_dir().join(tenant_tests::unique_name("refs"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("refs.db"))
        .create_if_missing(true)
        .busy_timeout(std::time::Duration::from_millis(200));
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .expect("sqlite file");
    sqlx::raw_sql(SQLITE).execute(&pool).await.expect("schema");
    let db = TenantDb::sqlite(pool.clone());
    seed(&db).await;
    let mut tx = db.begin(&acme).await.expect("begin");
    RefOrder::insert(&acme, order(1, 1))
        .execute(&mut tx)
        .await
        .expect("checked insert");
    let blocked = sqlx::query(DELETE).execute(&pool).await;
    assert!(
        blocked
            .as_ref()
            .is_err_and(|e| e.to_string().contains("database is locked")),
        "sqlite: the delete must wait for the write: {blocked:?}"
    );
    tx.commit().await.expect("commit");
    pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Checked writes from many connections at once on a SQLite file: each
/// takes the write lock before its lookup (`BEGIN IMMEDIATE`), so none of
/// them fails with "database is locked" for having read first and written
/// after another connection's commit; they wait their turn.
#[tokio::test]
async fn concurrent_checked_writes_on_a_sqlite_file_all_succeed() {
    let dir = std::env::temp_dir().join(tenant_tests::unique_name("refs_busy"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("refs.db"))
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(10));
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .expect("sqlite file");
    sqlx::raw_sql(SQLITE).execute(&pool).await.expect("schema");
    let db = TenantDb::sqlite(pool.clone());
    seed(&db).await;
    let tasks: Vec<_> = (0..8_i64)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move {
                let acme = scope("acme");
                for i in 0..25 {
                    RefOrder::insert(&acme, order(1_000 + task * 100 + i, 1))
                        .execute(&db)
                        .await?;
                }
                Ok::<_, Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("every checked insert");
    }
    assert_eq!(
        RefOrder::query(&scope("acme"))
            .count(&db)
            .await
            .expect("count"),
        200
    );
    pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
