//! A grouped report over one tenant reads that tenant's rows through the
//! index led by the tenant column — not the whole table — on every backend,
//! when the tenant is a small share of the table (20 tenants of 5 000 rows
//! here). The plan is read with each backend's `EXPLAIN` of the exact text
//! the builder runs.

use tenant_core::prelude::*;
use tenant_core::{Backend, count};
use tenant_tests::suites::scope;
use tenant_tests::{MyTestDb, PgTestDb};

/// A row of the report's table.
#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "report_bills")]
pub struct ReportBill {
    #[tenant(primary_key, client_generated)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub status: String,
    pub amount_cents: i64,
}

const TENANT: &str = "t3";

/// Revenue per status: `(status, invoices, sum of amounts)`.
type Report = tenant_core::Aggregate<
    ReportBill,
    (
        tenant_core::Column<ReportBill, String, tenant_core::NotNull>,
        tenant_core::Count,
        tenant_core::Summed<ReportBill, i64>,
    ),
>;

fn report() -> Report {
    ReportBill::query(&scope(TENANT))
        .select((ReportBill::STATUS, count(), ReportBill::AMOUNT_CENTS.sum()))
        .group_by(ReportBill::STATUS)
}

/// The report's text with the tenant written in, for `EXPLAIN`.
fn explained(backend: Backend) -> String {
    let sql = report().to_sql_for(backend);
    match backend {
        Backend::MySql => sql.replacen('?', &format!("'{TENANT}'"), 1),
        _ => sql.replace("$1", &format!("'{TENANT}'")),
    }
}

#[tokio::test]
async fn the_report_reads_one_tenant_through_the_tenant_index() {
    // SQLite.
    let sqlite = tenant_tests::sqlite_memory().await;
    sqlx::raw_sql(
        "CREATE TABLE report_bills (id INTEGER NOT NULL, tenant_id TEXT NOT NULL,
             status TEXT NOT NULL, amount_cents INTEGER NOT NULL, PRIMARY KEY (tenant_id, id));
         WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < 99999)
             INSERT INTO report_bills SELECT n, 't' || (n / 5000),
                 CASE n % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'open' ELSE 'void' END, n % 1000 FROM g;
         ANALYZE;",
    )
    .execute(&sqlite)
    .await
    .expect("SQLite data");
    // `EXPLAIN QUERY PLAN` rows: (id, parent, notused, detail).
    let plan: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {}",
        explained(Backend::Sqlite)
    )))
    .fetch_all(&sqlite)
    .await
    .expect("explain")
    .iter()
    .map(|row| sqlx::Row::get::<String, _>(row, 3))
    .collect();
    let plan = plan.join("\n");
    assert!(
        plan.contains("SEARCH report_bills USING INDEX") && plan.contains("(tenant_id=?)"),
        "sqlite: the report must search the tenant's rows by the key led by tenant_id:\n{plan}"
    );
    let db = TenantDb::sqlite(sqlite);
    let rows = report().fetch_all(&db).await.expect("report");
    assert_eq!(rows.iter().map(|(_, n, _)| n).sum::<i64>(), 5_000, "sqlite");

    // PostgreSQL, plain and in its row-level-security form.
    let mut pg = PgTestDb::create().await;
    pg.execute_script(
        "CREATE TABLE report_bills (id BIGINT NOT NULL, tenant_id TEXT NOT NULL,
             status TEXT NOT NULL, amount_cents BIGINT NOT NULL, PRIMARY KEY (tenant_id, id));
         INSERT INTO report_bills SELECT g, 't' || (g / 5000),
             CASE g % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'open' ELSE 'void' END, g % 1000
             FROM generate_series(0, 99999) g;
         ANALYZE report_bills;",
    )
    .await;
    pg.execute_script(&tenant_core::rls::policy_sql::<ReportBill>())
        .await;
    let role = pg.create_app_role().await;
    let pool = pg.pool_as(&role, 1).await;
    for (form, sql) in [
        ("plain", explained(Backend::Postgres)),
        (
            "rls",
            report().to_rls_sql().replace("$1", &format!("'{TENANT}'")),
        ),
    ] {
        let plan = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")))
            .fetch_all(&pool)
            .await
            .expect("explain")
            .join("\n");
        assert!(
            plan.contains("report_bills_pkey") && !plan.contains("Seq Scan"),
            "postgres {form}: the report must read the tenant's rows through the key led by tenant_id:\n{plan}"
        );
    }
    let db = TenantDb::postgres_with_rls(pool);
    let rows = report().fetch_all(&db).await.expect("report");
    assert_eq!(
        rows.iter().map(|(_, n, _)| n).sum::<i64>(),
        5_000,
        "postgres"
    );

    // MariaDB.
    let mut my = MyTestDb::create().await;
    my.execute_script(
        "CREATE TABLE report_bills (id BIGINT NOT NULL,
             tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
             status VARCHAR(16) NOT NULL, amount_cents BIGINT NOT NULL, PRIMARY KEY (tenant_id, id));
         INSERT INTO report_bills SELECT seq, CONCAT('t', seq DIV 5000),
                 CASE seq % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'open' ELSE 'void' END, seq % 1000
             FROM seq_0_to_99999;
         ANALYZE TABLE report_bills;",
    )
    .await;
    let user = my.create_app_user().await;
    let pool = my.pool_as(&user, 1).await;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "EXPLAIN {}",
        explained(Backend::MySql)
    )))
    .fetch_all(&pool)
    .await
    .expect("explain");
    let keys: Vec<Option<String>> = rows
        .iter()
        .map(|row| sqlx::Row::get::<Option<String>, _>(row, "key"))
        .collect();
    assert_eq!(
        keys,
        vec![Some("PRIMARY".to_owned())],
        "mysql: the report must read the tenant's rows through the key led by tenant_id"
    );
    let db = TenantDb::mysql(pool);
    let rows = report().fetch_all(&db).await.expect("report");
    assert_eq!(rows.iter().map(|(_, n, _)| n).sum::<i64>(), 5_000, "mysql");
}
