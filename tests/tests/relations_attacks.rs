//! Attacks on relations, joins, fetch_with_children and the shape cache.
//! Each test asserts the SAFE behaviour: it fails if the framework is
//! broken.

#![allow(clippy::type_complexity)] // expected rows, spelled out

use tenant_core::prelude::*;
use tenant_core::{Backend, Column};
use tenant_tests::suites::scope;
use tenant_tests::{Guards, MyTestDb, PgTestDb};

#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "atk_plans", global)]
pub struct AtkPlan {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    pub name: String,
}

/// Column 2 is `name` (String): the same index and type as AtkInvoice's
/// column 2, `label`.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "atk_customers")]
pub struct AtkCustomer {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub name: String,
    pub score: i64,
    #[tenant(references = AtkPlan)]
    pub plan_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "atk_invoices")]
pub struct AtkInvoice {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub label: String,
    pub amount: i64,
    #[tenant(references = AtkCustomer)]
    pub customer_id: Option<i64>,
}

const SQLITE: &str = "
CREATE TABLE atk_plans (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE atk_customers (id INTEGER NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
    score INTEGER NOT NULL, plan_id INTEGER, PRIMARY KEY (tenant_id, id));
CREATE TABLE atk_invoices (id INTEGER NOT NULL, tenant_id TEXT NOT NULL, label TEXT NOT NULL,
    amount INTEGER NOT NULL, customer_id INTEGER, PRIMARY KEY (tenant_id, id));";

const POSTGRES: &str = "
CREATE TABLE atk_plans (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE atk_customers (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
    score BIGINT NOT NULL, plan_id BIGINT, PRIMARY KEY (tenant_id, id));
CREATE TABLE atk_invoices (id BIGINT NOT NULL, tenant_id TEXT NOT NULL, label TEXT NOT NULL,
    amount BIGINT NOT NULL, customer_id BIGINT, PRIMARY KEY (tenant_id, id));";

const MYSQL: &str = "
CREATE TABLE atk_plans (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL);
CREATE TABLE atk_customers (id BIGINT NOT NULL,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    name VARCHAR(255) NOT NULL, score BIGINT NOT NULL, plan_id BIGINT, PRIMARY KEY (tenant_id, id));
CREATE TABLE atk_invoices (id BIGINT NOT NULL,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    label VARCHAR(255) NOT NULL, amount BIGINT NOT NULL, customer_id BIGINT,
    PRIMARY KEY (tenant_id, id));";

async fn every_db() -> (Guards, Vec<(&'static str, TenantDb)>) {
    let policies = tenant_core::rls::policy_sql::<AtkCustomer>()
        + &tenant_core::rls::policy_sql::<AtkInvoice>();
    tenant_tests::every_backend(SQLITE, POSTGRES, &policies, MYSQL).await
}

fn cust(id: i64, name: &str, score: i64, plan_id: Option<i64>) -> NewAtkCustomer {
    NewAtkCustomer {
        id,
        name: name.into(),
        score,
        plan_id,
    }
}

fn inv(id: i64, label: &str, amount: i64, customer_id: Option<i64>) -> NewAtkInvoice {
    NewAtkInvoice {
        id,
        label: label.into(),
        amount,
        customer_id,
    }
}

/// Mirror tenants with identical ids. Acme's invoice 3 has a NULL
/// customer, acme's invoice 4 points at customer 3 which only globex has.
/// Names of customers equal labels of invoices so that a filter applied to
/// the wrong side returns different rows.
async fn seed(db: &TenantDb) {
    for (id, name) in [(1, "basic"), (2, "pro")] {
        AtkPlan::insert(NewAtkPlan {
            id,
            name: name.into(),
        })
        .execute(db)
        .await
        .expect("plan");
    }
    let acme = scope("acme");
    let globex = scope("globex");
    for c in [cust(1, "ann", 10, Some(1)), cust(2, "bob", 20, None)] {
        AtkCustomer::insert(&acme, c).execute(db).await.expect("c");
    }
    for c in [
        cust(1, "ann", 99, Some(2)),
        cust(2, "bob", 98, Some(2)),
        cust(3, "cat", 97, None),
    ] {
        AtkCustomer::insert(&globex, c)
            .execute(db)
            .await
            .expect("c");
    }
    for i in [
        inv(1, "bob", 100, Some(1)),
        inv(2, "ann", 200, Some(2)),
        inv(3, "orphan", 300, None),
    ] {
        AtkInvoice::insert(&acme, i).execute(db).await.expect("i");
    }
    // Refused by the builders (customer 3 is globex's): written raw.
    tenant_tests::raw_tenant_write(
        db,
        "acme",
        "INSERT INTO atk_invoices (id, tenant_id, label, amount, customer_id) VALUES (4, 'acme', 'dangling', 400, 3)",
    )
    .await;
    for i in [
        inv(1, "bob", 1000, Some(1)),
        inv(2, "ann", 2000, Some(2)),
        inv(3, "cat", 3000, Some(3)),
        inv(5, "g5", 5000, None),
        inv(6, "g6", 6000, Some(1)),
    ] {
        AtkInvoice::insert(&globex, i).execute(db).await.expect("i");
    }
}

fn all_acme_inner(rows: &[(AtkInvoice, AtkCustomer)], name: &str) {
    for (i, c) in rows {
        assert_eq!(i.tenant_id.as_str(), "acme", "{name}: {i:?}");
        assert_eq!(c.tenant_id.as_str(), "acme", "{name}: {c:?}");
        assert_eq!(i.customer_id, Some(c.id), "{name}");
    }
}

/// (a) Every join form, with identical ids, NULL and dangling references,
/// a global side, paging and ordering on the joined side, filters on both
/// sides: only acme's rows, correctly paired.
#[tokio::test]
async fn attack_joins_mirror_tenants_every_backend() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let name = *name;
        seed(db).await;
        let acme = scope("acme");

        let rows = AtkInvoice::query(&acme)
            .inner_join::<AtkCustomer>()
            .order_by(AtkInvoice::ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        all_acme_inner(&rows, name);
        let got: Vec<(i64, &str)> = rows.iter().map(|(i, c)| (i.id, c.name.as_str())).collect();
        assert_eq!(got, [(1, "ann"), (2, "bob")], "{name}");

        // Left join: NULL and dangling (globex-only) references are None.
        let rows = AtkInvoice::query(&acme)
            .left_join::<AtkCustomer>()
            .order_by(AtkInvoice::ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<(i64, Option<(String, String)>)> = rows
            .iter()
            .map(|(i, c)| {
                assert_eq!(i.tenant_id.as_str(), "acme", "{name}");
                (
                    i.id,
                    c.as_ref()
                        .map(|c| (c.tenant_id.to_string(), c.name.clone())),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (1, Some(("acme".into(), "ann".into()))),
                (2, Some(("acme".into(), "bob".into()))),
                (3, None),
                (4, None)
            ],
            "{name}"
        );

        // Parent → children left join, ordered on the joined side, paged.
        let rows = AtkCustomer::query(&acme)
            .left_join::<AtkInvoice>()
            .order_by(AtkInvoice::AMOUNT.desc())
            .order_by(AtkCustomer::ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<(String, i64, Option<(String, i64)>)> = rows
            .iter()
            .map(|(c, i)| {
                (
                    c.tenant_id.to_string(),
                    c.id,
                    i.as_ref().map(|i| (i.tenant_id.to_string(), i.amount)),
                )
            })
            .collect();
        let mut sorted = got.clone();
        sorted.sort_by_key(|(_, id, _)| *id);
        assert_eq!(
            sorted,
            [
                ("acme".into(), 1, Some(("acme".into(), 100))),
                ("acme".into(), 2, Some(("acme".into(), 200)))
            ],
            "{name}"
        );
        let page = AtkCustomer::query(&acme)
            .inner_join::<AtkInvoice>()
            .order_by(AtkInvoice::AMOUNT.desc())
            .limit(1)
            .offset(1)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            page.iter()
                .map(|(c, i)| (c.id, i.amount, i.tenant_id.to_string()))
                .collect::<Vec<_>>(),
            [(1, 100, "acme".to_owned())],
            "{name}"
        );
        // Offset without limit; offset past the end; limit 0.
        let rest = AtkInvoice::query(&acme)
            .left_join::<AtkCustomer>()
            .order_by(AtkInvoice::ID.asc())
            .offset(2)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            rest.iter().map(|(i, _)| i.id).collect::<Vec<_>>(),
            [3, 4],
            "{name}"
        );
        let none = AtkInvoice::query(&acme)
            .inner_join::<AtkCustomer>()
            .offset(u32::MAX)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(none.is_empty(), "{name}");
        let none = AtkInvoice::query(&acme)
            .inner_join::<AtkCustomer>()
            .limit(0)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(none.is_empty(), "{name}");

        // Global side.
        let rows = AtkCustomer::query(&acme)
            .left_join::<AtkPlan>()
            .order_by(AtkCustomer::ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<(i64, Option<&str>)> = rows
            .iter()
            .map(|(c, p)| (c.id, p.as_ref().map(|p| p.name.as_str())))
            .collect();
        assert_eq!(got, [(1, Some("basic")), (2, None)], "{name}");

        // Filters on both sides, interleaved, with different types: a
        // value bound at the wrong placeholder changes the result.
        let rows = AtkInvoice::query(&acme)
            .filter(AtkInvoice::AMOUNT.ge(50))
            .inner_join::<AtkCustomer>()
            .filter(AtkCustomer::NAME.eq("bob"))
            .filter(AtkInvoice::LABEL.eq("ann"))
            .filter(AtkCustomer::SCORE.is_in([20_i64, 21, 22]))
            .filter(
                AtkInvoice::ID
                    .lt(100)
                    .and(AtkInvoice::AMOUNT.le(250))
                    .or(AtkInvoice::ID.eq(-1)),
            )
            .filter(AtkCustomer::PLAN_ID.is_null())
            .order_by(AtkCustomer::NAME.desc())
            .limit(5)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        all_acme_inner(&rows, name);
        assert_eq!(
            rows.iter().map(|(i, c)| (i.id, c.id)).collect::<Vec<_>>(),
            [(2, 2)],
            "{name}"
        );

        // Globex: identical ids, own rows only.
        let rows = AtkInvoice::query(&scope("globex"))
            .inner_join::<AtkCustomer>()
            .order_by(AtkInvoice::ID.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            rows.iter()
                .map(|(i, c)| (i.id, c.score, c.tenant_id.to_string()))
                .collect::<Vec<_>>(),
            [
                (1, 99, "globex".to_owned()),
                (2, 98, "globex".to_owned()),
                (3, 97, "globex".to_owned()),
                (6, 99, "globex".to_owned())
            ],
            "{name}"
        );
        // A tenant with no rows sees nothing.
        let rows = AtkCustomer::query(&scope("nobody"))
            .left_join::<AtkInvoice>()
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(rows.is_empty(), "{name}");
    }
}

/// (a) Inside a tenant transaction: joins and children see the
/// transaction's writes, and a statement for another tenant is refused.
#[tokio::test]
async fn attack_joins_and_children_in_transactions() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let name = *name;
        seed(db).await;
        let acme = scope("acme");
        let mut tx = db.begin(&acme).await.expect("begin");
        AtkInvoice::insert(&acme, inv(7, "new", 700, Some(2)))
            .execute(&mut tx)
            .await
            .expect("insert");
        let rows = AtkCustomer::query(&acme)
            .inner_join::<AtkInvoice>()
            .order_by(AtkInvoice::ID.asc())
            .fetch_all(&mut tx)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            rows.iter().map(|(c, i)| (c.id, i.id)).collect::<Vec<_>>(),
            [(1, 1), (2, 2), (2, 7)],
            "{name}"
        );
        let groups = AtkCustomer::query(&acme)
            .order_by(AtkCustomer::ID.asc())
            .fetch_with_children::<AtkInvoice>(&mut tx)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<(i64, Vec<i64>)> = groups
            .iter()
            .map(|(c, kids)| {
                let mut ids: Vec<i64> = kids.iter().map(|i| i.id).collect();
                ids.sort_unstable();
                (c.id, ids)
            })
            .collect();
        assert_eq!(got, [(1, vec![1]), (2, vec![2, 7])], "{name}");
        // Another tenant's join / children on acme's transaction: refused.
        let wrong = AtkCustomer::query(&scope("globex"))
            .inner_join::<AtkInvoice>()
            .fetch_all(&mut tx)
            .await;
        assert!(
            matches!(wrong, Err(Error::ScopeMismatch { .. })),
            "{name}: {wrong:?}"
        );
        let wrong = AtkCustomer::query(&scope("globex"))
            .fetch_with_children::<AtkInvoice>(&mut tx)
            .await;
        assert!(
            matches!(wrong, Err(Error::ScopeMismatch { .. })),
            "{name}: {wrong:?}"
        );
        tx.rollback().await.expect("rollback");
    }
}

/// (e) fetch_with_children: key collisions across tenants, NULL and
/// dangling foreign keys, global children side.
#[tokio::test]
async fn attack_children_collisions_and_null_fks() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let name = *name;
        seed(db).await;
        for (tenant, expected) in [
            ("acme", vec![(1, vec![1]), (2, vec![2])]),
            ("globex", vec![(1, vec![1, 6]), (2, vec![2]), (3, vec![3])]),
        ] {
            let groups = AtkCustomer::query(&scope(tenant))
                .order_by(AtkCustomer::ID.asc())
                .fetch_with_children::<AtkInvoice>(db)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<(i64, Vec<i64>)> = groups
                .iter()
                .map(|(c, kids)| {
                    assert_eq!(c.tenant_id.as_str(), tenant, "{name}");
                    for k in kids {
                        assert_eq!(k.tenant_id.as_str(), tenant, "{name}: {k:?}");
                        assert_eq!(k.customer_id, Some(c.id), "{name}");
                    }
                    let mut ids: Vec<i64> = kids.iter().map(|i| i.id).collect();
                    ids.sort_unstable();
                    (c.id, ids)
                })
                .collect();
            assert_eq!(got, expected, "{name} {tenant}");
        }
        // Paged parents: only the page's children.
        let groups = AtkCustomer::query(&scope("globex"))
            .order_by(AtkCustomer::ID.desc())
            .limit(1)
            .offset(1)
            .fetch_with_children::<AtkInvoice>(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(groups.len(), 1, "{name}");
        assert_eq!(groups[0].0.id, 2, "{name}");
        assert_eq!(
            groups[0].1.iter().map(|i| i.id).collect::<Vec<_>>(),
            [2],
            "{name}"
        );
    }
}

