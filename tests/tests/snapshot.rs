//! Schema snapshots (`tenant_core::snapshot`) recorded from real SQLite,
//! PostgreSQL and MySQL/MariaDB databases: every table and view, each
//! column's catalog type and which Rust types read it, nullability, keys,
//! collations and the tenant facts; sorted, and byte-identical when
//! recorded again. The compile-time side is tests/tests/ui_drift.rs, whose
//! snapshot `committed_ui_snapshot_is_current` keeps in step with its SQL.

use std::path::PathBuf;

use tenant_core::prelude::*;
use tenant_core::rls::ModelInfo;
use tenant_core::snapshot::{FORMAT_VERSION, Snapshot, TableSnapshot};
use tenant_tests::{MyTestDb, PgTestDb};

/// `invoices`, a tenant table.
#[derive(Debug, TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    /// Key.
    #[tenant(primary_key)]
    pub id: i64,
    /// Owner.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

/// `legacy_orders`, a tenant table.
#[derive(Debug, TenantModel)]
#[tenant(table = "legacy_orders")]
pub struct LegacyOrder {
    /// Key.
    #[tenant(primary_key)]
    pub id: i64,
    /// Owner.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

/// `imported_orders`, a tenant table.
#[derive(Debug, TenantModel)]
#[tenant(table = "imported_orders")]
pub struct ImportedOrder {
    /// Key.
    #[tenant(primary_key)]
    pub id: i64,
    /// Owner.
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
}

/// `plans`, global.
#[derive(Debug, TenantModel)]
#[tenant(table = "plans", global)]
pub struct Plan {
    /// Key.
    #[tenant(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
}

/// The models of tests/ui/drift/schema.sql.
fn ui_models() -> Vec<ModelInfo> {
    vec![
        ModelInfo::of::<Invoice>(),
        ModelInfo::of::<LegacyOrder>(),
        ModelInfo::of::<ImportedOrder>(),
        ModelInfo::of::<Plan>(),
    ]
}

fn ui_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui/drift")
}

fn table<'a>(snapshot: &'a Snapshot, name: &str) -> &'a TableSnapshot {
    snapshot
        .table(name)
        .unwrap_or_else(|| panic!("table {name} not recorded:\n{}", snapshot.to_json()))
}

/// Whether `rust` reads `table.column` according to the snapshot.
fn reads(snapshot: &Snapshot, table_name: &str, column: &str, rust: &str) -> bool {
    let column = table(snapshot, table_name)
        .column(column)
        .unwrap_or_else(|| panic!("column {table_name}.{column} not recorded"));
    column
        .reads_as
        .as_ref()
        .unwrap_or_else(|| panic!("{table_name}.{column:?} has no judged types"))
        .iter()
        .any(|r| r == rust)
}

async fn sqlite_ui_db() -> TenantDb {
    let db = TenantDb::connect("sqlite::memory:").await.expect("sqlite");
    let schema = std::fs::read_to_string(ui_dir().join("schema.sql")).expect("schema.sql");
    sqlx::raw_sql(sqlx::AssertSqlSafe(schema))
        .execute(
            db.raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
                .expect("sqlite"),
        )
        .await
        .expect("schema.sql runs");
    db
}

/// The snapshot the drift ui tests compile against is the one recording
/// tests/ui/drift/schema.sql gives today (so those tests check what the
/// recorder writes, not a hand-made file). `TENANT_SNAPSHOT_RECORD=1`
/// writes it instead.
#[tokio::test]
async fn committed_ui_snapshot_is_current() {
    let db = sqlite_ui_db().await;
    let snapshot = Snapshot::record(&db, &ui_models()).await.expect("record");
    let path = ui_dir().join("tenant-schema.json");
    if std::env::var_os("TENANT_SNAPSHOT_RECORD").is_some() {
        snapshot.write(&path).expect("write the snapshot");
    }
    let committed = std::fs::read_to_string(&path).expect("the committed snapshot");
    assert_eq!(
        committed,
        snapshot.to_json(),
        "tests/ui/drift/tenant-schema.json is not what schema.sql records today: \
         run this test with TENANT_SNAPSHOT_RECORD=1 and review the diff"
    );
}

