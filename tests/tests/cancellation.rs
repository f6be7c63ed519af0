//! The cancellation harness: every operation, in every mode, is dropped after
//! its k-th poll for k = 1, 2, … until it completes. After each drop the
//! single pooled connection must be clean: not in a transaction, no tenant
//! setting, and another tenant's write on it must commit for real. Runs on
//! SQLite, PostgreSQL (with and without row-level security) and
//! MySQL/MariaDB (which has no tenant setting to leave behind).
//!
//! Every `.await` is a cancellation point (a client that disconnects, a
//! `tokio::time::timeout`, a `select!`); what a dropped future leaves on a
//! pooled connection is what the next request, of any tenant, inherits.

use futures_util::TryStreamExt;
use tenant_core::prelude::*;
use tenant_tests::cancel::{Probe, drop_after, mysql_one_connection, postgres_one_connection};
use tenant_tests::models::{
    Customer, Invoice, NewCustomer, NewInvoice, NewPayment, NewPlan, Payment, Plan, Status,
};
use tenant_tests::suites::scope;
use tenant_tests::{MyTestDb, PgTestDb};

/// The operation kinds: every terminal of every builder, plus transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    FetchAll,
    FetchOptional,
    FetchOne,
    Count,
    Find,
    InsertReturning,
    InsertExecute,
    Update,
    Delete,
    GlobalQuery,
    GlobalInsert,
    /// `insert_many` of 5 rows, 2 per statement (one transaction).
    InsertMany,
    /// `upsert` of a customer.
    Upsert,
    /// `UPDATE … RETURNING` (MySQL: refused before anything is sent).
    UpdateReturning,
    /// `DELETE … RETURNING`.
    DeleteReturning,
    /// An insert whose reference is looked up first (one transaction).
    InsertChecked,
    /// An update that assigns a reference, looked up first.
    UpdateChecked,
    /// `fetch()`, every row of the stream.
    Stream,
    /// `fetch()`, the first row, then the stream is dropped halfway.
    StreamFirst,
}

const OPS: [Op; 19] = [
    Op::FetchAll,
    Op::FetchOptional,
    Op::FetchOne,
    Op::Count,
    Op::Find,
    Op::InsertReturning,
    Op::InsertExecute,
    Op::Update,
    Op::Delete,
    Op::GlobalQuery,
    Op::GlobalInsert,
    Op::InsertMany,
    Op::Upsert,
    Op::UpdateReturning,
    Op::DeleteReturning,
    Op::InsertChecked,
    Op::UpdateChecked,
    Op::Stream,
    Op::StreamFirst,
];

fn new_invoice(amount: i64) -> NewInvoice {
    NewInvoice {
        amount_cents: amount,
        customer_email: "cancel@example.com".into(),
    }
}