/// (e) More than one children's statement (more than 30 000 parents), with
/// globex holding the same parent ids and children for every one.
#[tokio::test]
async fn attack_children_more_than_one_chunk() {
    const N: i64 = 30_005;
    let sqlite = tenant_tests::sqlite_memory().await;
    sqlx::raw_sql(SQLITE)
        .execute(&sqlite)
        .await
        .expect("schema");
    let seed_sqlite = format!(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {N})
         INSERT INTO atk_customers SELECT n, t, 'c', 0, NULL FROM s, (SELECT 'acme' AS t UNION ALL SELECT 'globex');
         WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {N})
         INSERT INTO atk_invoices SELECT n, 'globex', 'g', n, n FROM s;
         INSERT INTO atk_invoices VALUES (1, 'acme', 'a', 1, 1), (2, 'acme', 'a', 2, {N}), (3, 'acme', 'a', 3, 30000), (4, 'acme', 'a', 4, 30001), (5, 'acme', 'a', 5, NULL);"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(seed_sqlite))
        .execute(&sqlite)
        .await
        .expect("seed");
    let mut pg = PgTestDb::create().await;
    pg.execute_script(POSTGRES).await;
    pg.execute_script(&format!(
        "INSERT INTO atk_customers SELECT n, t, 'c', 0, NULL FROM generate_series(1, {N}) n, (VALUES ('acme'), ('globex')) v(t);
         INSERT INTO atk_invoices SELECT n, 'globex', 'g', n, n FROM generate_series(1, {N}) n;
         INSERT INTO atk_invoices VALUES (1, 'acme', 'a', 1, 1), (2, 'acme', 'a', 2, {N}), (3, 'acme', 'a', 3, 30000), (4, 'acme', 'a', 4, 30001), (5, 'acme', 'a', 5, NULL);"
    ))
    .await;
    pg.execute_script(
        &(tenant_core::rls::policy_sql::<AtkCustomer>()
            + &tenant_core::rls::policy_sql::<AtkInvoice>()),
    )
    .await;
    let role = pg.create_app_role().await;
    // The policies would hide every row from a plain pool of the app role:
    // the plain form runs as the owner (a superuser bypasses them).
    let pg_plain = TenantDb::postgres(pg.owner.clone());
    let pg_rls = TenantDb::postgres_with_rls(pg.pool_as(&role, 2).await);
    let mut my = MyTestDb::create().await;
    my.execute_script(MYSQL).await;
    my.execute_script(&format!(
        "INSERT INTO atk_customers SELECT seq, 'acme', 'c', 0, NULL FROM seq_1_to_{N};
         INSERT INTO atk_customers SELECT seq, 'globex', 'c', 0, NULL FROM seq_1_to_{N};
         INSERT INTO atk_invoices SELECT seq, 'globex', 'g', seq, seq FROM seq_1_to_{N};
         INSERT INTO atk_invoices VALUES (1, 'acme', 'a', 1, 1), (2, 'acme', 'a', 2, {N}), (3, 'acme', 'a', 3, 30000), (4, 'acme', 'a', 4, 30001), (5, 'acme', 'a', 5, NULL);"
    ))
    .await;
    let user = my.create_app_user().await;
    let mysql = TenantDb::mysql(my.pool_as(&user, 2).await);
    for (name, db) in [
        ("sqlite", TenantDb::sqlite(sqlite)),
        ("postgres", pg_plain),
        ("postgres+rls", pg_rls),
        ("mysql", mysql),
    ] {
        let groups = AtkCustomer::query(&scope("acme"))
            .fetch_with_children::<AtkInvoice>(&db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(groups.len(), N as usize, "{name}");
        let mut pairs: Vec<(i64, i64)> = Vec::new();
        for (c, kids) in &groups {
            assert_eq!(c.tenant_id.as_str(), "acme", "{name}");
            for k in kids {
                assert_eq!(k.tenant_id.as_str(), "acme", "{name}: {k:?}");
                pairs.push((c.id, k.id));
            }
        }
        pairs.sort_unstable();
        assert_eq!(pairs, [(1, 1), (30000, 3), (30001, 4), (N, 2)], "{name}");
        // Globex: every parent has exactly its own child.
        let groups = AtkCustomer::query(&scope("globex"))
            .fetch_with_children::<AtkInvoice>(&db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(groups.len(), N as usize, "{name}");
        for (c, kids) in &groups {
            assert_eq!(kids.len(), 1, "{name}: parent {}", c.id);
            assert_eq!(kids[0].id, c.id, "{name}");
            assert_eq!(kids[0].tenant_id.as_str(), "globex", "{name}");
        }
    }
}

/// (b) The shape cache must tell apart statements that differ only in the
/// side a filter or ordering is on, the join direction, inner vs left,
/// RLS vs plain, and IN-list lengths.
#[test]
fn attack_shape_cache_distinguishes_join_shapes() {
    let acme = scope("acme");
    let a2 = AtkInvoice::query(&acme)
        .inner_join::<AtkCustomer>()
        .filter(AtkCustomer::NAME.eq("x"))
        .to_sql();
    let b2 = AtkInvoice::query(&acme)
        .inner_join::<AtkCustomer>()
        .filter(AtkInvoice::LABEL.eq("x"))
        .to_sql();
    assert!(a2.ends_with(r#""atk_customers"."name" = $2"#), "{a2}");
    assert!(b2.ends_with(r#""atk_invoices"."label" = $2"#), "{b2}");
    // Once more, now from the cache.
    let a2b = AtkInvoice::query(&acme)
        .inner_join::<AtkCustomer>()
        .filter(AtkCustomer::NAME.eq("y"))
        .to_sql();
    assert_eq!(a2, a2b);
    let b2b = AtkInvoice::query(&acme)
        .inner_join::<AtkCustomer>()
        .filter(AtkInvoice::LABEL.eq("y"))
        .to_sql();
    assert_eq!(b2, b2b);

    // Direction and kind.
    let ic = AtkInvoice::query(&acme)
        .inner_join::<AtkCustomer>()
        .filter(AtkInvoice::ID.eq(1))
        .to_sql();
    let ci = AtkCustomer::query(&acme)
        .inner_join::<AtkInvoice>()
        .filter(AtkCustomer::ID.eq(1))
        .to_sql();
    let lc = AtkInvoice::query(&acme)
        .left_join::<AtkCustomer>()
        .filter(AtkInvoice::ID.eq(1))
        .to_sql();
    assert!(ic.starts_with(r#"SELECT "atk_invoices"."id""#), "{ic}");
    assert!(ci.starts_with(r#"SELECT "atk_customers"."id""#), "{ci}");
    assert!(ic.contains(" INNER JOIN "), "{ic}");
    assert!(lc.contains(" LEFT JOIN "), "{lc}");
    // Plain vs RLS.
    let q = || {
        AtkInvoice::query(&acme)
            .inner_join::<AtkCustomer>()
            .filter(AtkInvoice::ID.eq(1))
    };
    let plain = q().to_sql();
    let rls = q().to_rls_sql();
    assert_ne!(plain, rls);
    assert!(rls.contains("set_config"), "{rls}");
    assert!(!plain.contains("set_config"), "{plain}");
    assert_eq!(q().to_sql(), plain);
    // Backends.
    let my = q().to_sql_for(Backend::MySql);
    assert!(my.contains('`') && !my.contains('$'), "{my}");
    let lite = q().to_sql_for(Backend::Sqlite);
    assert!(lite.contains("$1"), "{lite}");
    // IN lengths.
    for n in [0usize, 1, 2, 3, 7, 2, 0, 3] {
        let sql = AtkInvoice::query(&acme)
            .inner_join::<AtkCustomer>()
            .filter(AtkCustomer::SCORE.is_in((0..n as i64).collect::<Vec<_>>()))
            .to_sql_for(Backend::Postgres);
        if n == 0 {
            assert!(sql.ends_with("1 = 0"), "{sql}");
        } else {
            assert_eq!(sql.matches('$').count(), n + 1, "{n}: {sql}");
        }
    }
    // Ordering on column 2 of either side, plain and RLS (outer order by
    // position).
    let oa = AtkInvoice::query(&acme)
        .inner_join::<AtkCustomer>()
        .order_by(AtkInvoice::LABEL.asc())
        .to_rls_sql();
    let ob = AtkInvoice::query(&acme)
        .inner_join::<AtkCustomer>()
        .order_by(AtkCustomer::NAME.asc())
        .to_rls_sql();
    assert!(oa.ends_with(r#""__tenant_row"."__c2" ASC"#), "{oa}");
    assert!(ob.ends_with(r#""__tenant_row"."__c7" ASC"#), "{ob}");
    // Select / count / join of the same filter words.
    let s = AtkInvoice::query(&acme).filter(AtkInvoice::LABEL.eq("x"));
    let sel = s.to_sql();
    let cnt = s.to_count_sql();
    assert!(sel.starts_with("SELECT \"atk_invoices\""), "{sel}");
    assert!(cnt.starts_with("SELECT COUNT(*)"), "{cnt}");
    // Same words in a select of the other model.
    let sc = AtkCustomer::query(&acme)
        .filter(AtkCustomer::NAME.eq("x"))
        .to_sql();
    assert!(sc.contains("\"atk_customers\".\"name\" = $2"), "{sc}");
}

/// (b) Executed: the filter on column 2 of either side, alternating on one
/// thread (one cache), returns the rows of that side's filter.
#[tokio::test(flavor = "current_thread")]
async fn attack_shape_cache_side_confusion_executed() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let name = *name;
        seed(db).await;
        let acme = scope("acme");
        for _ in 0..3 {
            // Customer named bob is customer 2 → invoice 2.
            let by_customer = AtkInvoice::query(&acme)
                .inner_join::<AtkCustomer>()
                .filter(AtkCustomer::NAME.eq("bob"))
                .fetch_all(db)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                by_customer.iter().map(|(i, _)| i.id).collect::<Vec<_>>(),
                [2],
                "{name}"
            );
            // Invoice labelled bob is invoice 1.
            let by_invoice = AtkInvoice::query(&acme)
                .inner_join::<AtkCustomer>()
                .filter(AtkInvoice::LABEL.eq("bob"))
                .fetch_all(db)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                by_invoice.iter().map(|(i, _)| i.id).collect::<Vec<_>>(),
                [1],
                "{name}"
            );
            // Reverse direction, same filters.
            let rev = AtkCustomer::query(&acme)
                .left_join::<AtkInvoice>()
                .filter(AtkInvoice::LABEL.eq("bob"))
                .fetch_all(db)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                rev.iter().map(|(c, _)| c.id).collect::<Vec<_>>(),
                [1],
                "{name}"
            );
            let rev = AtkCustomer::query(&acme)
                .left_join::<AtkInvoice>()
                .filter(AtkCustomer::NAME.eq("bob"))
                .fetch_all(db)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                rev.iter()
                    .map(|(c, i)| (c.id, i.as_ref().map(|i| i.id)))
                    .collect::<Vec<_>>(),
                [(2, Some(2))],
                "{name}"
            );
            // Plain selects with the same words.
            let sel = AtkCustomer::query(&acme)
                .filter(AtkCustomer::NAME.eq("bob"))
                .fetch_all(db)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(sel.iter().map(|c| c.id).collect::<Vec<_>>(), [2], "{name}");
            let sel = AtkInvoice::query(&acme)
                .filter(AtkInvoice::LABEL.eq("bob"))
                .count(db)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(sel, 1, "{name}");
        }
    }
}

/// (c) Updates with sets, increments and filters on every backend (MySQL
/// binds `?` in text order): only the intended acme row changes.
#[tokio::test]
async fn attack_update_bind_order() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let name = *name;
        seed(db).await;
        let acme = scope("acme");
        let n = AtkInvoice::update(&acme)
            .set(AtkInvoice::LABEL, "changed")
            .increment(AtkInvoice::AMOUNT, 5)
            // Acme's customer 1 (the reference is looked up before the
            // update; invoice 2 pointed at customer 2).
            .set(AtkInvoice::CUSTOMER_ID, Some(1))
            .filter(AtkInvoice::ID.eq(2))
            .filter(
                AtkInvoice::LABEL
                    .eq("ann")
                    .and(AtkInvoice::AMOUNT.is_in([200_i64, 201])),
            )
            .execute(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, 1, "{name}");
        let row = AtkInvoice::find(&acme, 2)
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (row.label.as_str(), row.amount, row.customer_id),
            ("changed", 205, Some(1)),
            "{name}"
        );
        let g = AtkInvoice::find(&scope("globex"), 2)
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((g.label.as_str(), g.amount), ("ann", 2000), "{name}");
        // Increment first, set after, filters on several columns.
        let n = AtkCustomer::update(&scope("globex"))
            .increment(AtkCustomer::SCORE, -1)
            .set(AtkCustomer::NAME, "renamed")
            .filter(AtkCustomer::SCORE.ge(98))
            .filter(AtkCustomer::PLAN_ID.eq(2))
            .execute(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, 2, "{name}");
        let acme_names: Vec<String> = AtkCustomer::query(&acme)
            .order_by(AtkCustomer::ID.asc())
            .fetch_all(db)
            .await
            .expect("acme")
            .into_iter()
            .map(|c| format!("{}:{}", c.name, c.score))
            .collect();
        assert_eq!(acme_names, ["ann:10", "bob:20"], "{name}");
        let globex: Vec<String> = AtkCustomer::query(&scope("globex"))
            .order_by(AtkCustomer::ID.asc())
            .fetch_all(db)
            .await
            .expect("globex")
            .into_iter()
            .map(|c| format!("{}:{}", c.name, c.score))
            .collect();
        assert_eq!(globex, ["renamed:98", "renamed:97", "cat:97"], "{name}");
        // Delete with filters.
        let n = AtkInvoice::delete(&acme)
            .filter(
                AtkInvoice::CUSTOMER_ID
                    .is_null()
                    .or(AtkInvoice::AMOUNT.gt(350)),
            )
            .execute(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, 2, "{name}");
        assert_eq!(
            AtkInvoice::query(&scope("globex"))
                .count(db)
                .await
                .expect("n"),
            5,
            "{name}"
        );
    }
}

/// (b) The update's shape key holds the assignment's column but not the
/// range its increment checks (SQLite): a hand-made column of another
/// Rust type at the same index gets the other's cached text.
#[tokio::test(flavor = "current_thread")]
async fn attack_shape_cache_increment_range_of_forged_column() {
    let pool = tenant_tests::sqlite_memory().await;
    sqlx::raw_sql(SQLITE).execute(&pool).await.expect("schema");
    let db = TenantDb::sqlite(pool);
    seed(&db).await;
    let acme = scope("acme");
    // A hand-made i16 column at AMOUNT's index: rendered and cached with
    // i16's range.
    let forged: Column<AtkInvoice, i16> = Column::new(3);
    let _ = AtkInvoice::update(&acme)
        .increment(forged, 1)
        .filter(AtkInvoice::ID.eq(1))
        .execute(&db)
        .await;
    // The derive's i64 column: 400 + 40 000 fits an i64 easily.
    let result = AtkInvoice::update(&acme)
        .increment(AtkInvoice::AMOUNT, 40_000)
        .filter(AtkInvoice::ID.eq(4))
        .execute(&db)
        .await;
    let sql = AtkInvoice::update(&acme)
        .increment(AtkInvoice::AMOUNT, 40_000)
        .filter(AtkInvoice::ID.eq(4))
        .to_sql_for(Backend::Sqlite);
    assert!(
        matches!(result, Ok(1)),
        "legit i64 increment failed: {result:?}; cached SQL: {sql}"
    );
}

/// (e) Two parent rows with the same key (a table without a unique key):
/// each gets the children that hold its key.
#[tokio::test]
async fn attack_children_duplicate_parent_keys() {
    let pool = tenant_tests::sqlite_memory().await;
    sqlx::raw_sql(
        "CREATE TABLE atk_plans (id INTEGER, name TEXT NOT NULL);
         CREATE TABLE atk_customers (id INTEGER NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
             score INTEGER NOT NULL, plan_id INTEGER);
         CREATE TABLE atk_invoices (id INTEGER NOT NULL, tenant_id TEXT NOT NULL, label TEXT NOT NULL,
             amount INTEGER NOT NULL, customer_id INTEGER);",
    )
    .execute(&pool)
    .await
    .expect("schema");
    let db = TenantDb::sqlite(pool);
    let acme = scope("acme");
    for c in [cust(1, "first", 1, None), cust(1, "second", 2, None)] {
        AtkCustomer::insert(&acme, c).execute(&db).await.expect("c");
    }
    AtkInvoice::insert(&acme, inv(1, "x", 1, Some(1)))
        .execute(&db)
        .await
        .expect("i");
    let joined = AtkCustomer::query(&acme)
        .inner_join::<AtkInvoice>()
        .fetch_all(&db)
        .await
        .expect("join");
    assert_eq!(joined.len(), 2, "the join pairs both parents");
    // Two parents with one key: the children cannot be given to one of
    // them without guessing, so the load is refused.
    let groups = AtkCustomer::query(&acme)
        .order_by(AtkCustomer::SCORE.asc())
        .fetch_with_children::<AtkInvoice>(&db)
        .await;
    assert!(
        matches!(groups, Err(Error::ChildrenUnmatched { .. })),
        "{groups:?}"
    );
}

/// A text key compared case-insensitively by the database (MariaDB's
/// default collation): the join pairs parent 'abc' with child 'ABC', so
/// fetch_with_children must too (it matches keys in Rust).
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "atk_tags")]
pub struct AtkTag {
    #[tenant(primary_key, client_generated)]
    pub code: String,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "atk_tag_uses")]
pub struct AtkTagUse {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    #[tenant(references = AtkTag)]
    pub tag_code: String,
}

#[tokio::test]
async fn attack_children_case_insensitive_text_keys_mysql() {
    let mut my = MyTestDb::create().await;
    my.execute_script(
        "CREATE TABLE atk_tags (code VARCHAR(20) NOT NULL,
            tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, PRIMARY KEY (tenant_id, code));
         CREATE TABLE atk_tag_uses (id BIGINT NOT NULL,
            tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
            tag_code VARCHAR(20) NOT NULL, PRIMARY KEY (tenant_id, id));",
    )
    .await;
    let user = my.create_app_user().await;
    let db = TenantDb::mysql(my.pool_as(&user, 2).await);
    let acme = scope("acme");
    AtkTag::insert(&acme, NewAtkTag { code: "abc".into() })
        .execute(&db)
        .await
        .expect("tag");
    for (id, code) in [(1, "abc"), (2, "ABC"), (3, "abc ")] {
        AtkTagUse::insert(
            &acme,
            NewAtkTagUse {
                id,
                tag_code: code.into(),
            },
        )
        .execute(&db)
        .await
        .expect("use");
    }
    // Another tenant's 'ABC' must never show up. (Globex has no tag
    // 'ABC', so the builders refuse the row: it is written raw.)
    tenant_tests::raw_tenant_write(
        &db,
        "globex",
        "INSERT INTO atk_tag_uses (id, tenant_id, tag_code) VALUES (9, 'globex', 'ABC')",
    )
    .await;
    let joined = AtkTag::query(&acme)
        .inner_join::<AtkTagUse>()
        .fetch_all(&db)
        .await
        .expect("join");
    assert!(
        joined
            .iter()
            .all(|(t, u)| t.tenant_id.as_str() == "acme" && u.tenant_id.as_str() == "acme")
    );
    // The database matched 'ABC' and 'abc ' to 'abc'; grouping by exact
    // bytes would drop them silently, so the load is refused instead.
    let groups = AtkTag::query(&acme)
        .fetch_with_children::<AtkTagUse>(&db)
        .await;
    assert!(
        matches!(groups, Err(Error::ChildrenUnmatched { .. })),
        "{groups:?}"
    );
}

