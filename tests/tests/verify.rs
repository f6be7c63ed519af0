//! The schema check (`TenantDb::verify`) on SQLite, PostgreSQL and
//! MySQL/MariaDB: it passes the test schema and reports every mismatch of a
//! broken one at once.

use tenant_core::prelude::*;
use tenant_core::rls::ModelInfo;
use tenant_tests::models::{self, Customer, Invoice, Plan};
use tenant_tests::{MyTestDb, PgTestDb};

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
const MEMBERSHIPS_MYSQL: &str = "CREATE TABLE memberships (id BIGINT PRIMARY KEY, \
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, email VARCHAR(255) NOT NULL)";

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

/// The check runs as the application's DML-only user, as it would at
/// startup.
async fn mysql_with(script: &str) -> (MyTestDb, TenantDb) {
    let mut my = MyTestDb::create().await;
    my.execute_script(script).await;
    let user = my.create_app_user().await;
    let db = TenantDb::mysql(my.pool_as(&user, 2).await);
    (my, db)
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

#[tokio::test]
async fn the_test_schema_matches_on_mysql() {
    let mut models = good_models();
    models.push(ModelInfo::of::<Membership>());
    let (_my, mysql) = mysql_with(&format!("{}{MEMBERSHIPS_MYSQL};", models::MYSQL_SCHEMA)).await;
    let report = mysql.verify(&models).await.expect("verify");
    assert!(report.passed(), "mysql: {report}");
    assert_eq!(report.models, 4);
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

/// [`BROKEN`] in MySQL's types: a text key column needs a length there, and
/// `metadata TEXT` is no mismatch on MySQL (a JSON value reads from text;
/// MariaDB's own `JSON` is `LONGTEXT`), so `created_at TEXT` is the broken
/// customers column.
const BROKEN_MYSQL: &str = "
CREATE TABLE invoices (id BIGINT PRIMARY KEY, tenant_id BIGINT, amount_cents BIGINT NOT NULL);
CREATE TABLE customers (id BINARY(16) NOT NULL,
    tenant VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    email VARCHAR(255) NOT NULL, status VARCHAR(32) NOT NULL, score DOUBLE NOT NULL,
    active BOOLEAN NOT NULL, note TEXT, metadata TEXT NOT NULL, visits INT,
    created_at TEXT NOT NULL, PRIMARY KEY (tenant, id));
CREATE TABLE plans (id BIGINT PRIMARY KEY, name VARCHAR(255) NOT NULL);
CREATE TABLE audit_log (id BIGINT PRIMARY KEY,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, message TEXT NOT NULL);
";

#[tokio::test]
async fn every_mismatch_is_reported_at_once_on_mysql() {
    let (my, db) = mysql_with(BROKEN_MYSQL).await;
    let report = db.verify(&broken_models()).await.expect("verify");
    assert_broken("mysql", &report);
    let created_at = report
        .mismatches
        .iter()
        .find(|m| m.check == "column_type" && m.table == "customers")
        .expect("customers column_type");
    assert_eq!(created_at.column.as_deref(), Some("created_at"), "{report}");
    // A nullable column behind a non-`Option` field.
    my.execute_script("ALTER TABLE customers MODIFY email VARCHAR(255) NULL")
        .await;
    let report = db.verify(&good_models()).await.expect("verify");
    assert!(report.failed("customers", "column_nullable"), "{report}");
}

/// On MySQL the tenant column must be exact: under the server's default
/// case-insensitive collation (`utf8mb4_general_ci` on MariaDB), `'ACME'`
/// and `'acme'` are the same tenant, in every builder's predicate. A
/// nullable tenant column and one of another type are reported as well.
#[tokio::test]
async fn mysql_tenant_column_checks() {
    for (column, check) in [
        (
            "tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL",
            "tenant_collation",
        ),
        (
            "tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL",
            "tenant_collation",
        ),
        // The database default, which is case-insensitive here.
        ("tenant_id VARCHAR(63) NOT NULL", "tenant_collation"),
        (
            "tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL",
            "tenant_not_null",
        ),
        ("tenant_id INT NOT NULL", "column_type"),
    ] {
        let mut schema = models::MYSQL_SCHEMA.replace(
            "tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
            column,
        );
        if check == "tenant_not_null" {
            // MySQL makes every primary-key column NOT NULL whatever it is
            // declared: only a tenant column outside the key can be NULL.
            schema = schema.replace(
                "PRIMARY KEY (tenant_id, id),\n    KEY (id)",
                "PRIMARY KEY (id)",
            );
        }
        let (_my, db) = mysql_with(&schema).await;
        let report = db.verify(&good_models()).await.expect("verify");
        assert!(report.failed("invoices", check), "{column}: {report}");
        let mismatch = report
            .mismatches
            .iter()
            .find(|m| m.check == check)
            .expect("the mismatch");
        assert_eq!(mismatch.column.as_deref(), Some("tenant_id"), "{column}");
        if check == "tenant_collation" {
            assert!(
                mismatch.detail.contains("utf8mb4_bin"),
                "{}",
                mismatch.detail
            );
        }
    }
    // Why it matters: a row whose tenant is spelt in another case (written
    // by another program: a `TenantId` is lower-case) is acme's under a
    // `_ci` collation, for reads and for writes.
    let (my, db) = mysql_with(&models::MYSQL_SCHEMA.replace(
        "tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
        "tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL",
    ))
    .await;
    my.execute_script(
        "INSERT INTO invoices (tenant_id, amount_cents, customer_email) VALUES ('ACME', 1, 'a@example.com')",
    )
    .await;
    let acme = TenantScope::new(TenantId::parse("acme").expect("id"));
    assert_eq!(
        Invoice::query(&acme).count(&db).await.expect("count"),
        1,
        "a _ci tenant column makes ACME's row acme's"
    );
    assert_eq!(
        Invoice::delete(&acme).execute(&db).await.expect("delete"),
        1
    );
}

/// On MySQL a view's definition is visible only to a user with SHOW VIEW:
/// the DML-only application user sees it empty. A global model over a view
/// is then reported whatever the view reads (it cannot be cleared), with
/// the grant that lets the check read it. With SHOW VIEW, a view of a
/// global table passes and a view of a tenant table is reported.
#[tokio::test]
async fn mysql_views_need_show_view_to_be_cleared() {
    /// A global model over a view of `plans`.
    #[derive(Debug, TenantModel)]
    #[tenant(table = "plan_names", global)]
    #[allow(dead_code)] // only its metadata is used
    pub struct PlanNames {
        /// Key.
        #[tenant(primary_key)]
        pub id: i64,
        /// Name.
        pub name: String,
    }
    let mut my = MyTestDb::create().await;
    my.execute_script(&format!(
        "{}CREATE VIEW plan_names AS SELECT id, name FROM plans;
         CREATE VIEW invoice_amounts AS SELECT id, amount_cents FROM invoices;",
        models::MYSQL_SCHEMA
    ))
    .await;
    let user = my.create_app_user().await;
    let db = TenantDb::mysql(my.pool_as(&user, 2).await);
    let models = [
        ModelInfo::of::<Invoice>(),
        ModelInfo::of::<PlanNames>(),
        ModelInfo::of::<InvoiceAmounts>(),
    ];
    let report = db.verify(&models).await.expect("verify");
    for view in ["plan_names", "invoice_amounts"] {
        assert!(
            report.failed(view, "global_table_is_tenant_table"),
            "without SHOW VIEW: {report}"
        );
    }
    assert!(report.to_string().contains("SHOW VIEW"), "{report}");

    my.execute_script(&format!(
        "GRANT SHOW VIEW ON `{}`.* TO '{user}'@'%'",
        my.name()
    ))
    .await;
    let db = TenantDb::mysql(my.pool_as(&user, 2).await);
    let report = db.verify(&models).await.expect("verify");
    assert!(
        !report.failed("plan_names", "global_table_is_tenant_table"),
        "with SHOW VIEW: {report}"
    );
    assert!(
        report.failed("invoice_amounts", "global_table_is_tenant_table"),
        "with SHOW VIEW: {report}"
    );
}

/// A user enum deriving `sqlx::Type` is stored in an `ENUM` (or text)
/// column on MySQL, but sqlx's derived impl only accepts a nullable `ENUM`:
/// a `NOT NULL` column fails every read ("`ENUM` is not compatible with
/// `ENUM`", sqlx issue #3750). The check reports it before the first
/// request; a hand-written text impl (see `models::Status`) works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum DerivedStatus {
    /// Active.
    Active,
    /// Closed.
    Closed,
}

/// A model with a derived enum column.
#[derive(Debug, TenantModel)]
#[tenant(table = "accounts")]
pub struct Account {
    /// Key.
    #[tenant(primary_key)]
    pub id: i64,
    /// Owner.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    /// A derived sqlx enum.
    pub status: DerivedStatus,
}

#[tokio::test]
async fn mysql_derived_enum_over_a_not_null_column_is_reported() {
    let (_my, db) = mysql_with(
        "CREATE TABLE accounts (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
            status ENUM('active', 'closed') NOT NULL)",
    )
    .await;
    let report = db
        .verify(&[ModelInfo::of::<Account>()])
        .await
        .expect("verify");
    assert!(report.failed("accounts", "column_type"), "{report}");
    // The check is right: the insert is stored, the read fails.
    let acme = TenantScope::new(TenantId::parse("acme").expect("id"));
    Account::insert(
        &acme,
        NewAccount {
            status: DerivedStatus::Active,
        },
    )
    .execute(&db)
    .await
    .expect("insert");
    let read = Account::query(&acme).fetch_all(&db).await;
    assert!(read.is_err(), "{read:?}");
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

    let view_mysql = view.replace(
        "tenant_id TEXT NOT NULL",
        "tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
    );
    let sqlite = sqlite_with(&format!("{}{view}", models::SQLITE_SCHEMA)).await;
    let (_pg, postgres) = postgres_with(&format!("{}{view}", models::POSTGRES_SCHEMA)).await;
    let (_my, mysql) = mysql_with(&format!("{}{view_mysql}", models::MYSQL_SCHEMA)).await;
    for (name, db) in [
        ("sqlite", &sqlite),
        ("postgres", &postgres),
        ("mysql", &mysql),
    ] {
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
