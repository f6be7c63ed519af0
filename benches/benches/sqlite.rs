//! SQLite in memory: every workload with the framework, hand-written sqlx
//! (the framework's SQL text, same pool), sea-orm (same pool) and rusqlite
//! (its own in-memory copy of the data: the floor).
//!
//! `cargo bench --bench sqlite` runs criterion; `TENANT_BENCH_MODE=paired`
//! runs the side-by-side runner and writes `sqlite.jsonl`.

#[macro_use]
mod common;

use std::hint::black_box;

use common::{Sqls, Workload, numbered};
use rusqlite::{Connection, params};
use sea_orm::SqlxSqliteConnector;
use tenant_benches::data::{self, UPDATE_TENANT, amount, read_id, update_id};
use tenant_benches::model::{INSERT_EMAIL, InvoiceRow, LIST_MIN_AMOUNT, READ_TENANT, WRITE_TENANT};
use tenant_benches::{Contender, contender, paired, results};
use tenant_core::TenantDb;

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InvoiceRow> {
    Ok(InvoiceRow {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        amount_cents: r.get(2)?,
        customer_email: r.get(3)?,
    })
}

/// rusqlite with cached prepared statements: the floor.
fn rusqlite_contender(w: Workload, conn: &Connection, sqls: Sqls) -> Contender<'_> {
    let find = numbered(sqls.find);
    let list = match w {
        Workload::List(n) => numbered((sqls.list)(n)),
        _ => String::new(),
    };
    let count = numbered(sqls.count);
    let insert_returning = numbered(sqls.insert_returning);
    let insert = numbered(sqls.insert);
    let update = numbered(sqls.update);
    let mut counter = common::Counter::new();
    contender("rusqlite", move |n| {
        let ks = counter.take(n);
        let result: rusqlite::Result<()> = (|| {
            match w {
                Workload::Find => {
                    let mut st = conn.prepare_cached(&find)?;
                    for k in ks {
                        let r = st.query_row(params![READ_TENANT, read_id(k)], row)?;
                        black_box(r);
                    }
                }
                Workload::List(limit) => {
                    let mut st = conn.prepare_cached(&list)?;
                    for _ in ks {
                        let rows = st
                            .query_map(
                                params![READ_TENANT, LIST_MIN_AMOUNT, i64::from(limit)],
                                row,
                            )?
                            .collect::<rusqlite::Result<Vec<_>>>()?;
                        assert_eq!(black_box(rows).len(), common::expected_rows(limit));
                    }
                }
                Workload::Count => {
                    let mut st = conn.prepare_cached(&count)?;
                    for _ in ks {
                        let c: i64 = st.query_row(params![READ_TENANT], |r| r.get(0))?;
                        assert!(black_box(c) > 0);
                    }
                }
                Workload::Insert => {
                    let mut st = conn.prepare_cached(&insert_returning)?;
                    for k in ks {
                        let r =
                            st.query_row(params![WRITE_TENANT, amount(k), INSERT_EMAIL], row)?;
                        black_box(r);
                    }
                }
                Workload::Batch100 => {
                    for k in ks {
                        let tx = conn.unchecked_transaction()?;
                        {
                            let mut st = tx.prepare_cached(&insert)?;
                            for j in 0..100 {
                                st.execute(params![
                                    WRITE_TENANT,
                                    amount(k * 100 + j),
                                    INSERT_EMAIL
                                ])?;
                            }
                        }
                        tx.commit()?;
                    }
                }
                Workload::Update => {
                    let mut st = conn.prepare_cached(&update)?;
                    for k in ks {
                        let changed =
                            st.execute(params![UPDATE_TENANT, amount(k), update_id(k)])?;
                        assert_eq!(black_box(changed), 1);
                    }
                }
                Workload::FindTx | Workload::List50Tx => unreachable!("framework and sqlx only"),
            }
            Ok(())
        })();
        result.expect("rusqlite");
        std::future::ready(())
    })
}

fn main() {
    let rt = common::runtime();
    let mut c = common::criterion();
    let mut records = Vec::new();

    let pool = rt.block_on(data::sqlite_pool());
    let db = TenantDb::sqlite(pool.clone());
    let orm = SqlxSqliteConnector::from_sqlx_sqlite_pool(pool.clone());
    let conn = Connection::open_in_memory().expect("rusqlite in memory");
    conn.execute_batch(data::SQLITE_SCHEMA)
        .expect("seed rusqlite");
    conn.set_prepared_statement_cache_capacity(32);
    let sqls = Sqls::new();

    for w in Workload::selected() {
        let mut contenders = vec![common::framework(w, &db), sqlx_contender!(w, &pool, sqls)];
        if w.all_contenders() {
            contenders.push(common::seaorm(w, &orm));
            contenders.push(rusqlite_contender(w, &conn, sqls));
        }
        paired::measure(&mut c, &rt, &mut records, "sqlite", &w.name(), contenders);
    }
    results::save("sqlite", &records);
    c.final_summary();
}
