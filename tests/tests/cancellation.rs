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

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use sqlx::mysql::MySqlPool;
use sqlx::postgres::PgPool;
use tenant_core::prelude::*;
use tenant_tests::models::{self, Invoice, NewInvoice, NewPlan, Plan};
use tenant_tests::suites::scope;
use tenant_tests::{MyTestDb, PgTestDb};

/// Polls `inner` at most `polls` times; drops it if it is still pending.
struct DropAfter<F> {
    inner: Pin<Box<F>>,
    polls_left: usize,
}

impl<F: Future> Future for DropAfter<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.inner.as_mut().poll(cx) {
            Poll::Ready(out) => Poll::Ready(Some(out)),
            Poll::Pending => {
                self.polls_left -= 1;
                if self.polls_left == 0 {
                    Poll::Ready(None)
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

fn drop_after<F: Future>(inner: F, polls: usize) -> DropAfter<F> {
    DropAfter {
        inner: Box::pin(inner),
        polls_left: polls,
    }
}

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
}

const OPS: [Op; 11] = [
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
        Op::GlobalQuery => drop(Plan::query().fetch_all(exec).await?),
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

/// Checks the state of the single pooled connection after a drop.
#[derive(Clone, Copy)]
enum Probe<'a> {
    Sqlite,
    Postgres { owner: &'a PgPool },
    MySql { owner: &'a MySqlPool },
}

impl Probe<'_> {
    async fn check(self, db: &TenantDb, when: &str) {
        match self {
            Probe::Sqlite => {
                let pool = db.as_sqlite().expect("sqlite");
                let mut conn = pool.acquire().await.expect("acquire");
                // BEGIN fails inside a transaction.
                sqlx::query("BEGIN")
                    .execute(&mut *conn)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("{when}: the connection is still in a transaction ({e})")
                    });
                sqlx::query("ROLLBACK")
                    .execute(&mut *conn)
                    .await
                    .expect("rollback the probe");
            }
            Probe::Postgres { owner } => {
                let pool = db.as_postgres().expect("postgres");
                let mut conn = pool.acquire().await.expect("acquire");
                let (pid, setting): (i32, Option<String>) = sqlx::query_as(
                    "SELECT pg_backend_pid(), current_setting('app.tenant_id', true)",
                )
                .fetch_one(&mut *conn)
                .await
                .expect("probe");
                let state: Option<String> =
                    sqlx::query_scalar("SELECT state FROM pg_stat_activity WHERE pid = $1")
                        .bind(pid)
                        .fetch_one(owner)
                        .await
                        .expect("pg_stat_activity");
                assert_eq!(
                    state.as_deref(),
                    Some("idle"),
                    "{when}: the pooled connection is not idle (setting {setting:?})"
                );
                assert!(
                    setting.as_deref().unwrap_or("").is_empty(),
                    "{when}: app.tenant_id survived on the pooled connection: {setting:?}"
                );
            }
            Probe::MySql { owner } => {
                let pool = db.as_mysql().expect("mysql");
                let mut conn = pool
                    .acquire()
                    .await
                    .unwrap_or_else(|e| panic!("{when}: acquire: {e}"));
                let (id, in_transaction): (u64, i64) =
                    sqlx::query_as("SELECT CONNECTION_ID(), CAST(@@in_transaction AS SIGNED)")
                        .fetch_one(&mut *conn)
                        .await
                        .expect("probe");
                assert_eq!(
                    in_transaction, 0,
                    "{when}: the pooled connection is still in a transaction"
                );
                // And as the server sees it: no InnoDB transaction open for
                // the connection.
                let open: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_mysql_thread_id = ?",
                )
                .bind(id)
                .fetch_one(owner)
                .await
                .expect("innodb_trx");
                assert_eq!(
                    open, 0,
                    "{when}: InnoDB has a transaction open on the pooled connection"
                );
            }
        }
        // Another tenant's write on the same connection is committed for
        // real: visible after the fact, not swallowed by a stale transaction.
        let globex = scope("globex");
        let marker = Invoice::insert(&globex, new_invoice(424_242))
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{when}: globex's insert failed: {e}"));
        match self {
            Probe::Sqlite => {
                let found = Invoice::find(&globex, marker.id)
                    .fetch_optional(db)
                    .await
                    .expect("find marker");
                assert!(found.is_some(), "{when}: globex's write is gone");
            }
            Probe::Postgres { owner } => {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM invoices WHERE id = $1 AND tenant_id = 'globex'",
                )
                .bind(marker.id)
                .fetch_one(owner)
                .await
                .expect("owner count");
                assert_eq!(
                    n, 1,
                    "{when}: globex's acknowledged insert is not committed"
                );
            }
            Probe::MySql { owner } => {
                // Another connection (the owner's) sees only committed rows.
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM invoices WHERE id = ? AND tenant_id = 'globex'",
                )
                .bind(marker.id)
                .fetch_one(owner)
                .await
                .expect("owner count");
                assert_eq!(
                    n, 1,
                    "{when}: globex's acknowledged insert is not committed"
                );
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
    let mut pg = PgTestDb::create().await;
    pg.execute_script(models::POSTGRES_SCHEMA).await;
    if rls {
        pg.execute_script(&models::postgres_policies()).await;
    }
    let role = pg.create_app_role().await;
    let pool = pg.pool_as(&role, 1).await;
    let db = if rls {
        TenantDb::postgres_with_rls(pool)
    } else {
        TenantDb::postgres(pool)
    };
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
    let mut my = MyTestDb::create().await;
    my.execute_script(models::MYSQL_SCHEMA).await;
    let user = my.create_app_user().await;
    let db = TenantDb::mysql(my.pool_as(&user, 1).await);
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
    let pool = db.as_postgres().expect("postgres").clone();
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
