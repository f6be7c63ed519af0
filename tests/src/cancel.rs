//! The cancellation probe shared by `cancellation.rs` and `bulk_writes.rs`:
//! drop a future after its k-th poll, then check that the single pooled
//! connection is clean.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use sqlx::mysql::MySqlPool;
use sqlx::postgres::PgPool;
use tenant_core::prelude::*;

use crate::models::{self, Invoice, NewInvoice};
use crate::suites::scope;
use crate::{MyTestDb, PgTestDb};

/// Polls `inner` at most `polls` times; drops it if it is still pending.
pub struct DropAfter<F> {
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

/// Polls `inner` at most `polls` times.
pub fn drop_after<F: Future>(inner: F, polls: usize) -> DropAfter<F> {
    DropAfter {
        inner: Box::pin(inner),
        polls_left: polls,
    }
}

/// Checks the state of the single pooled connection after a drop.
#[derive(Clone, Copy)]
pub enum Probe<'a> {
    /// SQLite: `BEGIN` must succeed (no transaction open).
    Sqlite,
    /// PostgreSQL: the backend is idle, `app.tenant_id` is empty.
    Postgres {
        /// The owner's pool, to read `pg_stat_activity`.
        owner: &'a PgPool,
    },
    /// MySQL/MariaDB: no transaction, as the session and InnoDB see it.
    MySql {
        /// The owner's pool, to read `innodb_trx`.
        owner: &'a MySqlPool,
    },
}

impl Probe<'_> {
    /// Panics with `when` unless the pool's connection is clean and
    /// another tenant's write on it commits.
    pub async fn check(self, db: &TenantDb, when: &str) {
        match self {
            Probe::Sqlite => {
                let pool = db
                    .raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
                    .expect("sqlite");
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
                let pool = db
                    .raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
                    .expect("postgres");
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
                let pool = db
                    .raw_mysql(&tenant_core::CrossTenant::audited("test fixtures"))
                    .expect("mysql");
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

fn new_invoice(amount: i64) -> NewInvoice {
    NewInvoice {
        amount_cents: amount,
        customer_email: "cancel@example.com".into(),
    }
}

/// PostgreSQL with the test schema (and its policies when `rls`), through a
/// pool of one connection as the application role.
pub async fn postgres_one_connection(rls: bool) -> (PgTestDb, TenantDb) {
    let mut pg = PgTestDb::create().await;
    pg.execute_script(models::POSTGRES_SCHEMA).await;
    if rls {
        pg.execute_script(
            &(models::postgres_policies() + &tenant_core::rls::policy_sql::<models::Payment>()),
        )
        .await;
    }
    let role = pg.create_app_role().await;
    let pool = pg.pool_as(&role, 1).await;
    let db = if rls {
        TenantDb::postgres_with_rls(pool)
    } else {
        TenantDb::postgres(pool)
    };
    (pg, db)
}

/// MySQL/MariaDB with the test schema, through a pool of one connection as
/// a DML-only user.
pub async fn mysql_one_connection() -> (MyTestDb, TenantDb) {
    let mut my = MyTestDb::create().await;
    my.execute_script(models::MYSQL_SCHEMA).await;
    let user = my.create_app_user().await;
    let db = TenantDb::mysql(my.pool_as(&user, 1).await);
    (my, db)
}
