//! Test suites run against several kinds of [`TenantDb`]: SQLite,
//! PostgreSQL, PostgreSQL with row-level security, MySQL/MariaDB.

use crate::models::{self, Customer, Invoice, NewCustomer, NewInvoice, NewPlan, Plan, Status};
use crate::{MyTestDb, PgTestDb};
use tenant_core::prelude::*;
use uuid::Uuid;

/// The scope of tenant `id`.
pub fn scope(id: &str) -> TenantScope {
    TenantScope::new(TenantId::parse(id).expect("valid tenant id"))
}

/// An in-memory SQLite database with the test schema.
pub async fn sqlite_db() -> TenantDb {
    let pool = crate::sqlite_memory().await;
    sqlx::raw_sql(models::SQLITE_SCHEMA)
        .execute(&pool)
        .await
        .expect("schema");
    TenantDb::sqlite(pool)
}

/// A fresh PostgreSQL database with the test schema, used through a role
/// that is not a superuser and owns no table.
pub async fn postgres_db() -> (PgTestDb, TenantDb) {
    let mut pg = PgTestDb::create().await;
    pg.execute_script(models::POSTGRES_SCHEMA).await;
    let role = pg.create_app_role().await;
    let pool = pg.pool_as(&role, 4).await;
    (pg, TenantDb::postgres(pool))
}

/// A fresh MySQL/MariaDB database with the test schema, used through a
/// user that only has SELECT, INSERT, UPDATE and DELETE on it.
pub async fn mysql_db() -> (MyTestDb, TenantDb) {
    let mut my = MyTestDb::create().await;
    my.execute_script(models::MYSQL_SCHEMA).await;
    let user = my.create_app_user().await;
    let pool = my.pool_as(&user, 4).await;
    (my, TenantDb::mysql(pool))
}

/// Like [`postgres_db`], with row-level security policies on every tenant
/// table and a [`TenantDb::postgres_with_rls`] handle. Also returns the
/// application role's name.
pub async fn postgres_rls_db(max_connections: u32) -> (PgTestDb, TenantDb, String) {
    let mut pg = PgTestDb::create().await;
    pg.execute_script(models::POSTGRES_SCHEMA).await;
    pg.execute_script(&models::postgres_policies()).await;
    let role = pg.create_app_role().await;
    let pool = pg.pool_as(&role, max_connections).await;
    (pg, TenantDb::postgres_with_rls(pool), role)
}

fn new_customer(id: Uuid, email: &str, note: &str) -> NewCustomer {
    NewCustomer {
        id,
        email: email.to_owned(),
        status: Status::Active,
        score: 0.5,
        active: true,
        note: Some(note.to_owned()),
        metadata: serde_json::json!({ "tier": note }),
        visits: None,
    }
}

/// A tenant's invoices and customers, in a stable order.
pub async fn snapshot(db: &TenantDb, s: &TenantScope) -> (Vec<Invoice>, Vec<Customer>) {
    let invoices = Invoice::query(s)
        .order_by(Invoice::ID.asc())
        .fetch_all(db)
        .await
        .expect("list invoices");
    let customers = Customer::query(s)
        .order_by(Customer::EMAIL.asc())
        .fetch_all(db)
        .await
        .expect("list customers");
    (invoices, customers)
}

/// Seeds A and B with the same data (same customer ids and e-mails; same
/// invoice ids when `copy_invoice_ids` can insert them), returns A's extra
/// invoice that B has no counterpart for.
async fn seed(db: &TenantDb, a: &TenantScope, b: &TenantScope, shared: &[Uuid]) -> Invoice {
    for (i, email) in ["x@example.com", "y@example.com", "z@example.com"]
        .iter()
        .enumerate()
    {
        for s in [a, b] {
            let inv = Invoice::insert(
                s,
                NewInvoice {
                    amount_cents: 1_000 * (i as i64 + 1),
                    customer_email: (*email).to_owned(),
                },
            )
            .fetch_one(db)
            .await
            .expect("insert invoice");
            assert_eq!(
                &inv.tenant_id,
                s.tenant_id(),
                "RETURNING gives the scope's tenant"
            );
        }
    }
    for (id, email) in shared.iter().zip(["c1@example.com", "c2@example.com"]) {
        for s in [a, b] {
            Customer::insert(s, new_customer(*id, email, s.tenant_id().as_str()))
                .execute(db)
                .await
                .expect("insert customer with the same id and e-mail for both tenants");
        }
    }
    Invoice::insert(
        a,
        NewInvoice {
            amount_cents: 99_999,
            customer_email: "only-a@example.com".to_owned(),
        },
    )
    .fetch_one(db)
    .await
    .expect("insert A-only invoice")
}

