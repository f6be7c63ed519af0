//! What the SQLite and PostgreSQL benches share: the workloads, the
//! framework, sea-orm and hand-written sqlx contenders (the latter as a macro,
//! since its code is the same text for both pool types), and the sea-orm
//! entity.
#![allow(dead_code, unreachable_pub, unused_macros)]

use std::hint::black_box;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use tenant_benches::data::{UPDATE_TENANT, amount, read_id, update_id};
use tenant_benches::model::{
    INSERT_EMAIL, Invoice, LIST_MIN_AMOUNT, NewInvoice, READ_TENANT, WRITE_TENANT, scope,
};
use tenant_benches::{Contender, contender};
use tenant_core::{Backend, TenantDb, TenantScope};

/// The sea-orm entity of the same table.
pub mod invoice {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoices")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub amount_cents: i64,
        pub customer_email: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A workload of diesel_bench's set, with a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// One row by (tenant, id).
    Find,
    /// `n` rows: filter, ORDER BY id DESC, LIMIT n.
    List(u32),
    /// COUNT(*) of the tenant's rows.
    Count,
    /// One INSERT .. RETURNING.
    Insert,
    /// 100 single-row INSERTs in one transaction.
    Batch100,
    /// UPDATE of one row by id.
    Update,
    /// `Find` on a held connection (a transaction per batch).
    FindTx,
    /// `List(50)` on a held connection.
    List50Tx,
}

impl Workload {
    /// Every workload, in table order.
    pub const ALL: [Workload; 10] = [
        Workload::Find,
        Workload::List(1),
        Workload::List(50),
        Workload::List(100),
        Workload::List(10_000),
        Workload::Count,
        Workload::Insert,
        Workload::Batch100,
        Workload::Update,
        Workload::FindTx,
    ];

    /// The workloads in quick mode: no 10 000-row list.
    pub fn selected() -> Vec<Workload> {
        let mut all = Workload::ALL.to_vec();
        all.push(Workload::List50Tx);
        if tenant_benches::paired::quick() {
            all.retain(|w| *w != Workload::List(10_000));
        }
        // TENANT_BENCH_ONLY=find,list50 narrows the run (for profiling).
        if let Ok(only) = std::env::var("TENANT_BENCH_ONLY") {
            all.retain(|w| only.split(',').any(|name| name == w.name()));
        }
        all
    }

    /// Its name in the tables.
    pub fn name(self) -> String {
        match self {
            Workload::Find => "find".into(),
            Workload::List(n) => format!("list{n}"),
            Workload::Count => "count".into(),
            Workload::Insert => "insert1".into(),
            Workload::Batch100 => "insert100_tx".into(),
            Workload::Update => "update1".into(),
            Workload::FindTx => "find_held_conn".into(),
            Workload::List50Tx => "list50_held_conn".into(),
        }
    }

    /// Whether sea-orm and the floor contenders run it (the held-connection
    /// variants compare the framework with sqlx only).
    pub fn all_contenders(self) -> bool {
        !matches!(self, Workload::FindTx | Workload::List50Tx)
    }
}

/// A string that lives as long as the bench: hand-written code has its SQL
/// as a literal, so it gets a `&'static str` too.
pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The SQL of every workload, taken from the builders' `to_sql()`, so the
/// hand-written contenders run exactly the framework's text.
#[derive(Debug, Clone, Copy)]
pub struct Sqls {
    pub find: &'static str,
    pub list: fn(u32) -> &'static str,
    pub count: &'static str,
    pub insert_returning: &'static str,
    pub insert: &'static str,
    pub update: &'static str,
    /// Whether the update binds the tenant first (`$1`), or, with MySQL's
    /// positional `?`, after the assignment.
    pub update_tenant_first: bool,
}

fn list_builder(scope: &TenantScope, n: u32) -> tenant_core::Select<Invoice> {
    Invoice::query(scope)
        .filter(Invoice::AMOUNT_CENTS.gt(LIST_MIN_AMOUNT))
        .order_by(Invoice::ID.desc())
        .limit(n)
}

fn list_sql(n: u32) -> &'static str {
    // One leaked string per distinct limit; the bench uses a handful.
    leak(list_builder(&scope(READ_TENANT), n).to_sql())
}