/// Runs `op` for acme on `exec`.
async fn run<'c>(op: Op, exec: impl Executor<'c>, n: usize) -> Result<(), Error> {
    let acme = scope("acme");
    match op {
        Op::FetchAll => drop(Invoice::query(&acme).fetch_all(exec).await?),
        Op::FetchOptional => drop(
            Invoice::query(&acme)
                .filter(Invoice::AMOUNT_CENTS.gt(0))
                .order_by(Invoice::ID.desc())
                .fetch_optional(exec)
                .await?,
        ),
        Op::FetchOne => drop(Invoice::query(&acme).limit(1).fetch_one(exec).await?),
        Op::Count => drop(Invoice::query(&acme).count(exec).await?),
        Op::Find => drop(Invoice::find(&acme, 1).fetch_optional(exec).await?),
        Op::InsertReturning => drop(
            Invoice::insert(&acme, new_invoice(n as i64 + 1))
                .fetch_one(exec)
                .await?,
        ),
        Op::InsertExecute => drop(
            Invoice::insert(&acme, new_invoice(n as i64 + 1))
                .execute(exec)
                .await?,
        ),
        Op::Update => drop(
            Invoice::update(&acme)
                .set(Invoice::CUSTOMER_EMAIL, "updated@example.com")
                .filter(Invoice::AMOUNT_CENTS.gt(0))
                .execute(exec)
                .await?,
        ),
        Op::Delete => drop(
            Invoice::delete(&acme)
                .filter(Invoice::AMOUNT_CENTS.eq(-1))
                .execute(exec)
                .await?,
        ),
        Op::UpdateReturning => {
            let result = Invoice::update(&acme)
                .set(Invoice::CUSTOMER_EMAIL, "returned@example.com")
                .filter(Invoice::AMOUNT_CENTS.gt(0))
                .fetch_all(exec)
                .await;
            match result {
                Err(tenant_core::Error::Unsupported { .. }) => {}
                other => drop(other?),
            }
        }
        Op::DeleteReturning => drop(
            Invoice::delete(&acme)
                .filter(Invoice::AMOUNT_CENTS.eq(-1))
                .fetch_all(exec)
                .await?,
        ),
        Op::GlobalQuery => drop(Plan::query().fetch_all(exec).await?),
        Op::Stream => {
            let rows: Vec<Invoice> = Invoice::query(&acme)
                .order_by(Invoice::ID.asc())
                .fetch(exec)
                .try_collect()
                .await?;
            assert!(rows.len() > 1, "acme has rows to stream");
        }
        // Acme has several invoices by now (earlier operations insert).
        Op::StreamFirst => {
            let mut rows = Invoice::query(&acme)
                .order_by(Invoice::ID.asc())
                .fetch(exec);
            assert!(rows.try_next().await?.is_some());
        }
        // Invoice 1 is acme's (seeded first).
        Op::InsertChecked => drop(
            Payment::insert(
                &acme,
                NewPayment {
                    invoice_id: 1,
                    amount_cents: n as i64,
                },
            )
            .execute(exec)
            .await?,
        ),
        Op::UpdateChecked => drop(
            Payment::update(&acme)
                .set(Payment::INVOICE_ID, 1)
                .filter(Payment::AMOUNT_CENTS.ge(0))
                .execute(exec)
                .await?,
        ),
        Op::InsertMany => drop(
            Invoice::insert_many(&acme, (0..5).map(|i| new_invoice(n as i64 + i)))
                .rows_per_statement(2)
                .execute(exec)
                .await?,
        ),
        Op::Upsert => drop(
            Customer::upsert(
                &acme,
                NewCustomer {
                    id: uuid::Uuid::new_v4(),
                    email: "cancel@example.com".into(),
                    status: Status::Active,
                    score: 1.0,
                    active: true,
                    note: Some(format!("upsert {n}")),
                    metadata: serde_json::json!({}),
                    visits: None,
                },
            )
            .on_conflict((Customer::TENANT_ID, Customer::EMAIL))
            .do_update(Customer::NOTE)
            .execute(exec)
            .await?,
        ),
        Op::GlobalInsert => drop(
            Plan::insert(NewPlan {
                name: format!("plan-{}", uuid::Uuid::new_v4()),
            })
            .execute(exec)
            .await?,
        ),
    }
    Ok(())
}

/// How the operation is wrapped.
#[derive(Debug, Clone, Copy)]
enum Wrap {
    /// Straight on the pool.
    Pool,
    /// Inside `db.begin(&acme)` .. `commit()`.
    Commit,
    /// Inside `db.begin(&acme)`, then `rollback()`.
    Rollback,
    /// Inside `db.begin(&acme)`, then the transaction is dropped.
    DropTx,
}

async fn wrapped(db: &TenantDb, op: Op, wrap: Wrap, n: usize) -> Result<(), Error> {
    match wrap {
        Wrap::Pool => run(op, db, n).await,
        Wrap::Commit | Wrap::Rollback | Wrap::DropTx => {
            let mut tx = db.begin(&scope("acme")).await?;
            run(op, &mut tx, n).await?;
            match wrap {
                Wrap::Commit => tx.commit().await,
                Wrap::Rollback => tx.rollback().await,
                _ => {
                    drop(tx);
                    Ok(())
                }
            }
        }
    }
}

/// Drops every operation after each of its polls, checking the connection
/// after every drop. Returns the number of drops made.
async fn harness(db: &TenantDb, probe: Probe<'_>, wraps: &[Wrap]) -> usize {
    let mut drops = 0;
    let mut n = 0;
    for &wrap in wraps {
        for op in OPS {
            let mut completed = false;
            for k in 1..=500 {
                n += 1;
                let outcome = drop_after(wrapped(db, op, wrap, n), k).await;
                match outcome {
                    Some(result) => {
                        result.unwrap_or_else(|e| panic!("{op:?} {wrap:?} failed: {e}"));
                        completed = true;
                        break;
                    }
                    None => {
                        drops += 1;
                        probe
                            .check(db, &format!("{op:?} {wrap:?} dropped after poll {k}"))
                            .await;
                    }
                }
            }
            assert!(completed, "{op:?} {wrap:?} never completed");
            probe.check(db, &format!("{op:?} {wrap:?} completed")).await;
        }
    }
    drops
}

