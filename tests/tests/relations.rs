//! Relations and joins: a join along a same-tenant reference compares the
//! tenant columns of both sides, so on every backend (SQLite, PostgreSQL
//! with and without row-level security, MariaDB) a tenant's rows only meet
//! rows of the same tenant — even when both tenants hold identical ids and
//! the schema has no composite foreign key to refuse a cross-tenant
//! reference.

use sqlx::ConnectOptions;
use tenant_core::prelude::*;
use tenant_tests::suites::scope;
use tenant_tests::{MyTestDb, PgTestDb};

/// A global table: plans every tenant may reference.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "rel_plans", global)]
pub struct RelPlan {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    pub name: String,
}

/// A tenant's account, optionally on a global plan.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "rel_accounts")]
pub struct Account {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub name: String,
    #[tenant(references = RelPlan)]
    pub plan_id: Option<i64>,
}

/// A bill of one of the tenant's accounts.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "rel_bills")]
pub struct Bill {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(references = Account)]
    pub account_id: i64,
    pub amount_cents: i64,
}

// No foreign keys at all: only the join condition keeps tenants apart.
const SQLITE: &str = "
CREATE TABLE rel_plans (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE rel_accounts (id INTEGER NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
    plan_id INTEGER, PRIMARY KEY (tenant_id, id));
CREATE TABLE rel_bills (id INTEGER NOT NULL, tenant_id TEXT NOT NULL, account_id INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL, PRIMARY KEY (tenant_id, id));";

const POSTGRES: &str = "
CREATE TABLE rel_plans (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE rel_accounts (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
    plan_id BIGINT, PRIMARY KEY (tenant_id, id));
CREATE TABLE rel_bills (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, account_id BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL, PRIMARY KEY (tenant_id, id));";

const MYSQL: &str = "
CREATE TABLE rel_plans (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL);
CREATE TABLE rel_accounts (id BIGINT NOT NULL,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    name VARCHAR(255) NOT NULL, plan_id BIGINT, PRIMARY KEY (tenant_id, id));
CREATE TABLE rel_bills (id BIGINT NOT NULL,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    account_id BIGINT NOT NULL, amount_cents BIGINT NOT NULL, PRIMARY KEY (tenant_id, id));";

/// Keeps the PostgreSQL and MariaDB databases alive for the test.
type Guards = (Vec<PgTestDb>, MyTestDb);

async fn every_db() -> (Guards, Vec<(&'static str, TenantDb)>) {
    let sqlite = tenant_tests::sqlite_memory().await;
    sqlx::raw_sql(SQLITE)
        .execute(&sqlite)
        .await
        .expect("schema");

    let mut pg = PgTestDb::create().await;
    pg.execute_script(POSTGRES).await;
    let role = pg.create_app_role().await;
    // Statements logged (at `debug`, seen only by a subscriber that asks):
    // the children test counts them.
    let plain = TenantDb::postgres(
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_with(
                pg.options_for(&role)
                    .log_statements(log::LevelFilter::Debug),
            )
            .await
            .expect("connect"),
    );

    let mut pg_rls = PgTestDb::create().await;
    pg_rls.execute_script(POSTGRES).await;
    pg_rls
        .execute_script(
            &(tenant_core::rls::policy_sql::<Account>() + &tenant_core::rls::policy_sql::<Bill>()),
        )
        .await;
    let role = pg_rls.create_app_role().await;
    let rls = TenantDb::postgres_with_rls(pg_rls.pool_as(&role, 2).await);

    let mut my = MyTestDb::create().await;
    my.execute_script(MYSQL).await;
    let user = my.create_app_user().await;
    let mysql = TenantDb::mysql(
        sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(2)
            .connect_with(
                my.options_for(&user)
                    .log_statements(log::LevelFilter::Debug),
            )
            .await
            .expect("connect"),
    );
    (
        (vec![pg, pg_rls], my),
        vec![
            ("sqlite", TenantDb::sqlite(sqlite)),
            ("postgres", plain),
            ("postgres+rls", rls),
            ("mysql", mysql),
        ],
    )
}

/// Mirror tenants: acme and globex hold the same ids. Acme's bill 3 points
/// at account 2, which only globex has.
async fn seed(db: &TenantDb) {
    for (id, name) in [(1, "basic"), (2, "pro")] {
        RelPlan::insert(NewRelPlan {
            id,
            name: name.into(),
        })
        .execute(db)
        .await
        .expect("plan");
    }
    let acme = scope("acme");
    let globex = scope("globex");
    Account::insert(
        &acme,
        NewAccount {
            id: 1,
            name: "acme-one".into(),
            plan_id: Some(2),
        },
    )
    .execute(db)
    .await
    .expect("account");
    for (id, name) in [(1, "globex-one"), (2, "globex-two")] {
        Account::insert(
            &globex,
            NewAccount {
                id,
                name: name.into(),
                plan_id: None,
            },
        )
        .execute(db)
        .await
        .expect("account");
    }
    for (s, id, account_id, amount_cents) in [
        (&acme, 1, 1, 100),
        (&acme, 2, 1, 200),
        (&globex, 1, 1, 1_000),
        (&globex, 2, 2, 2_000),
    ] {
        Bill::insert(
            s,
            NewBill {
                id,
                account_id,
                amount_cents,
            },
        )
        .execute(db)
        .await
        .expect("bill");
    }
    insert_foreign_bill(db).await;
}

/// Acme's bill 3, pointing at account 2, which only globex has. The
/// builders refuse to write it (a same-tenant reference is checked on
/// write), so it is written with raw SQL, to show that the joins keep
/// tenants apart by themselves.
async fn insert_foreign_bill(db: &TenantDb) {
    tenant_tests::raw_tenant_write(
        db,
        "acme",
        "INSERT INTO rel_bills (id, tenant_id, account_id, amount_cents) VALUES (3, 'acme', 2, 300)",
    )
    .await;
}

fn names(accounts: &[&Account]) -> Vec<String> {
    accounts.iter().map(|a| a.name.clone()).collect()
}

#[tokio::test]
async fn joins_meet_only_rows_of_the_same_tenant_on_every_backend() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        seed(db).await;
        let acme = scope("acme");

        // Inner join child → parent: bill 3's account 2 is globex's only.
        let rows = Bill::query(&acme)
            .inner_join::<Account>()
            .order_by(Bill::ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<(i64, &str)> = rows.iter().map(|(b, a)| (b.id, a.name.as_str())).collect();
        assert_eq!(got, [(1, "acme-one"), (2, "acme-one")], "{name}");
        for (bill, account) in &rows {
            assert_eq!(bill.tenant_id.as_str(), "acme", "{name}");
            assert_eq!(account.tenant_id.as_str(), "acme", "{name}");
        }

        // Left join: bill 3 has no account of acme's.
        let rows = Bill::query(&acme)
            .left_join::<Account>()
            .order_by(Bill::ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<(i64, Option<String>)> = rows
            .iter()
            .map(|(b, a)| (b.id, a.as_ref().map(|a| a.name.clone())))
            .collect();
        assert_eq!(
            got,
            [
                (1, Some("acme-one".to_owned())),
                (2, Some("acme-one".to_owned())),
                (3, None)
            ],
            "{name}"
        );

        // Parent → children, with a filter and an ordering on the child.
        let rows = Account::query(&acme)
            .inner_join::<Bill>()
            .filter(Bill::AMOUNT_CENTS.ge(150))
            .order_by(Bill::AMOUNT_CENTS.desc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<(&str, i64)> = rows
            .iter()
            .map(|(a, b)| (a.name.as_str(), b.amount_cents))
            .collect();
        assert_eq!(got, [("acme-one", 200)], "{name}");

        // Globex sees its own pairs only.
        let rows = Account::query(&scope("globex"))
            .left_join::<Bill>()
            .order_by(Account::ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let accounts: Vec<&Account> = rows.iter().map(|(a, _)| a).collect();
        assert_eq!(names(&accounts), ["globex-one", "globex-two"], "{name}");
        let amounts: Vec<Option<i64>> = rows
            .iter()
            .map(|(_, b)| b.as_ref().map(|b| b.amount_cents))
            .collect();
        assert_eq!(amounts, [Some(1_000), Some(2_000)], "{name}");

        // Tenant → global: acme's account on the global plan 2.
        let rows = Account::query(&acme)
            .left_join::<RelPlan>()
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rows.len(), 1, "{name}");
        assert_eq!(
            rows[0].1.as_ref().map(|p| p.name.as_str()),
            Some("pro"),
            "{name}"
        );

        // Paging applies to the joined rows.
        let page = Bill::query(&acme)
            .inner_join::<Account>()
            .order_by(Bill::ID.desc())
            .limit(1)
            .offset(1)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            page.iter().map(|(b, _)| b.id).collect::<Vec<_>>(),
            [1],
            "{name}"
        );
    }
}

/// Inside a tenant's transaction the join runs in its plain form and sees
/// the transaction's own writes.
#[tokio::test]
async fn joins_run_inside_a_tenant_transaction() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        seed(db).await;
        let acme = scope("acme");
        let mut tx = db.begin(&acme).await.expect("begin");
        Bill::insert(
            &acme,
            NewBill {
                id: 4,
                account_id: 1,
                amount_cents: 400,
            },
        )
        .execute(&mut tx)
        .await
        .expect("insert");
        let rows = Bill::query(&acme)
            .inner_join::<Account>()
            .fetch_all(&mut tx)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rows.len(), 3, "{name}");
        tx.rollback().await.expect("rollback");
    }
}

