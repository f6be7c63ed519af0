//! Relations and reports against the same statements written by hand with
//! sqlx (the framework's SQL text, same pool, same decoding work), on
//! SQLite in memory and PostgreSQL on loopback:
//!
//! - `join50`: 50 invoices with their customers (`inner_join`);
//! - `children50x10`: 50 customers with their 10 invoices each
//!   (`fetch_with_children`: two statements; by hand: the same two
//!   statements and a `HashMap` grouping);
//! - `report`: revenue per status over one tenant's rows (1 000 000 on
//!   PostgreSQL, 200 000 on SQLite), `select(..).group_by(..)`.
//!
//! - `insert_checked`: one invoice whose `customer_id` is looked up for the
//!   tenant first (the same-tenant reference check on write), against the
//!   same lookup and insert by hand in a transaction (`sqlx`) and against
//!   the bare insert with no lookup (`sqlx_unchecked`: what the check
//!   costs).
//!
//! Targets: join ≤ 1.05×, children ≤ 1.1×, report ≤ 1.05× hand-written.
//! `scripts/bench --only relations` runs it paired.

#![allow(dead_code)] // the models are read whole, as an application would

mod common;

use std::collections::HashMap;
use std::hint::black_box;

use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Row, SqlSafeStr, SqlStr};
use tenant_benches::data;
use tenant_benches::{Contender, contender, paired, results};
use tenant_core::prelude::*;
use tenant_core::{Backend, count};
use tenant_tests::PgTestDb;

/// A customer of a tenant.
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "customers")]
pub struct Customer {
    #[tenant(primary_key, client_generated)]
    id: i64,
    #[tenant(tenant_id)]
    tenant_id: TenantId,
    name: String,
}

/// An invoice of one of the tenant's customers.
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key, client_generated)]
    id: i64,
    #[tenant(tenant_id)]
    tenant_id: TenantId,
    #[tenant(references = Customer)]
    customer_id: i64,
    status: String,
    amount_cents: i64,
}

/// The tenant of the join and children workloads: 500 customers with 10
/// invoices each.
const SMALL: &str = "acme";
/// The tenant of the report.
const BIG: &str = "big";

fn scope(id: &str) -> TenantScope {
    TenantScope::new(TenantId::parse(id).expect("tenant id"))
}

fn sqlite_schema(big_rows: u32) -> String {
    format!(
        "CREATE TABLE customers (id INTEGER NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
             PRIMARY KEY (tenant_id, id));
         CREATE TABLE invoices (id INTEGER NOT NULL, tenant_id TEXT NOT NULL,
             customer_id INTEGER NOT NULL, status TEXT NOT NULL, amount_cents INTEGER NOT NULL,
             PRIMARY KEY (tenant_id, id));
         CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id);
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 500)
             INSERT INTO customers SELECT n, '{SMALL}', 'customer ' || n FROM g;
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 5000)
             INSERT INTO invoices SELECT n, '{SMALL}', 1 + (n - 1) / 10,
                 CASE n % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'open' ELSE 'void' END, n * 7 % 10000 FROM g;
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {big_rows})
             INSERT INTO invoices SELECT n, '{BIG}', 1 + n % 1000,
                 CASE n % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'open' ELSE 'void' END, n % 10000 FROM g;
         ANALYZE;"
    )
}

fn postgres_schema(big_rows: u32) -> String {
    format!(
        "CREATE TABLE customers (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
             PRIMARY KEY (tenant_id, id));
         CREATE TABLE invoices (id BIGINT NOT NULL, tenant_id TEXT NOT NULL,
             customer_id BIGINT NOT NULL, status TEXT NOT NULL, amount_cents BIGINT NOT NULL,
             PRIMARY KEY (tenant_id, id));
         CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id);
         INSERT INTO customers SELECT g, '{SMALL}', 'customer ' || g FROM generate_series(1, 500) g;
         INSERT INTO invoices SELECT g, '{SMALL}', 1 + (g - 1) / 10,
             CASE g % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'open' ELSE 'void' END, g * 7 % 10000
             FROM generate_series(1, 5000) g;
         INSERT INTO invoices SELECT g, '{BIG}', 1 + g % 1000,
             CASE g % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'open' ELSE 'void' END, g % 10000
             FROM generate_series(1, {big_rows}) g;
         ANALYZE customers;
         ANALYZE invoices;"
    )
}