fn list_sql_mysql(n: u32) -> &'static str {
    leak(list_builder(&scope(READ_TENANT), n).to_sql_for(Backend::MySql))
}

impl Sqls {
    /// Renders every statement once, in PostgreSQL's dialect (which SQLite
    /// reads too).
    pub fn new() -> Self {
        Self::for_backend(Backend::Postgres)
    }

    /// Renders every statement once, in `backend`'s dialect.
    pub fn for_backend(backend: Backend) -> Self {
        let read = scope(READ_TENANT);
        let write = scope(WRITE_TENANT);
        let update = scope(UPDATE_TENANT);
        let insert = Invoice::insert(&write, new_invoice(0));
        let sqls = Sqls {
            find: Invoice::find(&read, 1).to_sql_for(backend),
            list: if backend == Backend::MySql {
                list_sql_mysql
            } else {
                list_sql
            },
            count: leak(Invoice::query(&read).to_count_sql_for(backend)),
            insert_returning: insert.to_sql_for(backend),
            insert: insert.to_execute_sql_for(backend),
            update: leak(update_builder(&update, 0).to_sql_for(backend)),
            update_tenant_first: backend.numbered_placeholders(),
        };
        eprintln!("find:    {}", sqls.find);
        eprintln!("list:    {}", (sqls.list)(50));
        eprintln!("count:   {}", sqls.count);
        eprintln!("insert:  {}", sqls.insert_returning);
        eprintln!("update:  {}", sqls.update);
        sqls
    }
}

/// The row every insert writes (its amount varies).
pub fn new_invoice(k: u64) -> NewInvoice {
    NewInvoice {
        amount_cents: amount(k),
        customer_email: INSERT_EMAIL.to_owned(),
    }
}

fn update_builder(
    scope: &TenantScope,
    k: u64,
) -> tenant_core::Update<Invoice, tenant_core::Assigned> {
    Invoice::update(scope)
        .set(Invoice::AMOUNT_CENTS, amount(k))
        .filter(Invoice::ID.eq(update_id(k)))
}

/// Hands out `n` consecutive operation numbers per batch.
pub struct Counter(u64);

impl Counter {
    pub fn new() -> Self {
        Counter(0)
    }

    pub fn take(&mut self, n: u64) -> std::ops::Range<u64> {
        let start = self.0;
        self.0 += n;
        start..self.0
    }
}

/// Rows a list of `n` returns (every tenant has more than 10 000 matches).
pub fn expected_rows(n: u32) -> usize {
    n as usize
}

/// The framework's contender for `w`.
pub fn framework<'a>(w: Workload, db: &'a TenantDb) -> Contender<'a> {
    let read = scope(READ_TENANT);
    let write = scope(WRITE_TENANT);
    let upd = scope(UPDATE_TENANT);
    let mut counter = Counter::new();
    contender("framework", move |n| {
        let ks = counter.take(n);
        let (read, write, upd) = (read.clone(), write.clone(), upd.clone());
        async move {
            match w {
                Workload::Find => {
                    for k in ks {
                        let row = Invoice::find(&read, read_id(k))
                            .fetch_optional(db)
                            .await
                            .expect("find");
                        assert!(black_box(row).is_some());
                    }
                }
                Workload::List(limit) => {
                    for _ in ks {
                        let rows = list_builder(&read, limit)
                            .fetch_all(db)
                            .await
                            .expect("list");
                        assert_eq!(black_box(rows).len(), expected_rows(limit));
                    }
                }
                Workload::Count => {
                    for _ in ks {
                        let count = Invoice::query(&read).count(db).await.expect("count");
                        assert!(black_box(count) > 0);
                    }
                }
                Workload::Insert => {
                    for k in ks {
                        let row = Invoice::insert(&write, new_invoice(k))
                            .fetch_one(db)
                            .await
                            .expect("insert");
                        black_box(row);
                    }
                }
                Workload::Batch100 => {
                    for k in ks {
                        let mut tx = db.begin(&write).await.expect("begin");
                        for j in 0..100 {
                            Invoice::insert(&write, new_invoice(k * 100 + j))
                                .execute(&mut tx)
                                .await
                                .expect("insert");
                        }
                        tx.commit().await.expect("commit");
                    }
                }
                Workload::Update => {
                    for k in ks {
                        let changed = update_builder(&upd, k).execute(db).await.expect("update");
                        assert_eq!(black_box(changed), 1);
                    }
                }
                Workload::FindTx => {
                    let mut tx = db.begin(&read).await.expect("begin");
                    for k in ks {
                        let row = Invoice::find(&read, read_id(k))
                            .fetch_optional(&mut tx)
                            .await
                            .expect("find");
                        assert!(black_box(row).is_some());
                    }
                    tx.commit().await.expect("commit");
                }
                Workload::List50Tx => {
                    let mut tx = db.begin(&read).await.expect("begin");
                    for _ in ks {
                        let rows = list_builder(&read, 50)
                            .fetch_all(&mut tx)
                            .await
                            .expect("list");
                        assert_eq!(black_box(rows).len(), 50);
                    }
                    tx.commit().await.expect("commit");
                }
            }
        }
    })
}