/// A global model referencing another global model: no tenant predicate,
/// so the first filter opens the WHERE and numbering starts at $1 / `?`.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "atk_features", global)]
pub struct AtkFeature {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    pub name: String,
    #[tenant(references = AtkPlan)]
    pub plan_id: i64,
}

#[tokio::test]
async fn attack_global_to_global_join_numbering() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let name = *name;
        let ddl = "CREATE TABLE atk_features (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL, plan_id BIGINT NOT NULL)";
        match db.backend() {
            Backend::Sqlite => {
                sqlx::raw_sql(ddl)
                    .execute(
                        db.raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
                            .unwrap(),
                    )
                    .await
                    .expect("ddl");
            }
            _ => continue, // the app roles have no DDL rights; SQLite covers the text
        }
        seed(db).await;
        for (id, n, plan_id) in [(1, "a", 1), (2, "b", 2), (3, "c", 2)] {
            AtkFeature::insert(NewAtkFeature {
                id,
                name: n.into(),
                plan_id,
            })
            .execute(db)
            .await
            .expect("feature");
        }
        let rows = AtkFeature::query()
            .inner_join::<AtkPlan>()
            .filter(AtkPlan::NAME.eq("pro"))
            .filter(AtkFeature::NAME.ne("b"))
            .order_by(AtkFeature::ID.asc())
            .limit(5)
            .offset(0)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            rows.iter().map(|(f, _)| f.id).collect::<Vec<_>>(),
            [3],
            "{name}"
        );
        let sql = AtkFeature::query()
            .inner_join::<AtkPlan>()
            .filter(AtkPlan::NAME.eq("pro"))
            .to_sql();
        assert!(sql.ends_with(r#"WHERE "atk_plans"."name" = $1"#), "{sql}");
    }
}