#[tokio::test]
async fn sqlite_snapshot_records_every_table_with_types_and_tenant_facts() {
    let db = sqlite_ui_db().await;
    let snapshot = Snapshot::record(&db, &ui_models()).await.expect("record");
    assert_eq!(snapshot.version, FORMAT_VERSION);
    assert_eq!(snapshot.backend, "sqlite");
    assert_eq!(snapshot.tenant_columns, ["tenant_id"]);
    // Every table and view, not only the models', sorted by name.
    let names: Vec<&str> = snapshot.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "audit_log",
            "imported_orders",
            "invoice_totals",
            "invoices",
            "legacy_orders",
            "memberships",
            "plans"
        ]
    );
    let invoices = table(&snapshot, "invoices");
    assert_eq!(invoices.kind, "table");
    assert_eq!(invoices.tenant_column.as_deref(), Some("tenant_id"));
    let columns: Vec<(&str, &str, bool, bool)> = invoices
        .columns
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.sql_type.as_str(),
                c.not_null,
                c.primary_key,
            )
        })
        .collect();
    assert_eq!(
        columns,
        [
            ("id", "INTEGER", false, true),
            ("tenant_id", "TEXT", true, false),
            ("amount_cents", "BIGINT", true, false),
            ("note", "TEXT", false, false),
            ("paid", "BOOLEAN", true, false),
        ]
    );
    // Which types read a column is sqlx's own decision.
    assert!(reads(&snapshot, "invoices", "amount_cents", "i64"));
    assert!(!reads(&snapshot, "invoices", "amount_cents", "String"));
    assert!(reads(&snapshot, "invoices", "tenant_id", "TenantId"));
    assert!(reads(&snapshot, "invoices", "tenant_id", "String"));
    assert!(!reads(&snapshot, "invoices", "tenant_id", "i64"));
    assert!(reads(&snapshot, "invoices", "paid", "bool"));
    // A type the driver does not know is left to the run-time check.
    let imported = table(&snapshot, "imported_orders");
    let tenant = imported.column("tenant_id").expect("tenant_id");
    assert_eq!(tenant.sql_type, "STRING");
    assert_eq!(tenant.reads_as, None);
    // Tenant facts: a table no tenant model maps has none; a view over a
    // tenant table says so; SQLite has no row-level security.
    let audit = table(&snapshot, "audit_log");
    assert_eq!(audit.tenant_column, None);
    assert!(!audit.view_of_tenant_table);
    let view = table(&snapshot, "invoice_totals");
    assert_eq!(view.kind, "view");
    assert!(view.view_of_tenant_table);
    assert_eq!(view.column("total").expect("total").reads_as, None);
    assert!(snapshot.tables.iter().all(|t| !t.row_security));
    // SQLite compares names without regard to case.
    assert_eq!(
        snapshot.table("INVOICES").map(|t| &t.name),
        Some(&invoices.name)
    );
}

#[tokio::test]
async fn a_written_snapshot_reads_back_and_records_the_same_bytes() {
    let db = sqlite_ui_db().await;
    let first = Snapshot::record(&db, &ui_models()).await.expect("record");
    let second = Snapshot::record(&db, &ui_models())
        .await
        .expect("record again");
    assert_eq!(first.to_json(), second.to_json());
    let dir = std::env::temp_dir().join(tenant_tests::unique_name("snapshot"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(tenant_core::snapshot::SNAPSHOT_FILE);
    first.write(&path).expect("write");
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(text, first.to_json());
    assert!(text.ends_with("}\n"));
    assert_eq!(Snapshot::from_json(&text).expect("parse"), first);
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 1);
    std::fs::remove_dir_all(&dir).expect("clean up");

    // A file of another version is refused with the fix.
    let other = text.replacen(
        &format!("\"version\": {FORMAT_VERSION}"),
        "\"version\": 99",
        1,
    );
    let err = Snapshot::from_json(&other).expect_err("version 99");
    assert!(err.to_string().contains("record it again"), "{err}");
    assert!(Snapshot::from_json("{").is_err());
}

const PG_SCHEMA: &str = r#"
CREATE TABLE invoices (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, amount_cents BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(), external_id UUID);
CREATE TABLE legacy_orders (id BIGINT PRIMARY KEY, tenant_id TEXT, total INTEGER NOT NULL);
CREATE TABLE "Plans" (id BIGINT PRIMARY KEY, "Name" VARCHAR(40) NOT NULL);
CREATE TABLE audit_log (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, message TEXT NOT NULL);
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE VIEW invoice_totals AS SELECT tenant_id, sum(amount_cents) AS total FROM invoices GROUP BY tenant_id;
CREATE VIEW plan_names AS SELECT "Name" FROM "Plans";
CREATE SCHEMA other;
CREATE TABLE other.elsewhere (id BIGINT PRIMARY KEY);
"#;

#[tokio::test]
async fn postgres_snapshot_records_the_current_schema() {
    let pg = PgTestDb::create().await;
    pg.execute_script(PG_SCHEMA).await;
    let db = TenantDb::postgres(pg.owner.clone());
    let models = [ModelInfo::of::<Invoice>(), ModelInfo::of::<LegacyOrder>()];
    let snapshot = Snapshot::record(&db, &models).await.expect("record");
    assert_eq!(snapshot.backend, "postgres");
    // The current schema only, sorted byte-wise (upper case first).
    let names: Vec<&str> = snapshot.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Plans",
            "audit_log",
            "invoice_totals",
            "invoices",
            "legacy_orders",
            "plan_names"
        ]
    );
    // PostgreSQL compares quoted names exactly.
    assert!(snapshot.table("plans").is_none());
    let plans = table(&snapshot, "Plans");
    assert_eq!(
        plans.column("Name").map(|c| c.sql_type.as_str()),
        Some("character varying(40)")
    );
    assert!(reads(&snapshot, "Plans", "Name", "String"));

    let invoices = table(&snapshot, "invoices");
    assert_eq!(invoices.tenant_column.as_deref(), Some("tenant_id"));
    let types: Vec<(&str, &str)> = invoices
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.sql_type.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("id", "bigint"),
            ("tenant_id", "text"),
            ("amount_cents", "bigint"),
            ("created_at", "timestamp with time zone"),
            ("external_id", "uuid"),
        ]
    );
    // Integer widths are exact on PostgreSQL.
    assert!(reads(&snapshot, "invoices", "amount_cents", "i64"));
    assert!(!reads(&snapshot, "invoices", "amount_cents", "i32"));
    assert!(reads(&snapshot, "legacy_orders", "total", "i32"));
    assert!(!reads(&snapshot, "legacy_orders", "total", "i64"));
    assert!(reads(&snapshot, "invoices", "created_at", "DateTime<Utc>"));
    assert!(!reads(&snapshot, "invoices", "created_at", "NaiveDateTime"));
    assert!(reads(&snapshot, "invoices", "external_id", "Uuid"));
    assert!(reads(&snapshot, "invoices", "tenant_id", "TenantId"));
    let external = invoices.column("external_id").expect("external_id");
    assert!(!external.not_null && !external.primary_key);
    let legacy = table(&snapshot, "legacy_orders");
    assert!(!legacy.column("tenant_id").expect("tenant_id").not_null);
    assert!(legacy.columns.iter().all(|c| c.exact_collation));
    // Tenant facts.
    let audit = table(&snapshot, "audit_log");
    assert!(audit.row_security);
    assert_eq!(audit.tenant_column, None);
    assert!(!invoices.row_security);
    assert!(table(&snapshot, "invoice_totals").view_of_tenant_table);
    assert_eq!(table(&snapshot, "invoice_totals").kind, "view");
    assert!(!table(&snapshot, "plan_names").view_of_tenant_table);

    let again = Snapshot::record(&db, &models).await.expect("record again");
    assert_eq!(snapshot.to_json(), again.to_json());
}