/// B, holding A's ids and natural keys, reads and changes only its own rows.
pub async fn isolation_suite(db: &TenantDb) {
    let a = scope("acme");
    let b = scope("globex");
    let shared = [Uuid::new_v4(), Uuid::new_v4()];
    let a_only = seed(db, &a, &b, &shared).await;
    let (a_invoices, a_customers) = snapshot(db, &a).await;
    let (b_invoices, _) = snapshot(db, &b).await;
    assert_eq!(a_invoices.len(), 4);
    assert_eq!(b_invoices.len(), 3);
    assert!(a_invoices.iter().all(|i| i.tenant_id.as_str() == "acme"));
    assert!(b_invoices.iter().all(|i| i.tenant_id.as_str() == "globex"));
    let a_ids: Vec<i64> = a_invoices.iter().map(|i| i.id).collect();

    // find
    assert_eq!(
        Invoice::find(&b, a_only.id)
            .fetch_optional(db)
            .await
            .expect("find"),
        None
    );
    assert!(matches!(
        Invoice::find(&b, a_only.id).fetch_one(db).await,
        Err(Error::NotFound)
    ));
    assert_eq!(
        Invoice::find(&a, a_only.id)
            .fetch_one(db)
            .await
            .expect("A finds its own"),
        a_only
    );
    // list, with A's ids and A's natural keys
    let seen = Invoice::query(&b)
        .filter(Invoice::ID.is_in(a_ids.clone()))
        .fetch_all(db)
        .await
        .expect("list");
    assert!(
        seen.iter().all(|i| i.tenant_id.as_str() == "globex"),
        "{seen:?}"
    );
    assert!(!seen.contains(&a_only));
    assert!(
        Invoice::query(&b)
            .filter(Invoice::CUSTOMER_EMAIL.eq("only-a@example.com"))
            .fetch_all(db)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        Invoice::query(&b)
            .filter(
                Invoice::ID
                    .eq(a_only.id)
                    .or(Invoice::AMOUNT_CENTS.eq(99_999))
            )
            .fetch_optional(db)
            .await
            .expect("fetch_optional")
            .is_none()
    );
    // count
    assert_eq!(Invoice::query(&b).count(db).await.expect("count"), 3);
    assert_eq!(
        Invoice::query(&b)
            .filter(Invoice::AMOUNT_CENTS.ge(99_999))
            .count(db)
            .await
            .expect("count"),
        0
    );
    assert_eq!(Invoice::query(&a).count(db).await.expect("count"), 4);
    // update and delete aimed at A's row
    assert_eq!(
        Invoice::update(&b)
            .set(Invoice::AMOUNT_CENTS, 0)
            .filter(Invoice::ID.eq(a_only.id))
            .execute(db)
            .await
            .expect("update"),
        0
    );
    assert_eq!(
        Invoice::delete(&b)
            .filter(Invoice::ID.eq(a_only.id))
            .execute(db)
            .await
            .expect("delete"),
        0
    );
    assert_eq!(
        Invoice::delete(&b)
            .filter(Invoice::CUSTOMER_EMAIL.eq("only-a@example.com"))
            .execute(db)
            .await
            .expect("delete"),
        0
    );
    // Unfiltered writes touch exactly B's rows.
    assert_eq!(
        Invoice::update(&b)
            .increment(Invoice::AMOUNT_CENTS, 1)
            .execute(db)
            .await
            .expect("update all of B"),
        3
    );

    // Same customer id and e-mail in both tenants: B reads and writes its own.
    let mine = Customer::find(&b, shared[0])
        .fetch_one(db)
        .await
        .expect("B's customer");
    assert_eq!(mine.tenant_id.as_str(), "globex");
    assert_eq!(mine.note.as_deref(), Some("globex"));
    assert_eq!(
        Customer::update(&b)
            .set(Customer::NOTE, Some("changed by B".to_owned()))
            .set(Customer::STATUS, Status::Suspended)
            .filter(Customer::ID.eq(shared[0]))
            .execute(db)
            .await
            .expect("update customer"),
        1
    );
    assert_eq!(
        Customer::query(&b)
            .filter(Customer::EMAIL.eq("c1@example.com"))
            .fetch_all(db)
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        Customer::delete(&b)
            .execute(db)
            .await
            .expect("delete all of B"),
        2
    );
    assert_eq!(Customer::query(&b).count(db).await.expect("count"), 0);

    // A is exactly as it was.
    let (a_invoices_after, a_customers_after) = snapshot(db, &a).await;
    assert_eq!(a_invoices_after, a_invoices);
    assert_eq!(a_customers_after, a_customers);
    assert_eq!(a_customers_after.len(), 2);
}