/// Row-level security: after joins and fetch_with_children (and after a
/// failing join) on a one-connection pool, the connection keeps no tenant
/// setting: a raw query as the application role sees no tenant row.
#[tokio::test]
async fn attack_rls_join_leaves_no_setting_on_the_connection() {
    let mut pg = PgTestDb::create().await;
    pg.execute_script(POSTGRES).await;
    pg.execute_script(
        &(tenant_core::rls::policy_sql::<AtkCustomer>()
            + &tenant_core::rls::policy_sql::<AtkInvoice>()),
    )
    .await;
    let role = pg.create_app_role().await;
    let pool = pg.pool_as(&role, 1).await;
    let db = TenantDb::postgres_with_rls(pool.clone());
    seed(&db).await;
    let acme = scope("acme");
    let check = |what: &'static str| {
        let pool = pool.clone();
        async move {
            let (setting, n): (Option<String>, i64) = sqlx::query_as(
                "SELECT current_setting('app.tenant_id', true), (SELECT count(*) FROM atk_invoices)",
            )
            .fetch_one(&pool)
            .await
            .expect("raw");
            assert!(
                setting.as_deref().unwrap_or("").is_empty() && n == 0,
                "after {what}: setting {setting:?}, {n} invoices visible"
            );
        }
    };
    let rows = AtkCustomer::query(&acme)
        .left_join::<AtkInvoice>()
        .filter(AtkInvoice::AMOUNT.gt(0))
        .order_by(AtkInvoice::ID.desc())
        .limit(10)
        .fetch_all(&db)
        .await
        .expect("join");
    assert_eq!(rows.len(), 2);
    check("join").await;
    let groups = AtkCustomer::query(&acme)
        .fetch_with_children::<AtkInvoice>(&db)
        .await
        .expect("children");
    assert_eq!(groups.len(), 2);
    check("children").await;
    // A join that fails in the database (a value out of the column's type).
    let failed = AtkInvoice::query(&acme)
        .inner_join::<AtkCustomer>()
        .filter(AtkCustomer::NAME.like("%"))
        .filter(AtkInvoice::AMOUNT.gt(i64::MAX))
        .limit(u32::MAX)
        .fetch_all(&db)
        .await;
    let _ = failed;
    check("a join with extreme values").await;
}