const MYSQL_SCHEMA: &str = "
CREATE TABLE invoices (id BIGINT PRIMARY KEY,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    amount_cents BIGINT NOT NULL, note VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci);
CREATE TABLE legacy_orders (id BIGINT PRIMARY KEY,
    tenant_id VARCHAR(63) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, total INT NOT NULL);
CREATE VIEW invoice_totals AS SELECT tenant_id, SUM(amount_cents) AS total FROM invoices GROUP BY tenant_id;
";

#[tokio::test]
async fn mysql_snapshot_records_the_current_database() {
    let my = MyTestDb::create().await;
    my.execute_script(MYSQL_SCHEMA).await;
    let db = TenantDb::mysql(my.owner.clone());
    let models = [ModelInfo::of::<Invoice>(), ModelInfo::of::<LegacyOrder>()];
    let snapshot = Snapshot::record(&db, &models).await.expect("record");
    assert_eq!(snapshot.backend, "mysql");
    let names: Vec<&str> = snapshot.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["invoice_totals", "invoices", "legacy_orders"]);
    let invoices = table(&snapshot, "invoices");
    assert_eq!(invoices.tenant_column.as_deref(), Some("tenant_id"));
    let tenant = invoices.column("tenant_id").expect("tenant_id");
    assert_eq!(tenant.sql_type, "varchar(63)");
    assert!(tenant.not_null && tenant.exact_collation);
    assert!(!invoices.column("note").expect("note").exact_collation);
    assert!(
        !table(&snapshot, "legacy_orders")
            .column("tenant_id")
            .expect("tenant_id")
            .exact_collation
    );
    assert!(reads(&snapshot, "invoices", "amount_cents", "i64"));
    assert!(!reads(&snapshot, "invoices", "amount_cents", "String"));
    assert!(reads(&snapshot, "invoices", "tenant_id", "TenantId"));
    assert!(reads(&snapshot, "legacy_orders", "total", "i32"));
    let view = table(&snapshot, "invoice_totals");
    assert_eq!(view.kind, "view");
    assert!(view.view_of_tenant_table);
    // MySQL compares column names without regard to case.
    assert_eq!(
        snapshot.table("INVOICES").map(|t| t.name.as_str()),
        Some("invoices")
    );

    let again = Snapshot::record(&db, &models).await.expect("record again");
    assert_eq!(snapshot.to_json(), again.to_json());
}