fn join_query() -> tenant_core::Join<Invoice, Customer> {
    Invoice::query(&scope(SMALL))
        .order_by(Invoice::ID.asc())
        .limit(50)
        .inner_join::<Customer>()
}

fn parents_query() -> tenant_core::Select<Customer> {
    Customer::query(&scope(SMALL))
        .order_by(Customer::ID.asc())
        .limit(50)
}

type Report = tenant_core::Aggregate<
    Invoice,
    (
        tenant_core::Column<Invoice, String>,
        tenant_core::Count,
        tenant_core::Summed<Invoice, i64>,
    ),
>;

fn report_query() -> Report {
    Invoice::query(&scope(BIG))
        .select((Invoice::STATUS, count(), Invoice::AMOUNT_CENTS.sum()))
        .group_by(Invoice::STATUS)
        .order_by(Invoice::STATUS.asc())
}

fn sql(text: String) -> SqlStr {
    AssertSqlSafe(text).into_sql_str()
}

/// Ids of the invoices the insert workload writes: above every seeded id.
static NEXT_ID: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(100_000_000);

fn next_id() -> i64 {
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn framework<'a>(workload: &'static str, db: &'a TenantDb) -> Contender<'a> {
    contender("framework", move |n| async move {
        for _ in 0..n {
            match workload {
                "insert_checked" => {
                    let id = next_id();
                    let done = Invoice::insert(
                        &scope(SMALL),
                        NewInvoice {
                            id,
                            customer_id: id % 500 + 1,
                            status: "open".into(),
                            amount_cents: 100,
                        },
                    )
                    .execute(db)
                    .await
                    .expect("insert");
                    assert_eq!(black_box(done), 1);
                }
                "join50" => {
                    let rows = join_query().fetch_all(db).await.expect("join");
                    assert_eq!(black_box(rows).len(), 50);
                }
                "children50x10" => {
                    let groups = parents_query()
                        .fetch_with_children::<Invoice>(db)
                        .await
                        .expect("children");
                    assert_eq!(black_box(groups).len(), 50);
                }
                _ => {
                    let rows = report_query().fetch_all(db).await.expect("report");
                    assert_eq!(black_box(rows).len(), 3);
                }
            }
        }
    })
}

/// The same statements by hand: the framework's text, binds in the same
/// order, rows read by index into the same structs.
macro_rules! sqlx_contender {
    ($workload:expr, $pool:expr, $db:ty, $backend:expr) => {{
        let pool = $pool;
        let backend = $backend;
        let join = sql(join_query().to_sql_for(backend));
        let parents = sql(parents_query().to_sql_for(backend));
        let report = sql(report_query().to_sql_for(backend));
        let placeholder = move |n: usize| -> String {
            match backend {
                Backend::Postgres => format!("${n}"),
                _ => "?".to_owned(),
            }
        };
        let placeholders = move |n: usize| -> String {
            (0..n)
                .map(move |i| match backend {
                    Backend::Postgres => format!("${}", i + 2),
                    _ => "?".to_owned(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let q = |c: &str| match backend {
            Backend::MySql => format!("`{c}`"),
            _ => format!("\"{c}\""),
        };
        let children_head = format!(
            "SELECT {inv}.{id}, {inv}.{t}, {inv}.{cid}, {inv}.{st}, {inv}.{amt} FROM {inv} WHERE {inv}.{t} = {p1} AND {inv}.{cid} IN (",
            inv = q("invoices"),
            id = q("id"),
            t = q("tenant_id"),
            cid = q("customer_id"),
            st = q("status"),
            amt = q("amount_cents"),
            p1 = if backend == Backend::Postgres { "$1" } else { "?" },
        );
        let insert = sql(format!(
            "INSERT INTO {inv} ({t}, {id}, {cid}, {st}, {amt}) VALUES ({p1}, {p2}, {p3}, {p4}, {p5})",
            inv = q("invoices"),
            id = q("id"),
            t = q("tenant_id"),
            cid = q("customer_id"),
            st = q("status"),
            amt = q("amount_cents"),
            p1 = placeholder(1),
            p2 = placeholder(2),
            p3 = placeholder(3),
            p4 = placeholder(4),
            p5 = placeholder(5),
        ));
        let lookup = sql(format!(
            "{head}{cus}.{t} = {p1} AND {cus}.{id} IN ({p2}){tail}",
            head = match backend {
                Backend::Postgres => format!("SELECT COUNT(DISTINCT \"__found\".\"__key\") FROM (SELECT {}.{} AS \"__key\" FROM {} WHERE ", q("customers"), q("id"), q("customers")),
                _ => format!("SELECT COUNT(DISTINCT {}.{}) FROM {} WHERE ", q("customers"), q("id"), q("customers")),
            },
            tail = match backend {
                Backend::Postgres => " FOR KEY SHARE) AS \"__found\"",
                _ => "",
            },
            cus = q("customers"),
            id = q("id"),
            t = q("tenant_id"),
            p1 = placeholder(1),
            p2 = placeholder(2),
        ));
        let workload: &'static str = $workload;
        if workload == "insert_checked" {
            let (insert2, lookup2) = (insert.clone(), lookup.clone());
            vec![
                contender("sqlx", move |n| {
                    let (insert, lookup) = (insert.clone(), lookup.clone());
                    async move {
                        for _ in 0..n {
                            let id = next_id();
                            let mut tx = pool.begin().await.expect("begin");
                            let found: i64 = sqlx::query_scalar::<$db, i64>(lookup.clone())
                                .bind(SMALL)
                                .bind(id % 500 + 1)
                                .fetch_one(&mut *tx)
                                .await
                                .expect("lookup");
                            assert_eq!(found, 1);
                            let done = sqlx::query::<$db>(insert.clone())
                                .bind(SMALL)
                                .bind(id)
                                .bind(id % 500 + 1)
                                .bind("open")
                                .bind(100_i64)
                                .execute(&mut *tx)
                                .await
                                .expect("insert");
                            tx.commit().await.expect("commit");
                            assert_eq!(black_box(done.rows_affected()), 1);
                        }
                    }
                }),
                contender("sqlx_unchecked", move |n| {
                    let insert = insert2.clone();
                    let _ = &lookup2;
                    async move {
                        for _ in 0..n {
                            let id = next_id();
                            let done = sqlx::query::<$db>(insert.clone())
                                .bind(SMALL)
                                .bind(id)
                                .bind(id % 500 + 1)
                                .bind("open")
                                .bind(100_i64)
                                .execute(pool)
                                .await
                                .expect("insert");
                            assert_eq!(black_box(done.rows_affected()), 1);
                        }
                    }
                }),
            ]
        } else {
        vec![contender("sqlx", move |n| {
            let (join, parents, report) = (join.clone(), parents.clone(), report.clone());
            let children_head = children_head.clone();
            async move {
                for _ in 0..n {
                    match workload {
                        "join50" => {
                            let rows: Vec<(Invoice, Customer)> = sqlx::query::<$db>(join.clone())
                                .bind(SMALL)
                                .bind(50_i64)
                                .try_map(|r: <$db as sqlx::Database>::Row| {
                                    Ok((
                                        Invoice {
                                            id: r.try_get(0)?,
                                            tenant_id: r.try_get(1)?,
                                            customer_id: r.try_get(2)?,
                                            status: r.try_get(3)?,
                                            amount_cents: r.try_get(4)?,
                                        },
                                        Customer {
                                            id: r.try_get(5)?,
                                            tenant_id: r.try_get(6)?,
                                            name: r.try_get(7)?,
                                        },
                                    ))
                                })
                                .fetch_all(pool)
                                .await
                                .expect("join");
                            assert_eq!(black_box(rows).len(), 50);
                        }
                        "children50x10" => {
                            let customers: Vec<Customer> = sqlx::query::<$db>(parents.clone())
                                .bind(SMALL)
                                .bind(50_i64)
                                .try_map(|r: <$db as sqlx::Database>::Row| {
                                    Ok(Customer {
                                        id: r.try_get(0)?,
                                        tenant_id: r.try_get(1)?,
                                        name: r.try_get(2)?,
                                    })
                                })
                                .fetch_all(pool)
                                .await
                                .expect("parents");
                            let text = format!("{children_head}{})", placeholders(customers.len()));
                            let mut query = sqlx::query::<$db>(sql(text)).bind(SMALL);
                            for c in &customers {
                                query = query.bind(c.id);
                            }
                            let invoices: Vec<Invoice> = query
                                .try_map(|r: <$db as sqlx::Database>::Row| {
                                    Ok(Invoice {
                                        id: r.try_get(0)?,
                                        tenant_id: r.try_get(1)?,
                                        customer_id: r.try_get(2)?,
                                        status: r.try_get(3)?,
                                        amount_cents: r.try_get(4)?,
                                    })
                                })
                                .fetch_all(pool)
                                .await
                                .expect("children");
                            let mut by_parent: HashMap<i64, Vec<Invoice>> = HashMap::new();
                            for invoice in invoices {
                                by_parent.entry(invoice.customer_id).or_default().push(invoice);
                            }
                            let groups: Vec<(Customer, Vec<Invoice>)> = customers
                                .into_iter()
                                .map(|c| {
                                    let kids = by_parent.remove(&c.id).unwrap_or_default();
                                    (c, kids)
                                })
                                .collect();
                            assert_eq!(black_box(groups).len(), 50);
                        }
                        _ => {
                            let rows: Vec<(String, i64, Option<i64>)> =
                                sqlx::query_as::<$db, (String, i64, Option<i64>)>(report.clone())
                                    .bind(BIG)
                                    .fetch_all(pool)
                                    .await
                                    .expect("report");
                            assert_eq!(black_box(rows).len(), 3);
                        }
                    }
                }
            }
        })]
        }
    }};
}

const WORKLOADS: [&str; 4] = ["join50", "children50x10", "report", "insert_checked"];

fn main() {
    let rt = common::runtime();
    let mut c = common::criterion();
    let mut records = Vec::new();

    let sqlite = rt.block_on(tenant_tests::sqlite_memory());
    rt.block_on(sqlx::raw_sql(AssertSqlSafe(sqlite_schema(200_000))).execute(&sqlite))
        .expect("SQLite data");
    let db = TenantDb::sqlite(sqlite.clone());
    for w in WORKLOADS {
        let mut contenders = vec![framework(w, &db)];
        contenders.extend(sqlx_contender!(w, &sqlite, sqlx::Sqlite, Backend::Sqlite));
        paired::measure(
            &mut c,
            &rt,
            &mut records,
            "relations",
            &format!("sqlite_{w}"),
            contenders,
        );
    }

    let mut pg = rt.block_on(PgTestDb::create());
    rt.block_on(pg.execute_script(&postgres_schema(1_000_000)));
    rt.block_on(pg.execute_script(&data::no_fsync_wait(pg.name())));
    let role = rt.block_on(pg.create_app_role());
    let pool = rt
        .block_on(
            PgPoolOptions::new()
                .max_connections(2)
                .min_connections(1)
                .test_before_acquire(false)
                .connect_with(pg.options_for(&role)),
        )
        .expect("connect as the application role");
    let db = TenantDb::postgres(pool.clone());
    let plan: Vec<String> = rt
        .block_on(
            sqlx::query_scalar::<_, String>(sql(format!(
                "EXPLAIN {}",
                report_query()
                    .to_sql_for(Backend::Postgres)
                    .replace("$1", "'big'")
            )))
            .fetch_all(&pool),
        )
        .expect("explain");
    println!("report plan on PostgreSQL:\n{}", plan.join("\n"));
    for w in WORKLOADS {
        let mut contenders = vec![framework(w, &db)];
        contenders.extend(sqlx_contender!(w, &pool, sqlx::Postgres, Backend::Postgres));
        paired::measure(
            &mut c,
            &rt,
            &mut records,
            "relations",
            &format!("postgres_{w}"),
            contenders,
        );
    }

    results::save("relations", &records);
    c.final_summary();
    rt.block_on(pool.close());
    drop(pg);
}