/// Hand-made columns naming the joined side's tenant column (the
/// constructor is public for generated code): they can only narrow.
#[tokio::test]
async fn attack_forged_tenant_column_in_join_filters() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let name = *name;
        seed(db).await;
        let acme = scope("acme");
        let b_tenant: Column<AtkCustomer, String> = Column::new(1);
        let a_tenant: Column<AtkInvoice, String> = Column::new(1);
        for rows in [
            AtkInvoice::query(&acme)
                .left_join::<AtkCustomer>()
                .filter(b_tenant.eq("globex").or(b_tenant.ne("acme")))
                .fetch_all(db)
                .await,
            AtkInvoice::query(&acme)
                .left_join::<AtkCustomer>()
                .filter(a_tenant.eq("globex"))
                .fetch_all(db)
                .await,
        ] {
            let rows = rows.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(rows.is_empty(), "{name}: {rows:?}");
        }
        let groups = AtkCustomer::query(&acme)
            .filter(Column::<AtkCustomer, String>::new(1).ne("acme"))
            .fetch_with_children::<AtkInvoice>(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(groups.is_empty(), "{name}");
    }
}

/// The same cache gap the other way: a hand-made f64 column at an i64
/// column's index caches the floating-point check, and the derive's i64
/// increment that overflows is then stored as a REAL (SQLite) instead of
/// failing — the row no longer decodes.
#[tokio::test(flavor = "current_thread")]
async fn attack_shape_cache_forged_float_increment_disables_overflow_check() {
    let pool = tenant_tests::sqlite_memory().await;
    sqlx::raw_sql(SQLITE).execute(&pool).await.expect("schema");
    let db = TenantDb::sqlite(pool);
    seed(&db).await;
    let acme = scope("acme");
    let forged: Column<AtkInvoice, f64> = Column::new(3);
    let _ = AtkInvoice::update(&acme)
        .increment(forged, 0.0)
        .filter(AtkInvoice::ID.eq(2))
        .execute(&db)
        .await;
    let overflow = AtkInvoice::update(&acme)
        .increment(AtkInvoice::AMOUNT, i64::MAX)
        .filter(AtkInvoice::ID.eq(1))
        .execute(&db)
        .await;
    let after = AtkInvoice::find(&acme, 1).fetch_one(&db).await;
    assert!(
        overflow.is_err() && matches!(&after, Ok(row) if row.amount == 100),
        "overflowing i64 increment: {overflow:?}; row after: {after:?}"
    );
}

