//! PostgreSQL on loopback: every workload with the framework, hand-written
//! sqlx (the framework's SQL text, same pool), sea-orm (same pool) and
//! tokio-postgres (one connection, statements prepared once: the floor).
//!
//! Runs in a throwaway database as a non-owner role; the database and role
//! are dropped at the end. `TENANT_BENCH_MODE=paired` writes
//! `postgres.jsonl`.

#[macro_use]
mod common;

use std::hint::black_box;

use common::{Sqls, Workload};
use sea_orm::SqlxPostgresConnector;
use sqlx::postgres::PgPoolOptions;
use tenant_benches::data::{self, UPDATE_TENANT, amount, read_id, update_id};
use tenant_benches::model::{INSERT_EMAIL, InvoiceRow, LIST_MIN_AMOUNT, READ_TENANT, WRITE_TENANT};
use tenant_benches::{Contender, contender, paired, results};
use tenant_core::TenantDb;
use tenant_tests::PgTestDb;
use tokio_postgres::{Client, NoTls, Statement};

fn row(r: &tokio_postgres::Row) -> InvoiceRow {
    InvoiceRow {
        id: r.get(0),
        tenant_id: r.get(1),
        amount_cents: r.get(2),
        customer_email: r.get(3),
    }
}

struct Prepared {
    find: Statement,
    list: Statement,
    count: Statement,
    insert_returning: Statement,
    insert: Statement,
    update: Statement,
}

async fn prepare(client: &Client, sqls: Sqls, list_limit: u32) -> Prepared {
    Prepared {
        find: client.prepare(sqls.find).await.expect("prepare"),
        list: client
            .prepare((sqls.list)(list_limit))
            .await
            .expect("prepare"),
        count: client.prepare(sqls.count).await.expect("prepare"),
        insert_returning: client
            .prepare(sqls.insert_returning)
            .await
            .expect("prepare"),
        insert: client.prepare(sqls.insert).await.expect("prepare"),
        update: client.prepare(sqls.update).await.expect("prepare"),
    }
}

/// tokio-postgres with statements prepared once: the floor.
fn tokio_postgres_contender<'a>(
    w: Workload,
    client: &'a Client,
    st: &'a Prepared,
) -> Contender<'a> {
    let mut counter = common::Counter::new();
    contender("tokio-postgres", move |n| {
        let ks = counter.take(n);
        async move {
            match w {
                Workload::Find => {
                    for k in ks {
                        let r = client
                            .query_opt(&st.find, &[&READ_TENANT, &read_id(k)])
                            .await
                            .expect("find");
                        assert!(black_box(r.as_ref().map(row)).is_some());
                    }
                }
                Workload::List(limit) => {
                    for _ in ks {
                        let rows: Vec<InvoiceRow> = client
                            .query(
                                &st.list,
                                &[&READ_TENANT, &LIST_MIN_AMOUNT, &i64::from(limit)],
                            )
                            .await
                            .expect("list")
                            .iter()
                            .map(row)
                            .collect();
                        assert_eq!(black_box(rows).len(), common::expected_rows(limit));
                    }
                }
                Workload::Count => {
                    for _ in ks {
                        let r = client
                            .query_one(&st.count, &[&READ_TENANT])
                            .await
                            .expect("count");
                        assert!(black_box(r.get::<_, i64>(0)) > 0);
                    }
                }
                Workload::Insert => {
                    for k in ks {
                        let r = client
                            .query_one(
                                &st.insert_returning,
                                &[&WRITE_TENANT, &amount(k), &INSERT_EMAIL],
                            )
                            .await
                            .expect("insert");
                        black_box(row(&r));
                    }
                }
                Workload::Batch100 => {
                    for k in ks {
                        client.batch_execute("BEGIN").await.expect("begin");
                        for j in 0..100 {
                            client
                                .execute(
                                    &st.insert,
                                    &[&WRITE_TENANT, &amount(k * 100 + j), &INSERT_EMAIL],
                                )
                                .await
                                .expect("insert");
                        }
                        client.batch_execute("COMMIT").await.expect("commit");
                    }
                }
                Workload::Update => {
                    for k in ks {
                        let changed = client
                            .execute(&st.update, &[&UPDATE_TENANT, &amount(k), &update_id(k)])
                            .await
                            .expect("update");
                        assert_eq!(black_box(changed), 1);
                    }
                }
                Workload::FindTx | Workload::List50Tx => unreachable!("framework and sqlx only"),
            }
        }
    })
}

fn main() {
    let rt = common::runtime();
    let mut c = common::criterion();
    let mut records = Vec::new();

    let mut test_db = rt.block_on(PgTestDb::create());
    rt.block_on(test_db.execute_script(data::POSTGRES_SCHEMA));
    rt.block_on(test_db.execute_script("VACUUM ANALYZE invoices"));
    rt.block_on(test_db.execute_script(&data::no_fsync_wait(test_db.name())));
    let role = rt.block_on(test_db.create_app_role());
    let pool = rt
        .block_on(
            PgPoolOptions::new()
                .max_connections(2)
                .min_connections(1)
                .test_before_acquire(false)
                .connect_with(test_db.options_for(&role)),
        )
        .expect("connect as the application role");
    let db = TenantDb::postgres(pool.clone());
    let orm = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
    let (client, connection) = rt
        .block_on(tokio_postgres::connect(&test_db.url_for(&role), NoTls))
        .expect("tokio-postgres connect");
    rt.spawn(connection);
    let sqls = Sqls::new();

    for w in Workload::selected() {
        let limit = match w {
            Workload::List(n) => n,
            _ => 50,
        };
        let prepared = rt.block_on(prepare(&client, sqls, limit));
        let mut contenders = vec![common::framework(w, &db), sqlx_contender!(w, &pool, sqls)];
        if w.all_contenders() {
            contenders.push(common::seaorm(w, &orm));
            contenders.push(tokio_postgres_contender(w, &client, &prepared));
        }
        paired::measure(&mut c, &rt, &mut records, "postgres", &w.name(), contenders);
    }
    results::save("postgres", &records);
    c.final_summary();
    drop(client);
    rt.block_on(pool.close());
    drop(test_db);
}