/// sea-orm's contender for `w` (on the same sqlx pool).
pub fn seaorm<'a>(w: Workload, orm: &'a DatabaseConnection) -> Contender<'a> {
    use invoice::{ActiveModel, Column, Entity};
    let mut counter = Counter::new();
    contender("sea-orm", move |n| {
        let ks = counter.take(n);
        async move {
            let new = |k: u64| ActiveModel {
                tenant_id: Set(WRITE_TENANT.to_owned()),
                amount_cents: Set(amount(k)),
                customer_email: Set(INSERT_EMAIL.to_owned()),
                ..Default::default()
            };
            match w {
                Workload::Find => {
                    for k in ks {
                        let row = Entity::find()
                            .filter(Column::TenantId.eq(READ_TENANT))
                            .filter(Column::Id.eq(read_id(k)))
                            .one(orm)
                            .await
                            .expect("find");
                        assert!(black_box(row).is_some());
                    }
                }
                Workload::List(limit) => {
                    for _ in ks {
                        let rows = Entity::find()
                            .filter(Column::TenantId.eq(READ_TENANT))
                            .filter(Column::AmountCents.gt(LIST_MIN_AMOUNT))
                            .order_by_desc(Column::Id)
                            .limit(u64::from(limit))
                            .all(orm)
                            .await
                            .expect("list");
                        assert_eq!(black_box(rows).len(), expected_rows(limit));
                    }
                }
                Workload::Count => {
                    for _ in ks {
                        let count = Entity::find()
                            .filter(Column::TenantId.eq(READ_TENANT))
                            .count(orm)
                            .await
                            .expect("count");
                        assert!(black_box(count) > 0);
                    }
                }
                Workload::Insert => {
                    for k in ks {
                        let row = new(k).insert(orm).await.expect("insert");
                        black_box(row);
                    }
                }
                Workload::Batch100 => {
                    for k in ks {
                        let txn = orm.begin().await.expect("begin");
                        for j in 0..100 {
                            Entity::insert(new(k * 100 + j))
                                .exec_without_returning(&txn)
                                .await
                                .expect("insert");
                        }
                        txn.commit().await.expect("commit");
                    }
                }
                Workload::Update => {
                    for k in ks {
                        let result = Entity::update_many()
                            .col_expr(Column::AmountCents, Expr::value(amount(k)))
                            .filter(Column::TenantId.eq(UPDATE_TENANT))
                            .filter(Column::Id.eq(update_id(k)))
                            .exec(orm)
                            .await
                            .expect("update");
                        assert_eq!(black_box(result.rows_affected), 1);
                    }
                }
                Workload::FindTx | Workload::List50Tx => unreachable!("framework and sqlx only"),
            }
        }
    })
}