/// (c) A join whose shape overflows the cache key (rendered every time),
/// with filters alternating sides and types: binds stay in placeholder
/// order on every backend.
#[tokio::test]
async fn attack_join_long_shape_alternating_sides() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let name = *name;
        seed(db).await;
        let mut q = AtkCustomer::query(&scope("globex"))
            .filter(AtkCustomer::SCORE.ge(0))
            .inner_join::<AtkInvoice>();
        for i in 0..8_i64 {
            q = q
                .filter(AtkInvoice::AMOUNT.gt(i))
                .filter(AtkCustomer::NAME.ne(format!("nobody{i}")))
                .filter(AtkInvoice::LABEL.is_in(["ann", "bob", "cat", "g6"]));
        }
        let rows = q
            .filter(AtkCustomer::SCORE.is_in([99_i64, 97]))
            .order_by(AtkInvoice::AMOUNT.asc())
            .limit(10)
            .offset(1)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // globex pairs with score 99 or 97: (1,inv1 1000), (3,inv3 3000),
        // (1,inv6 6000); offset 1 skips the first.
        assert_eq!(
            rows.iter().map(|(c, i)| (c.id, i.id)).collect::<Vec<_>>(),
            [(3, 3), (1, 6)],
            "{name}"
        );
        for (c, i) in &rows {
            assert_eq!(
                (c.tenant_id.as_str(), i.tenant_id.as_str()),
                ("globex", "globex")
            );
        }
    }
}