const ALL_WRAPS: [Wrap; 4] = [Wrap::Pool, Wrap::Commit, Wrap::Rollback, Wrap::DropTx];

async fn seed(db: &TenantDb) {
    for tenant in ["acme", "globex"] {
        Invoice::insert(&scope(tenant), new_invoice(100))
            .execute(db)
            .await
            .expect("seed");
    }
}

#[tokio::test]
async fn sqlite_connections_stay_clean_after_every_drop() {
    let db = tenant_tests::suites::sqlite_db().await;
    seed(&db).await;
    let drops = harness(&db, Probe::Sqlite, &ALL_WRAPS).await;
    eprintln!("sqlite: {drops} drops, each followed by a clean connection");
    assert!(
        drops > 0,
        "no operation was ever pending: the harness tested nothing"
    );
}

async fn postgres(rls: bool) -> (PgTestDb, TenantDb) {
    let (pg, db) = postgres_one_connection(rls).await;
    seed(&db).await;
    (pg, db)
}

#[tokio::test]
async fn postgres_connections_stay_clean_after_every_drop() {
    let (pg, db) = postgres(false).await;
    let drops = harness(&db, Probe::Postgres { owner: &pg.owner }, &ALL_WRAPS).await;
    eprintln!("postgres: {drops} drops, each followed by a clean connection");
    assert!(drops > 0);
}

#[tokio::test]
async fn postgres_rls_connections_stay_clean_after_every_drop() {
    let (pg, db) = postgres(true).await;
    let drops = harness(&db, Probe::Postgres { owner: &pg.owner }, &ALL_WRAPS).await;
    eprintln!("postgres+rls: {drops} drops, each followed by a clean connection");
    assert!(drops > 0);
}

/// MySQL/MariaDB through a pool of one connection, as a DML-only user.
async fn mysql() -> (MyTestDb, TenantDb) {
    let (my, db) = mysql_one_connection().await;
    seed(&db).await;
    (my, db)
}

#[tokio::test]
async fn mysql_connections_stay_clean_after_every_drop() {
    let (my, db) = mysql().await;
    let drops = harness(&db, Probe::MySql { owner: &my.owner }, &ALL_WRAPS).await;
    eprintln!("mysql: {drops} drops, each followed by a clean connection");
    assert!(drops > 0);
}

/// The exact scenario of the report: a 20 µs timeout on `begin`, then
/// another tenant's insert on the same (only) connection.
#[tokio::test]
async fn a_timed_out_begin_leaves_no_transaction_behind() {
    for rls in [false, true] {
        let (pg, db) = postgres(rls).await;
        let probe = Probe::Postgres { owner: &pg.owner };
        for _ in 0..50 {
            let _ = tokio::time::timeout(
                std::time::Duration::from_micros(20),
                db.begin(&scope("acme")),
            )
            .await;
            probe
                .check(&db, &format!("timed-out begin (rls: {rls})"))
                .await;
        }
    }
    let (my, db) = mysql().await;
    let probe = Probe::MySql { owner: &my.owner };
    for _ in 0..50 {
        let _ = tokio::time::timeout(
            std::time::Duration::from_micros(20),
            db.begin(&scope("acme")),
        )
        .await;
        probe.check(&db, "timed-out begin (mysql)").await;
    }
}

/// The doctor runs on the application's pool (a health check with a
/// timeout, say): dropped at any point, it leaves the connection clean too.
#[tokio::test]
async fn a_dropped_doctor_leaves_the_connection_clean() {
    let (pg, db) = postgres(true).await;
    let probe = Probe::Postgres { owner: &pg.owner };
    let pool = db
        .raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
        .expect("postgres")
        .clone();
    let models = [
        tenant_core::rls::ModelInfo::of::<Invoice>(),
        tenant_core::rls::ModelInfo::of::<Plan>(),
    ];
    let mut completed = false;
    for k in 1..=2_000 {
        match drop_after(tenant_core::doctor::diagnose(&pool, &models), k).await {
            Some(report) => {
                report.expect("diagnose");
                completed = true;
                break;
            }
            None => {
                probe
                    .check(&db, &format!("doctor dropped after poll {k}"))
                    .await
            }
        }
    }
    assert!(completed, "the doctor never completed");
}