#[test]
fn the_join_condition_compares_the_tenant_columns() {
    let acme = scope("acme");
    let join = Bill::query(&acme).inner_join::<Account>();
    let sql = join.to_sql();
    assert!(
        sql.contains(
            r#"INNER JOIN "rel_accounts" ON "rel_accounts"."tenant_id" = "rel_bills"."tenant_id" AND "rel_accounts"."id" = "rel_bills"."account_id" WHERE "rel_bills"."tenant_id" = $1"#
        ),
        "{sql}"
    );
    // A global side has no tenant column to compare.
    let sql = Account::query(&acme).left_join::<RelPlan>().to_sql();
    assert!(
        sql.contains(r#"LEFT JOIN "rel_plans" ON "rel_plans"."id" = "rel_accounts"."plan_id""#),
        "{sql}"
    );
    // MySQL: backticks and positional placeholders, tenant first.
    let sql = Bill::query(&acme)
        .inner_join::<Account>()
        .filter(Account::NAME.eq("x"))
        .to_sql_for(tenant_core::Backend::MySql);
    assert!(
        sql.ends_with("WHERE `rel_bills`.`tenant_id` = ? AND `rel_accounts`.`name` = ?"),
        "{sql}"
    );
    // Row-level security: the join runs inside the LATERAL subquery that
    // reads the tenant set by `set_config`.
    let sql = Bill::query(&acme).inner_join::<Account>().to_rls_sql();
    assert!(
        sql.contains("set_config('app.tenant_id', $1, true)"),
        "{sql}"
    );
    assert!(
        sql.contains(r#"WHERE "rel_bills"."tenant_id" = "__tenant_ctx"."value""#),
        "{sql}"
    );
}

/// Counts the statements sqlx runs on this thread: sqlx reports each one as
/// a `tracing` event with target `sqlx::query` when the pool logs
/// statements (the plain PostgreSQL and MySQL pools here; SQLite reports on
/// its worker thread, so it is not counted).
struct StatementCounter(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl tracing::Subscriber for StatementCounter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Parents with their children in two statements, both scoped: no N+1, and
/// no child of another tenant even where the ids collide.
#[tokio::test]
async fn children_load_in_two_scoped_statements() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        seed(db).await;
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let guard = tracing::subscriber::set_default(StatementCounter(count.clone()));
        let groups = Account::query(&scope("globex"))
            .order_by(Account::ID.asc())
            .fetch_with_children::<Bill>(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        drop(guard);
        if matches!(*name, "postgres" | "mysql") {
            assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2, "{name}");
        }
        let got: Vec<(&str, Vec<i64>)> = groups
            .iter()
            .map(|(a, bills)| {
                (
                    a.name.as_str(),
                    bills.iter().map(|b| b.amount_cents).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [("globex-one", vec![1_000]), ("globex-two", vec![2_000])],
            "{name}"
        );

        // Acme's account 1 has bills 1 and 2; acme's bill 3 belongs to no
        // acme account and appears nowhere.
        let groups = Account::query(&scope("acme"))
            .fetch_with_children::<Bill>(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(groups.len(), 1, "{name}");
        let mut ids: Vec<i64> = groups[0].1.iter().map(|b| b.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, [1, 2], "{name}");
        assert!(
            groups[0].1.iter().all(|b| b.tenant_id.as_str() == "acme"),
            "{name}"
        );

        // No parent: one statement, no children query.
        let groups = Account::query(&scope("nobody"))
            .fetch_with_children::<Bill>(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(groups.is_empty(), "{name}");
    }
}

// --- Aggregates, grouping and projections over the same mirror data ------

#[tokio::test]
async fn aggregates_and_projections_read_only_the_scopes_rows() {
    use tenant_core::count;
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        seed(db).await;
        let acme = scope("acme");

        let totals = Bill::query(&acme)
            .select((
                count(),
                Bill::AMOUNT_CENTS.sum(),
                Bill::AMOUNT_CENTS.min(),
                Bill::AMOUNT_CENTS.max(),
                Bill::AMOUNT_CENTS.avg(),
                Bill::ACCOUNT_ID.count_distinct(),
            ))
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            totals,
            (3, Some(600), Some(100), Some(300), Some(200.0), 2),
            "{name}"
        );

        let per_account = Bill::query(&acme)
            .select((Bill::ACCOUNT_ID, count(), Bill::AMOUNT_CENTS.sum()))
            .group_by(Bill::ACCOUNT_ID)
            .order_by(Bill::ACCOUNT_ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            per_account,
            [(1, 2, Some(300)), (2, 1, Some(300))],
            "{name}"
        );

        // A filter, descending order and paging on groups.
        let top = Bill::query(&scope("globex"))
            .filter(Bill::AMOUNT_CENTS.gt(0))
            .select((Bill::ACCOUNT_ID, Bill::AMOUNT_CENTS.sum()))
            .group_by(Bill::ACCOUNT_ID)
            .order_by(Bill::ACCOUNT_ID.desc())
            .limit(1)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(top, [(2, Some(2_000))], "{name}");

        // No row: COUNT is 0 and the other aggregates NULL.
        let empty = Bill::query(&scope("nobody"))
            .select((count(), Bill::AMOUNT_CENTS.sum(), Bill::AMOUNT_CENTS.max()))
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(empty, (0, None, None), "{name}");

        // A projection: some columns into a tuple.
        let accounts = Account::query(&scope("globex"))
            .select((Account::ID, Account::NAME))
            .order_by(Account::ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            accounts,
            [(1, "globex-one".to_owned()), (2, "globex-two".to_owned())],
            "{name}"
        );

        // exists: globex's 2 000 is not acme's.
        let big = |s: &TenantScope| Bill::query(s).filter(Bill::AMOUNT_CENTS.gt(1_500));
        assert!(!big(&acme).exists(db).await.expect("exists"), "{name}");
        assert!(
            big(&scope("globex")).exists(db).await.expect("exists"),
            "{name}"
        );
    }
}

#[test]
fn aggregates_cast_to_one_type_on_every_backend() {
    let acme = scope("acme");
    let query = || Bill::query(&acme).select((Bill::AMOUNT_CENTS.sum(), Bill::AMOUNT_CENTS.avg()));
    assert!(
        query()
            .to_sql()
            .starts_with(r#"SELECT CAST(SUM("rel_bills"."amount_cents") AS BIGINT), CAST(AVG("rel_bills"."amount_cents") AS DOUBLE PRECISION)"#),
        "{}",
        query().to_sql()
    );
    let mysql = query().to_sql_for(tenant_core::Backend::MySql);
    assert!(
        mysql.starts_with("SELECT CAST(SUM(`rel_bills`.`amount_cents`) AS SIGNED), CAST(AVG(`rel_bills`.`amount_cents`) AS DOUBLE)"),
        "{mysql}"
    );
    let rls = query().to_rls_sql();
    assert!(
        rls.contains(r#"WHERE "rel_bills"."tenant_id" = "__tenant_ctx"."value""#),
        "{rls}"
    );
}

/// Keyset pages follow the key within the scope: every row of the tenant
/// once, in order, none of the other tenant's (which holds the same ids).
#[tokio::test]
async fn keyset_pages_walk_the_tenants_rows_once() {
    use tenant_core::SortOrder;
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        seed(db).await;
        let acme = scope("acme");
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page = Bill::query(&acme)
                .keyset(Bill::ID, SortOrder::Desc, cursor)
                .fetch_page(2, db)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            pages += 1;
            assert!(page.items.iter().all(|b| b.tenant_id.as_str() == "acme"));
            seen.extend(page.items.iter().map(|b| b.id));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, [3, 2, 1], "{name}");
        assert_eq!(pages, 2, "{name}");

        // Ascending, with a filter, from a cursor.
        let page = Bill::query(&acme)
            .filter(Bill::AMOUNT_CENTS.ge(150))
            .keyset(Bill::ID, SortOrder::Asc, Some(1))
            .fetch_page(10, db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let ids: Vec<i64> = page.items.iter().map(|b| b.id).collect();
        assert_eq!((ids, page.next), (vec![2, 3], None), "{name}");

        let empty = Bill::query(&acme)
            .keyset(Bill::ID, SortOrder::Asc, None)
            .fetch_page(0, db)
            .await
            .expect("size 0");
        assert!(empty.items.is_empty() && empty.next.is_none(), "{name}");
    }
}

/// `UPDATE … RETURNING` and `DELETE … RETURNING` change and return the
/// scope's rows only (globex holds the same ids); MySQL has no
/// `UPDATE … RETURNING` and says so without changing anything.
#[tokio::test]
async fn writes_return_only_the_scopes_changed_rows() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        seed(db).await;
        let acme = scope("acme");
        let update = Bill::update(&acme)
            .increment(Bill::AMOUNT_CENTS, 1)
            .filter(Bill::ID.le(2))
            .fetch_all(db)
            .await;
        if *name == "mysql" {
            assert!(
                matches!(update, Err(Error::Unsupported { .. })),
                "{name}: {update:?}"
            );
        } else {
            let mut rows = update.unwrap_or_else(|e| panic!("{name}: {e}"));
            rows.sort_by_key(|b| b.id);
            let got: Vec<(i64, i64)> = rows.iter().map(|b| (b.id, b.amount_cents)).collect();
            assert_eq!(got, [(1, 101), (2, 201)], "{name}");
            assert!(
                rows.iter().all(|b| b.tenant_id.as_str() == "acme"),
                "{name}"
            );
            let missing = Bill::update_by_id(&acme, 99)
                .set(Bill::AMOUNT_CENTS, 0)
                .fetch_all(db)
                .await;
            assert!(
                matches!(missing, Err(Error::NotFound)),
                "{name}: {missing:?}"
            );
        }

        let removed = Bill::delete(&acme)
            .filter(Bill::ID.ge(2))
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut ids: Vec<i64> = removed.iter().map(|b| b.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, [2, 3], "{name}");
        assert!(
            removed.iter().all(|b| b.tenant_id.as_str() == "acme"),
            "{name}"
        );
        // Globex's bills 1 and 2 are untouched.
        let globex = Bill::query(&scope("globex"))
            .order_by(Bill::ID.asc())
            .fetch_all(db)
            .await
            .expect("globex");
        let got: Vec<(i64, i64)> = globex.iter().map(|b| (b.id, b.amount_cents)).collect();
        assert_eq!(got, [(1, 1_000), (2, 2_000)], "{name}");
    }
}

// --- HAVING, scoped subqueries and projections into a struct -------------

/// A bill's id and amount, without the rest of the row.
#[derive(Debug, PartialEq, TenantProjection)]
#[tenant(model = Bill)]
pub struct BillAmount {
    pub id: i64,
    pub amount_cents: i64,
}

/// An account's name and (nullable) plan.
#[derive(Debug, PartialEq, TenantProjection)]
#[tenant(model = Account)]
pub struct AccountPlan {
    pub name: String,
    pub plan_id: Option<i64>,
}

/// `HAVING` filters the scope's groups: without the tenant predicate
/// account 1 would have 3 bills (globex's 1 000 too) and every sum would
/// hold globex's amounts.
#[tokio::test]
async fn having_filters_only_the_scopes_groups() {
    use tenant_core::count;
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        seed(db).await;
        let acme = scope("acme");

        let busy = Bill::query(&acme)
            .select((Bill::ACCOUNT_ID, count()))
            .group_by(Bill::ACCOUNT_ID)
            .having(count().ge(2))
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(busy, [(1, 2)], "{name}");

        let sums = Bill::query(&acme)
            .select((Bill::ACCOUNT_ID, Bill::AMOUNT_CENTS.sum()))
            .group_by(Bill::ACCOUNT_ID)
            .having(Bill::AMOUNT_CENTS.sum().ge(300))
            .order_by(Bill::ACCOUNT_ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sums, [(1, Some(300)), (2, Some(300))], "{name}");

        // Nothing of acme's reaches 500; globex's groups do.
        let big = |s: &TenantScope| {
            Bill::query(s)
                .filter(Bill::AMOUNT_CENTS.gt(0))
                .select((Bill::ACCOUNT_ID, Bill::AMOUNT_CENTS.max()))
                .group_by(Bill::ACCOUNT_ID)
                .having(Bill::AMOUNT_CENTS.sum().gt(500))
                .order_by(Bill::ACCOUNT_ID.desc())
        };
        let none = big(&acme)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(none.is_empty(), "{name}: {none:?}");
        let globex = big(&scope("globex"))
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(globex, [(2, Some(2_000)), (1, Some(1_000))], "{name}");

        // Combined conditions, several calls (AND), paging.
        let one = Bill::query(&scope("globex"))
            .select((Bill::ACCOUNT_ID, count()))
            .group_by(Bill::ACCOUNT_ID)
            .having(count().eq(1))
            .having(
                Bill::AMOUNT_CENTS
                    .max()
                    .gt(1_500)
                    .or(!Bill::ACCOUNT_ID.count_distinct().ge(1)),
            )
            .limit(5)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(one, [(2, 1)], "{name}");

        // Without `group_by`: the one group of the scope's rows (3 of
        // acme's; 5 with globex's).
        let all = |min: i64| {
            Bill::query(&acme)
                .select((count(),))
                .having(count().ge(min))
                .fetch_all(db)
        };
        let three = all(3).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(three, [(3,)], "{name}");
        let none = all(4).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(none.is_empty(), "{name}: {none:?}");
    }
}

/// A subquery keeps its own tenant predicate: acme's accounts are account
/// 1 only, so acme's bill 3 (on account 2, which only globex has) is not
/// selected — it would be if the subquery read every tenant's accounts.
#[tokio::test]
async fn subqueries_read_only_their_scopes_rows() {
    use tenant_core::count;
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        seed(db).await;
        let acme = scope("acme");
        let globex = scope("globex");
        let accounts = |s: &TenantScope| Account::query(s).column(Account::ID);

        let bills = Bill::query(&acme)
            .filter(Bill::ACCOUNT_ID.is_in(accounts(&acme)))
            .order_by(Bill::ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let ids: Vec<i64> = bills.iter().map(|b| b.id).collect();
        assert_eq!(ids, [1, 2], "{name}");
        assert!(bills.iter().all(|b| b.tenant_id.as_str() == "acme"));

        // The subquery's own filters; NOT IN; count; an aggregate.
        let named = Account::query(&globex)
            .filter(Account::NAME.like("%two"))
            .column(Account::ID);
        let n = Bill::query(&globex)
            .filter(Bill::ACCOUNT_ID.is_in(named))
            .count(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, 1, "{name}");
        let orphans = Bill::query(&acme)
            .filter(!Bill::ACCOUNT_ID.is_in(accounts(&acme)))
            .select((Bill::ID, Bill::AMOUNT_CENTS))
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(orphans, [(3, 300)], "{name}");
        let total = Bill::query(&acme)
            .filter(Bill::ACCOUNT_ID.is_in(accounts(&acme)))
            .select((count(), Bill::AMOUNT_CENTS.sum()))
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(total, (2, Some(300)), "{name}");

        // A subquery of a global model, on a nullable column.
        let pro = RelPlan::query()
            .filter(RelPlan::NAME.eq("pro"))
            .column(RelPlan::ID);
        let on_pro = Account::query(&acme)
            .filter(Account::PLAN_ID.is_in(pro))
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(names(&on_pro.iter().collect::<Vec<_>>()), ["acme-one"]);

        // A subquery of another tenant is refused, nothing sent: on a
        // select, an aggregate, a join, a delete and an update, and in a
        // transaction.
        let refused = |r: Result<(), Error>| {
            assert!(
                matches!(&r, Err(Error::SubqueryScopeMismatch { statement, subquery })
                    if statement == "acme" && subquery == "globex"),
                "{name}: {r:?}"
            );
        };
        refused(
            Bill::query(&acme)
                .filter(Bill::ACCOUNT_ID.is_in(accounts(&globex)))
                .fetch_all(db)
                .await
                .map(drop),
        );
        refused(
            Bill::query(&acme)
                .filter(
                    Bill::ID
                        .gt(0)
                        .and(Bill::ACCOUNT_ID.is_in(accounts(&globex))),
                )
                .select((count(),))
                .fetch_one(db)
                .await
                .map(drop),
        );
        refused(
            Bill::query(&acme)
                .inner_join::<Account>()
                .filter(Bill::ACCOUNT_ID.is_in(accounts(&globex)))
                .fetch_all(db)
                .await
                .map(drop),
        );
        refused(
            Bill::delete(&acme)
                .filter(Bill::ACCOUNT_ID.is_in(accounts(&globex)))
                .execute(db)
                .await
                .map(drop),
        );
        refused(
            Bill::update(&acme)
                .set(Bill::AMOUNT_CENTS, 0)
                .filter(Bill::ACCOUNT_ID.is_in(accounts(&globex)))
                .execute(db)
                .await
                .map(drop),
        );
        // Nested: the subquery's own subquery of another tenant.
        refused(
            Bill::query(&acme)
                .filter(
                    Bill::ACCOUNT_ID.is_in(
                        Account::query(&acme)
                            .filter(
                                Account::ID.is_in(Bill::query(&globex).column(Bill::ACCOUNT_ID)),
                            )
                            .column(Account::ID),
                    ),
                )
                .fetch_all(db)
                .await
                .map(drop),
        );
        let mut tx = db.begin(&acme).await.expect("begin");
        refused(
            Bill::query(&acme)
                .filter(Bill::ACCOUNT_ID.is_in(accounts(&globex)))
                .fetch_all(&mut tx)
                .await
                .map(drop),
        );
        // The transaction is still usable: nothing was sent.
        let in_tx = Bill::query(&acme)
            .filter(Bill::ACCOUNT_ID.is_in(accounts(&acme)))
            .count(&mut tx)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(in_tx, 2, "{name}");
        tx.rollback().await.expect("rollback");
        // A global model's statement with a tenant's subquery: refused too.
        let global = RelPlan::query()
            .filter(RelPlan::ID.is_in(Account::query(&acme).column(Account::PLAN_ID)))
            .fetch_all(db)
            .await;
        assert!(
            matches!(global, Err(Error::SubqueryScopeMismatch { .. })),
            "{name}: {global:?}"
        );

        // The refused writes changed nothing; a scoped one changes only
        // acme's orphan bill.
        let removed = Bill::delete(&acme)
            .filter(!Bill::ACCOUNT_ID.is_in(accounts(&acme)))
            .execute(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(removed, 1, "{name}");
        let mut all = Vec::new();
        for s in [&acme, &globex] {
            for b in Bill::query(s)
                .order_by(Bill::ID.asc())
                .fetch_all(db)
                .await
                .expect("bills")
            {
                all.push((b.tenant_id.as_str().to_owned(), b.id, b.amount_cents));
            }
        }
        assert_eq!(
            all,
            [
                ("acme".to_owned(), 1, 100),
                ("acme".to_owned(), 2, 200),
                ("globex".to_owned(), 1, 1_000),
                ("globex".to_owned(), 2, 2_000),
            ],
            "{name}"
        );
    }
}

/// Projections read some columns into a tuple or a struct, only of the
/// scope's rows (globex holds the same ids).
#[tokio::test]
async fn projections_read_some_columns_of_the_scopes_rows() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        seed(db).await;
        let acme = scope("acme");
        let amounts = Bill::query(&acme)
            .filter(Bill::AMOUNT_CENTS.ge(200))
            .order_by(Bill::ID.asc())
            .select_as::<BillAmount>()
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            amounts,
            [
                BillAmount {
                    id: 2,
                    amount_cents: 200
                },
                BillAmount {
                    id: 3,
                    amount_cents: 300
                }
            ],
            "{name}"
        );
        let tuples = Bill::query(&scope("globex"))
            .select((Bill::ID, Bill::AMOUNT_CENTS))
            .order_by(Bill::ID.desc())
            .limit(1)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(tuples, [(2, 2_000)], "{name}");
        let plans = Account::query(&scope("globex"))
            .order_by(Account::NAME.asc())
            .select_as::<AccountPlan>()
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            plans,
            [
                AccountPlan {
                    name: "globex-one".into(),
                    plan_id: None
                },
                AccountPlan {
                    name: "globex-two".into(),
                    plan_id: None
                }
            ],
            "{name}"
        );
        let one = Account::query(&acme)
            .select_as::<AccountPlan>()
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            one,
            AccountPlan {
                name: "acme-one".into(),
                plan_id: Some(2)
            },
            "{name}"
        );
    }
}