/// (d) More values than the backend can bind, in a join's filter and in a
/// select: a clear error, never a panic, never rows of another tenant.
#[tokio::test]
async fn attack_too_many_bind_values_is_an_error() {
    let (_guards, dbs) = every_db().await;
    for (name, db) in &dbs {
        let name = *name;
        seed(db).await;
        let many: Vec<i64> = (0..70_000).collect();
        let join = AtkInvoice::query(&scope("acme"))
            .inner_join::<AtkCustomer>()
            .filter(AtkCustomer::SCORE.is_in(many.clone()))
            .fetch_all(db)
            .await;
        match &join {
            Err(_) => {}
            Ok(rows) => assert!(
                rows.iter()
                    .all(|(i, c)| i.tenant_id.as_str() == "acme" && c.tenant_id.as_str() == "acme"),
                "{name}"
            ),
        }
        eprintln!(
            "{name}: join with 70 000 values: {:?}",
            join.as_ref().map(|r| r.len())
        );
        let sel = AtkInvoice::query(&scope("acme"))
            .filter(AtkInvoice::ID.is_in(many))
            .count(db)
            .await;
        eprintln!("{name}: count with 70 000 values: {sel:?}");
        if let Ok(n) = sel {
            assert_eq!(n, 4, "{name}");
        }
    }
}