/// Transactions bound to one scope refuse other tenants' statements.
pub async fn transaction_suite(db: &TenantDb) {
    let a = scope("acme");
    let b = scope("globex");
    let before = Invoice::query(&a).count(db).await.expect("count");

    let mut tx = db.begin(&a).await.expect("begin");
    let refused = Invoice::query(&b).fetch_all(&mut tx).await;
    assert!(
        matches!(&refused, Err(Error::ScopeMismatch { transaction, statement })
            if transaction.as_str() == "acme" && statement.as_str() == "globex"),
        "{refused:?}"
    );
    let refused_write = Invoice::insert(
        &b,
        NewInvoice {
            amount_cents: 1,
            customer_email: "b@example.com".into(),
        },
    )
    .execute(&mut tx)
    .await;
    assert!(matches!(refused_write, Err(Error::ScopeMismatch { .. })));
    Invoice::insert(
        &a,
        NewInvoice {
            amount_cents: 5,
            customer_email: "tx@example.com".into(),
        },
    )
    .execute(&mut tx)
    .await
    .expect("insert in tx");
    assert_eq!(
        Invoice::query(&a).count(&mut tx).await.expect("count"),
        before + 1
    );
    // Global models run on any tenant's transaction.
    Plan::query()
        .fetch_all(&mut tx)
        .await
        .expect("global in tx");
    tx.rollback().await.expect("rollback");
    assert_eq!(Invoice::query(&a).count(db).await.expect("count"), before);

    let mut tx = db.begin(&a).await.expect("begin");
    Invoice::insert(
        &a,
        NewInvoice {
            amount_cents: 6,
            customer_email: "tx@example.com".into(),
        },
    )
    .execute(&mut tx)
    .await
    .expect("insert in tx");
    tx.commit().await.expect("commit");
    assert_eq!(
        Invoice::query(&a).count(db).await.expect("count"),
        before + 1
    );
    assert_eq!(Invoice::query(&b).count(db).await.expect("count"), 0);
}