#[test]
fn having_subqueries_and_projections_render_on_every_form() {
    use tenant_core::count;
    let acme = scope("acme");
    let sub = || {
        Account::query(&acme)
            .filter(Account::NAME.eq("x"))
            .column(Account::ID)
    };
    let query = || {
        Bill::query(&acme)
            .filter(Bill::ACCOUNT_ID.is_in(sub()))
            .select((Bill::ACCOUNT_ID, count()))
            .group_by(Bill::ACCOUNT_ID)
            .having(count().gt(1))
    };
    assert_eq!(
        query().to_sql(),
        r#"SELECT "rel_bills"."account_id", COUNT(*) FROM "rel_bills" WHERE "rel_bills"."tenant_id" = $1 AND "rel_bills"."account_id" IN (SELECT "rel_accounts"."id" FROM "rel_accounts" WHERE "rel_accounts"."tenant_id" = $2 AND "rel_accounts"."name" = $3) GROUP BY "rel_bills"."account_id" HAVING COUNT(*) > $4"#
    );
    assert_eq!(
        query().to_sql_for(tenant_core::Backend::MySql),
        "SELECT `rel_bills`.`account_id`, COUNT(*) FROM `rel_bills` WHERE `rel_bills`.`tenant_id` = ? AND `rel_bills`.`account_id` IN (SELECT `rel_accounts`.`id` FROM `rel_accounts` WHERE `rel_accounts`.`tenant_id` = ? AND `rel_accounts`.`name` = ?) GROUP BY `rel_bills`.`account_id` HAVING COUNT(*) > ?"
    );
    // Row-level security: the outer tenant is the set one, the subquery
    // still compares its own tenant column with its own bound tenant.
    let rls = query().to_rls_sql();
    assert!(
        rls.contains("set_config('app.tenant_id', $1, true)")
            && rls.contains(r#"WHERE "rel_bills"."tenant_id" = "__tenant_ctx"."value""#)
            && rls.contains(r#"(SELECT "rel_accounts"."id" FROM "rel_accounts" WHERE "rel_accounts"."tenant_id" = $2 AND "rel_accounts"."name" = $3)"#)
            && rls.contains(r#"HAVING COUNT(*) > $4"#),
        "{rls}"
    );
    // Different shapes never share cached text: another operator, another
    // subquery model with the same column positions, another aggregate.
    let a = Bill::query(&acme)
        .select((count(),))
        .having(count().ge(1))
        .to_sql();
    let b = Bill::query(&acme)
        .select((count(),))
        .having(count().gt(1))
        .to_sql();
    let c = Bill::query(&acme)
        .select((count(),))
        .having(Bill::ID.count_distinct().gt(1))
        .to_sql();
    assert!(a.ends_with("HAVING COUNT(*) >= $2"), "{a}");
    assert!(b.ends_with("HAVING COUNT(*) > $2"), "{b}");
    assert!(
        c.ends_with(r#"HAVING COUNT(DISTINCT "rel_bills"."id") > $2"#),
        "{c}"
    );
    let on_accounts = Account::query(&acme)
        .filter(Account::PLAN_ID.is_in(Account::query(&acme).column(Account::ID)))
        .to_sql();
    let on_plans = Account::query(&acme)
        .filter(Account::PLAN_ID.is_in(RelPlan::query().column(RelPlan::ID)))
        .to_sql();
    assert!(
        on_accounts.ends_with(r#"IN (SELECT "rel_accounts"."id" FROM "rel_accounts" WHERE "rel_accounts"."tenant_id" = $2)"#),
        "{on_accounts}"
    );
    assert!(
        on_plans.ends_with(r#"IN (SELECT "rel_plans"."id" FROM "rel_plans")"#),
        "{on_plans}"
    );
    // Filters, ordering and paging of the subquery, then the outer's.
    let paged = Bill::query(&acme)
        .filter(
            Bill::ACCOUNT_ID.is_in(
                Account::query(&acme)
                    .order_by(Account::ID.desc())
                    .limit(1)
                    .column(Account::ID),
            ),
        )
        .filter(Bill::ID.gt(0))
        .order_by(Bill::ID.asc())
        .to_sql();
    assert!(
        paged.ends_with(r#"IN (SELECT "rel_accounts"."id" FROM "rel_accounts" WHERE "rel_accounts"."tenant_id" = $2 ORDER BY "rel_accounts"."id" DESC LIMIT $3) AND "rel_bills"."id" > $4 ORDER BY "rel_bills"."id" ASC"#),
        "{paged}"
    );
    let summary = Bill::query(&acme).select_as::<BillAmount>().to_sql();
    assert_eq!(
        summary,
        r#"SELECT "rel_bills"."id", "rel_bills"."amount_cents" FROM "rel_bills" WHERE "rel_bills"."tenant_id" = $1"#
    );
}