/// Integer and UUID tenant keys: the join compares the tenant columns and
/// the RLS form converts the key through the text setting; children are
/// scoped by the same key. Mirror ids in both tenants.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "atk_accts")]
pub struct AtkAcct {
    #[tenant(primary_key, client_generated)]
    pub id: uuid::Uuid,
    #[tenant(tenant_id)]
    pub org: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "atk_entries")]
pub struct AtkEntry {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub org: i64,
    #[tenant(references = AtkAcct)]
    pub acct: Option<uuid::Uuid>,
}

#[tokio::test]
async fn attack_integer_tenant_keys_uuid_references() {
    let pg_ddl = "CREATE TABLE atk_accts (id UUID NOT NULL, org BIGINT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (org, id));
        CREATE TABLE atk_entries (id BIGINT NOT NULL, org BIGINT NOT NULL, acct UUID, PRIMARY KEY (org, id));";
    let mut pg = PgTestDb::create().await;
    pg.execute_script(pg_ddl).await;
    pg.execute_script(
        &(tenant_core::rls::policy_sql::<AtkAcct>() + &tenant_core::rls::policy_sql::<AtkEntry>()),
    )
    .await;
    let role = pg.create_app_role().await;
    let rls = TenantDb::postgres_with_rls(pg.pool_as(&role, 2).await);
    let mut my = MyTestDb::create().await;
    my.execute_script(
        "CREATE TABLE atk_accts (id BINARY(16) NOT NULL, org BIGINT NOT NULL, name VARCHAR(20) NOT NULL, PRIMARY KEY (org, id));
         CREATE TABLE atk_entries (id BIGINT NOT NULL, org BIGINT NOT NULL, acct BINARY(16), PRIMARY KEY (org, id));",
    )
    .await;
    let user = my.create_app_user().await;
    let mysql = TenantDb::mysql(my.pool_as(&user, 2).await);
    let sqlite = tenant_tests::sqlite_memory().await;
    sqlx::raw_sql(
        "CREATE TABLE atk_accts (id BLOB NOT NULL, org INTEGER NOT NULL, name TEXT NOT NULL, PRIMARY KEY (org, id));
         CREATE TABLE atk_entries (id INTEGER NOT NULL, org INTEGER NOT NULL, acct BLOB, PRIMARY KEY (org, id));",
    )
    .execute(&sqlite)
    .await
    .expect("schema");
    let u = |n: u128| uuid::Uuid::from_u128(n);
    for (name, db) in [
        ("sqlite", TenantDb::sqlite(sqlite)),
        ("postgres+rls", rls),
        ("mysql", mysql),
    ] {
        let seven = TenantScope::try_new(7_i64).expect("key");
        let eight = TenantScope::try_new(8_i64).expect("key");
        for (s, nm) in [(&seven, "seven"), (&eight, "eight")] {
            AtkAcct::insert(
                s,
                NewAtkAcct {
                    id: u(1),
                    name: nm.into(),
                },
            )
            .execute(&db)
            .await
            .expect("acct");
        }
        AtkAcct::insert(
            &eight,
            NewAtkAcct {
                id: u(2),
                name: "eight-2".into(),
            },
        )
        .execute(&db)
        .await
        .expect("acct");
        for (s, id, acct) in [
            (&seven, 1, Some(u(1))),
            (&seven, 3, None),
            (&eight, 1, Some(u(1))),
            (&eight, 2, Some(u(2))),
        ] {
            AtkEntry::insert(s, NewAtkEntry { id, acct })
                .execute(&db)
                .await
                .expect("entry");
        }
        // Seven's entry 2 names account 2, which only eight has: refused
        // by the builders, written raw.
        let acct_2 = match name {
            "postgres+rls" => "'00000000-0000-0000-0000-000000000002'".to_owned(),
            "mysql" => "UNHEX('00000000000000000000000000000002')".to_owned(),
            _ => "X'00000000000000000000000000000002'".to_owned(),
        };
        tenant_tests::raw_tenant_write(
            &db,
            "7",
            &format!("INSERT INTO atk_entries (id, org, acct) VALUES (2, 7, {acct_2})"),
        )
        .await;
        let rows = AtkEntry::query(&seven)
            .left_join::<AtkAcct>()
            .order_by(AtkEntry::ID.asc())
            .fetch_all(&db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<(i64, i64, Option<(i64, String)>)> = rows
            .iter()
            .map(|(e, a)| (e.org, e.id, a.as_ref().map(|a| (a.org, a.name.clone()))))
            .collect();
        assert_eq!(
            got,
            [
                (7, 1, Some((7, "seven".into()))),
                (7, 2, None),
                (7, 3, None)
            ],
            "{name}"
        );
        let groups = AtkAcct::query(&seven)
            .fetch_with_children::<AtkEntry>(&db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<(i64, Vec<(i64, i64)>)> = groups
            .iter()
            .map(|(a, kids)| (a.org, kids.iter().map(|k| (k.org, k.id)).collect()))
            .collect();
        assert_eq!(got, [(7, vec![(7, 1)])], "{name}");
    }
}
