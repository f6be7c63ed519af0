//! The schema check (`TenantDb::verify`) on SQLite and PostgreSQL: it
//! passes the test schema and reports every mismatch of a broken one at
//! once.

use tenant_core::prelude::*;
use tenant_core::rls::ModelInfo;
use tenant_tests::PgTestDb;
use tenant_tests::models::{self, Customer, Invoice, Plan};

fn good_models() -> Vec<ModelInfo> {
    vec![
        ModelInfo::of::<Invoice>(),
        ModelInfo::of::<Customer>(),
        ModelInfo::of::<Plan>(),
    ]
}

/// A global model over the tenant table `invoices`.
#[derive(Debug, TenantModel)]
#[tenant(table = "invoices", global)]
pub struct AllInvoices {
    /// Key.
    #[tenant(primary_key)]
    pub id: i64,
    /// Amount.
    pub amount_cents: i64,
}

/// A global model over a table that has a tenant-named column it does not
/// declare.
#[derive(Debug, TenantModel)]
#[tenant(table = "audit_log", global)]
pub struct AuditLog {
    /// Key.
    #[tenant(primary_key)]
    pub id: i64,
    /// What happened.
    pub message: String,
}

/// A global table that holds tenant ids on purpose, and says why.
#[derive(Debug, TenantModel)]
#[tenant(table = "memberships", global)]
pub struct Membership {
    /// Key.
    #[tenant(primary_key)]
    pub id: i64,
    /// The tenant a user may act for.
    #[tenant(unscoped_tenant_id = "maps users to tenants; read at sign-in")]
    pub tenant_id: TenantId,
    /// The user.
    pub email: String,
}