/// Hand-written sqlx for `$w` on `$pool` (a `&'a SqlitePool` or
/// `&'a PgPool`), with the framework's SQL text and binds in the same order.
macro_rules! sqlx_contender {
    ($w:expr, $pool:expr, $sqls:expr) => {{
        use std::hint::black_box;
        use tenant_benches::data::{UPDATE_TENANT, amount, read_id, update_id};
        use tenant_benches::model::{
            INSERT_EMAIL, InvoiceRow, LIST_MIN_AMOUNT, READ_TENANT, WRITE_TENANT,
        };
        let w: common::Workload = $w;
        let pool = $pool;
        let sqls: common::Sqls = $sqls;
        let list_sql = match w {
            common::Workload::List(n) => (sqls.list)(n),
            _ => (sqls.list)(50),
        };
        let mut counter = common::Counter::new();
        tenant_benches::contender("sqlx", move |n| {
            let ks = counter.take(n);
            async move {
                match w {
                    common::Workload::Find => {
                        for k in ks {
                            let row: Option<InvoiceRow> = sqlx::query_as(sqls.find)
                                .bind(READ_TENANT)
                                .bind(read_id(k))
                                .fetch_optional(pool)
                                .await
                                .expect("find");
                            assert!(black_box(row).is_some());
                        }
                    }
                    common::Workload::List(limit) => {
                        for _ in ks {
                            let rows: Vec<InvoiceRow> = sqlx::query_as(list_sql)
                                .bind(READ_TENANT)
                                .bind(LIST_MIN_AMOUNT)
                                .bind(i64::from(limit))
                                .fetch_all(pool)
                                .await
                                .expect("list");
                            assert_eq!(black_box(rows).len(), common::expected_rows(limit));
                        }
                    }
                    common::Workload::Count => {
                        for _ in ks {
                            let count: i64 = sqlx::query_scalar(sqls.count)
                                .bind(READ_TENANT)
                                .fetch_one(pool)
                                .await
                                .expect("count");
                            assert!(black_box(count) > 0);
                        }
                    }
                    common::Workload::Insert => {
                        for k in ks {
                            let row: InvoiceRow = sqlx::query_as(sqls.insert_returning)
                                .bind(WRITE_TENANT)
                                .bind(amount(k))
                                .bind(INSERT_EMAIL)
                                .fetch_one(pool)
                                .await
                                .expect("insert");
                            black_box(row);
                        }
                    }
                    common::Workload::Batch100 => {
                        for k in ks {
                            let mut tx = pool.begin().await.expect("begin");
                            for j in 0..100 {
                                sqlx::query(sqls.insert)
                                    .bind(WRITE_TENANT)
                                    .bind(amount(k * 100 + j))
                                    .bind(INSERT_EMAIL)
                                    .execute(&mut *tx)
                                    .await
                                    .expect("insert");
                            }
                            tx.commit().await.expect("commit");
                        }
                    }
                    common::Workload::Update => {
                        for k in ks {
                            // `+ 1`: the framework contender writes
                            // `amount(k)` to the same rows, so each write
                            // here really changes the row (InnoDB skips the
                            // redo log for an update that changes nothing,
                            // which made the second contender look 2x
                            // faster on MySQL).
                            let query = sqlx::query(sqls.update);
                            let query = if sqls.update_tenant_first {
                                query.bind(UPDATE_TENANT).bind(amount(k) + 1)
                            } else {
                                query.bind(amount(k) + 1).bind(UPDATE_TENANT)
                            };
                            let done = query
                                .bind(update_id(k))
                                .execute(pool)
                                .await
                                .expect("update");
                            assert_eq!(black_box(done.rows_affected()), 1);
                        }
                    }
                    common::Workload::FindTx => {
                        let mut tx = pool.begin().await.expect("begin");
                        for k in ks {
                            let row: Option<InvoiceRow> = sqlx::query_as(sqls.find)
                                .bind(READ_TENANT)
                                .bind(read_id(k))
                                .fetch_optional(&mut *tx)
                                .await
                                .expect("find");
                            assert!(black_box(row).is_some());
                        }
                        tx.commit().await.expect("commit");
                    }
                    common::Workload::List50Tx => {
                        let mut tx = pool.begin().await.expect("begin");
                        for _ in ks {
                            let rows: Vec<InvoiceRow> = sqlx::query_as(list_sql)
                                .bind(READ_TENANT)
                                .bind(LIST_MIN_AMOUNT)
                                .bind(50_i64)
                                .fetch_all(&mut *tx)
                                .await
                                .expect("list");
                            assert_eq!(black_box(rows).len(), 50);
                        }
                        tx.commit().await.expect("commit");
                    }
                }
            }
        })
    }};
}

/// A current-thread runtime: the contenders run one at a time, and on one
/// CPU (`taskset -c 1`) a thread pool only adds hand-offs.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Criterion configured from the command line (`cargo bench -- --quick`
/// and the like).
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default().configure_from_args()
}

/// SQL for rusqlite: SQLite numbers `$n` parameters by first appearance,
/// `?n` by `n` (what the framework's numbering means).
pub fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}