/// Global models, and a round trip of every column type.
pub async fn global_and_types_suite(db: &TenantDb) {
    let free = Plan::insert(NewPlan {
        name: "free".into(),
    })
    .fetch_one(db)
    .await
    .expect("insert plan");
    Plan::insert(NewPlan { name: "pro".into() })
        .execute(db)
        .await
        .expect("insert plan");
    assert_eq!(Plan::query().count(db).await.expect("count"), 2);
    assert_eq!(Plan::find(free.id).fetch_one(db).await.expect("find"), free);
    assert_eq!(
        Plan::update()
            .set(Plan::NAME, "starter")
            .filter(Plan::ID.eq(free.id))
            .execute(db)
            .await
            .expect("update"),
        1
    );
    let names: Vec<String> = Plan::query()
        .order_by(Plan::NAME.desc())
        .fetch_all(db)
        .await
        .expect("list")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["starter", "pro"]);
    let dup = Plan::insert(NewPlan { name: "pro".into() })
        .execute(db)
        .await;
    assert!(
        dup.as_ref().is_err_and(Error::is_unique_violation),
        "{dup:?}"
    );

    // Every column type round-trips.
    let s = scope("typed");
    let id = Uuid::new_v4();
    let mut row = new_customer(id, "t@example.com", "note");
    row.score = -1.25;
    row.visits = Some(7);
    row.metadata = serde_json::json!({ "nested": [1, 2, { "k": null }] });
    let stored = Customer::insert(&s, row)
        .fetch_one(db)
        .await
        .expect("insert");
    assert_eq!(stored.id, id);
    assert_eq!(stored.score, -1.25);
    assert_eq!(stored.visits, Some(7));
    assert_eq!(
        stored.metadata,
        serde_json::json!({ "nested": [1, 2, { "k": null }] })
    );
    assert!((chrono::Utc::now() - stored.created_at).num_minutes().abs() < 60);
    assert_eq!(
        Customer::find(&s, id).fetch_one(db).await.expect("find"),
        stored
    );
    Customer::update(&s)
        .set(Customer::NOTE, None::<String>)
        .set(Customer::VISITS, None::<i32>)
        .execute(db)
        .await
        .expect("set NULL");
    let nulls = Customer::query(&s)
        .filter(Customer::NOTE.is_null().and(Customer::VISITS.is_null()))
        .fetch_one(db)
        .await
        .expect("IS NULL");
    assert_eq!(nulls.note, None);
    assert_eq!(
        Customer::query(&s)
            .filter(!Customer::ACTIVE.eq(true))
            .count(db)
            .await
            .expect("NOT"),
        0
    );
    assert_eq!(
        Customer::query(&s)
            .filter(Customer::EMAIL.like("t@%"))
            .count(db)
            .await
            .expect("LIKE"),
        1
    );
}

/// Ordering, paging and compound conditions.
pub async fn paging_suite(db: &TenantDb) {
    let s = scope("pager");
    for n in 1..=10 {
        Invoice::insert(
            &s,
            NewInvoice {
                amount_cents: n,
                customer_email: format!("p{n}@example.com"),
            },
        )
        .execute(db)
        .await
        .expect("insert");
    }
    let page: Vec<i64> = Invoice::query(&s)
        .filter(Invoice::AMOUNT_CENTS.gt(2))
        .order_by(Invoice::AMOUNT_CENTS.desc())
        .limit(3)
        .offset(2)
        .fetch_all(db)
        .await
        .expect("page")
        .into_iter()
        .map(|i| i.amount_cents)
        .collect();
    assert_eq!(page, [8, 7, 6]);
    let rest = Invoice::query(&s)
        .order_by(Invoice::AMOUNT_CENTS.asc())
        .offset(8)
        .fetch_all(db)
        .await
        .expect("offset without limit");
    assert_eq!(rest.len(), 2);
    assert_eq!(
        Invoice::query(&s)
            .limit(4)
            .count(db)
            .await
            .expect("count of a page"),
        4
    );
    assert_eq!(
        Invoice::query(&s)
            .filter(Invoice::AMOUNT_CENTS.ge(5))
            .order_by(Invoice::AMOUNT_CENTS.desc())
            .limit(3)
            .offset(4)
            .count(db)
            .await
            .expect("count of an ordered page"),
        2
    );
    assert_eq!(
        Invoice::query(&s)
            .filter(Invoice::ID.is_in(Vec::<i64>::new()))
            .count(db)
            .await
            .expect("empty IN"),
        0
    );
    let ordered: Vec<i64> = Invoice::query(&s)
        .filter(Invoice::AMOUNT_CENTS.le(3).or(Invoice::AMOUNT_CENTS.ge(9)))
        .order_by(Invoice::AMOUNT_CENTS.asc())
        .order_by(Invoice::ID.desc())
        .fetch_all(db)
        .await
        .expect("or")
        .into_iter()
        .map(|i| i.amount_cents)
        .collect();
    assert_eq!(ordered, [1, 2, 3, 9, 10]);
}