/// A model for a table that does not exist.
#[derive(Debug, TenantModel)]
#[tenant(table = "invoice")]
pub struct Misnamed {
    /// Key.
    #[tenant(primary_key)]
    pub id: i64,
    /// Owner.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

const MEMBERSHIPS: &str = "CREATE TABLE memberships (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, email TEXT NOT NULL)";

/// Broken on purpose: the tenant column is an integer and nullable, a column
/// is missing, `customer_email` is nullable for a `String` field, the
/// audit log has a tenant column no model declares.
const BROKEN: &str = "
CREATE TABLE invoices (id BIGINT PRIMARY KEY, tenant_id BIGINT, amount_cents BIGINT NOT NULL);
CREATE TABLE customers (id UUID NOT NULL, tenant TEXT NOT NULL, email TEXT NOT NULL,
    status TEXT NOT NULL, score DOUBLE PRECISION NOT NULL, active BOOLEAN NOT NULL,
    note TEXT, metadata TEXT NOT NULL, visits TEXT, created_at TEXT NOT NULL,
    PRIMARY KEY (tenant, id));
CREATE TABLE plans (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE audit_log (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, message TEXT NOT NULL);
";

async fn sqlite_with(script: &str) -> TenantDb {
    let pool = tenant_tests::sqlite_memory().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(script.to_owned()))
        .execute(&pool)
        .await
        .expect("schema");
    TenantDb::sqlite(pool)
}

async fn postgres_with(script: &str) -> (PgTestDb, TenantDb) {
    let mut pg = PgTestDb::create().await;
    pg.execute_script(script).await;
    let role = pg.create_app_role().await;
    let db = TenantDb::postgres(pg.pool_as(&role, 2).await);
    (pg, db)
}

#[tokio::test]
async fn the_test_schema_matches_on_both_backends() {
    let mut models = good_models();
    models.push(ModelInfo::of::<Membership>());
    let sqlite = sqlite_with(&format!("{}{MEMBERSHIPS};", models::SQLITE_SCHEMA)).await;
    let report = sqlite.verify(&models).await.expect("verify");
    assert!(report.passed(), "sqlite: {report}");
    assert_eq!(report.models, 4);
    let (_pg, postgres) =
        postgres_with(&format!("{}{MEMBERSHIPS};", models::POSTGRES_SCHEMA)).await;
    let report = postgres.verify(&models).await.expect("verify");
    assert!(report.passed(), "postgres: {report}");
    report.into_result().expect("a matching schema is Ok");
}

fn broken_models() -> Vec<ModelInfo> {
    let mut models = good_models();
    models.extend([
        ModelInfo::of::<AllInvoices>(),
        ModelInfo::of::<AuditLog>(),
        ModelInfo::of::<Misnamed>(),
    ]);
    models
}

fn assert_broken(name: &str, report: &tenant_core::verify::SchemaReport) {
    for (table, check) in [
        ("invoices", "column_type"),
        ("invoices", "tenant_not_null"),
        ("invoices", "column_exists"),
        ("invoices", "global_table_is_tenant_table"),
        ("customers", "column_type"),
        ("audit_log", "global_table_is_tenant_table"),
        ("invoice", "table_exists"),
    ] {
        assert!(
            report.failed(table, check),
            "{name}: {table} {check} not reported:\n{report}"
        );
    }
    // The integer tenant column, by name, with a fix.
    let tenant = report
        .mismatches
        .iter()
        .find(|m| m.check == "column_type" && m.column.as_deref() == Some("tenant_id"))
        .unwrap_or_else(|| panic!("{name}: no type mismatch on tenant_id:\n{report}"));
    assert!(tenant.detail.contains("TenantId"), "{}", tenant.detail);
    assert!(tenant.detail.contains("Fix:"), "{}", tenant.detail);
    let missing = report
        .mismatches
        .iter()
        .find(|m| m.check == "column_exists")
        .expect("missing column");
    assert_eq!(missing.column.as_deref(), Some("customer_email"), "{name}");
    // Everything at once, as one error.
    let text = report.to_string();
    let Err(Error::SchemaMismatch(boxed)) = report.clone().into_result() else {
        panic!("{name}: a broken schema gave no SchemaMismatch");
    };
    assert_eq!(boxed.mismatches.len(), report.mismatches.len());
    assert!(text.contains("mismatch"), "{text}");
}

#[tokio::test]
async fn every_mismatch_is_reported_at_once_on_sqlite() {
    let db = sqlite_with(
        &BROKEN
            .replace("DOUBLE PRECISION", "REAL")
            .replace("UUID", "BLOB"),
    )
    .await;
    let report = db.verify(&broken_models()).await.expect("verify");
    assert_broken("sqlite", &report);
}

#[tokio::test]
async fn every_mismatch_is_reported_at_once_on_postgres() {
    let (pg, db) = postgres_with(BROKEN).await;
    let report = db.verify(&broken_models()).await.expect("verify");
    assert_broken("postgres", &report);
    // A nullable column behind a non-`Option` field.
    pg.execute_script("ALTER TABLE customers ALTER COLUMN email DROP NOT NULL")
        .await;
    let report = db.verify(&good_models()).await.expect("verify");
    assert!(report.failed("customers", "column_nullable"), "{report}");
    // A policy on a global model's table, then row-level security on it.
    pg.execute_script("CREATE POLICY p ON plans USING (true)")
        .await;
    let report = db.verify(&good_models()).await.expect("verify");
    assert!(
        report.failed("plans", "global_table_is_tenant_table"),
        "{report}"
    );
    pg.execute_script("DROP POLICY p ON plans; ALTER TABLE plans ENABLE ROW LEVEL SECURITY")
        .await;
    let report = db.verify(&good_models()).await.expect("verify");
    assert!(
        report.failed("plans", "global_table_is_tenant_table"),
        "{report}"
    );
}

/// Case on SQLite: a column spelt in another case is the same column there.
#[tokio::test]
async fn sqlite_matches_identifiers_without_case() {
    let db = sqlite_with(&models::SQLITE_SCHEMA.replace("amount_cents", "Amount_Cents")).await;
    let report = db.verify(&good_models()).await.expect("verify");
    assert!(report.passed(), "{report}");
}

/// SQLite gives a column of an unknown declared type (`STRING`, `NUMERIC`,
/// `UUID` ...) numeric affinity: tenant ids "0123" and "123" are stored as
/// the same number and match each other's rows. The check refuses it.
#[tokio::test]
async fn sqlite_tenant_column_of_numeric_affinity_is_refused() {
    for declared in ["STRING", "NUMERIC", "DECIMAL(10)", "UUID"] {
        let db = sqlite_with(&models::SQLITE_SCHEMA.replace(
            "tenant_id TEXT NOT NULL",
            &format!("tenant_id {declared} NOT NULL"),
        ))
        .await;
        let report = db.verify(&good_models()).await.expect("verify");
        assert!(
            report.failed("invoices", "column_type"),
            "{declared}: {report}"
        );
    }
    let db = sqlite_with(
        &models::SQLITE_SCHEMA.replace("tenant_id TEXT NOT NULL", "tenant_id VARCHAR(63) NOT NULL"),
    )
    .await;
    let report = db.verify(&good_models()).await.expect("verify");
    assert!(report.passed(), "VARCHAR: {report}");
}

/// A nondeterministic collation on the tenant column makes different ids
/// equal, in the predicate and in the policies.
#[tokio::test]
async fn postgres_tenant_column_with_a_nondeterministic_collation_is_refused() {
    let (pg, db) = postgres_with(models::POSTGRES_SCHEMA).await;
    pg.execute_script(
        "CREATE COLLATION tenant_ci (provider = icu, locale = 'und-u-ka-shifted', deterministic = false);
         ALTER TABLE invoices ALTER COLUMN tenant_id TYPE text COLLATE tenant_ci;",
    )
    .await;
    let report = db.verify(&good_models()).await.expect("verify");
    assert!(report.failed("invoices", "tenant_collation"), "{report}");
}

/// A global model that claims the tenant column as its key, over a tenant
/// table (not mapped by a tenant model) whose real key is another column.
#[derive(Debug, TenantModel)]
#[tenant(table = "orders", global)]
pub struct ClaimsTenantKey {
    /// Not the table's key at all.
    #[tenant(primary_key)]
    pub tenant_id: TenantId,
    /// Amount.
    pub amount_cents: i64,
}

/// A global model over a view of a tenant table.
#[derive(Debug, TenantModel)]
#[tenant(table = "invoice_amounts", global)]
pub struct InvoiceAmounts {
    /// Key.
    #[tenant(primary_key)]
    pub id: i64,
    /// Amount.
    pub amount_cents: i64,
}

#[tokio::test]
async fn global_models_cannot_hide_a_tenant_table() {
    let view = "CREATE VIEW invoice_amounts AS SELECT id, amount_cents FROM invoices;
        CREATE TABLE orders (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, amount_cents BIGINT NOT NULL);";
    let tenant_only = vec![ModelInfo::of::<Invoice>()];
    let mut fake_key = tenant_only.clone();
    fake_key.push(ModelInfo::of::<ClaimsTenantKey>());
    let mut over_view = tenant_only.clone();
    over_view.push(ModelInfo::of::<InvoiceAmounts>());

    let sqlite = sqlite_with(&format!("{}{view}", models::SQLITE_SCHEMA)).await;
    let (_pg, postgres) = postgres_with(&format!("{}{view}", models::POSTGRES_SCHEMA)).await;
    for (name, db) in [("sqlite", &sqlite), ("postgres", &postgres)] {
        let report = db.verify(&fake_key).await.expect("verify");
        assert!(
            report.failed("orders", "global_table_is_tenant_table"),
            "{name}: {report}"
        );
        let report = db.verify(&over_view).await.expect("verify");
        assert!(
            report.failed("invoice_amounts", "global_table_is_tenant_table"),
            "{name}: {report}"
        );
    }
}
