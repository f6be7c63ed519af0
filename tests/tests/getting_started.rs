//! The getting-started guide's steps on SQLite and PostgreSQL: its models,
//! its `write_migrations` (step 3, copied verbatim from
//! docs/getting-started.md), sqlx's migrator, and step 4's queries — with
//! no hand-written DDL. On PostgreSQL the application serves as a role that
//! owns nothing, through the generated row-level-security policies.

use std::path::Path;

use tenant_core::Backend;
use tenant_core::prelude::*;
use tenant_core::rls::ModelInfo;
use tenant_core::schema::{Migrations, SchemaError};

#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "invoices")]
pub struct Invoice {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub amount_cents: i64,
    pub customer_email: String,
    pub note: Option<String>,
    #[tenant(generated)]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, TenantModel)]
#[tenant(table = "plans", global)]
pub struct Plan {
    #[tenant(primary_key)]
    pub id: i64,
    pub name: String,
}

// --- Step 3, as the guide writes it -----------------------------------------

/// Every model of the application: one left out is a table to drop.
fn models() -> Vec<ModelInfo> {
    vec![ModelInfo::of::<Invoice>(), ModelInfo::of::<Plan>()]
}

/// Writes `migrations/<backend>/<NNNN>_<description>.sql` under `root`:
/// the first run creates every table, a later one only what changed.
fn write_migrations(root: &Path, description: &str) -> Result<(), SchemaError> {
    for (backend, dir) in [
        (Backend::Sqlite, "migrations/sqlite"),
        (Backend::Postgres, "migrations/postgres"),
    ] {
        let written = Migrations::new(root.join(dir), backend)
            .models(&models())
            .write(description)?;
        println!("{}: {written}", backend.name());
    }
    Ok(())
}

// --- Step 4, on a database of either backend ----------------------------------

async fn run_queries(db: &TenantDb) -> Result<(), tenant_core::Error> {
    let acme = TenantScope::new(TenantId::parse("acme")?);
    let globex = TenantScope::new(TenantId::parse("globex")?);
    let created = Invoice::insert(
        &acme,
        NewInvoice {
            amount_cents: 12_000,
            customer_email: "ap@acme.test".into(),
            note: None,
        },
    )
    .fetch_one(db)
    .await?;
    assert_eq!(created.tenant_id.as_str(), "acme");
    let big = Invoice::query(&acme)
        .filter(
            Invoice::AMOUNT_CENTS
                .gt(10_000)
                .and(Invoice::NOTE.is_null()),
        )
        .order_by(Invoice::ID.desc())
        .limit(50)
        .fetch_all(db)
        .await?;
    assert_eq!(big.len(), 1);
    Invoice::update(&acme)
        .set(Invoice::NOTE, Some("paid".to_owned()))
        .filter(Invoice::ID.eq(created.id))
        .execute(db)
        .await?;
    assert!(
        Invoice::find(&globex, created.id)
            .fetch_optional(db)
            .await?
            .is_none()
    );
    assert_eq!(Invoice::delete(&globex).execute(db).await?, 0);
    assert_eq!(Invoice::query(&acme).count(db).await?, 1);
    Ok(())
}

#[tokio::test]
async fn the_guide_gives_a_working_app_on_sqlite_and_postgres_without_hand_written_ddl() {
    let root = std::env::temp_dir().join(tenant_tests::unique_name("getting_started"));
    write_migrations(&root, "create invoices").expect("step 3");
    // A second run after no change writes nothing.
    write_migrations(&root, "again").expect("second run");
    for dir in ["migrations/sqlite", "migrations/postgres"] {
        let files: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("written")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            files.contains(&"0001_create_invoices.sql".to_owned()),
            "{files:?}"
        );
        assert!(!files.iter().any(|f| f.starts_with("0002")), "{files:?}");
    }

    // SQLite.
    let sqlite = TenantDb::sqlite(tenant_tests::sqlite_memory().await);
    sqlx::migrate::Migrator::new(root.join("migrations/sqlite"))
        .await
        .expect("migrator")
        .run(
            sqlite
                .raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
                .expect("sqlite"),
        )
        .await
        .expect("SQLite migrations");
    let report = sqlite.verify(&models()).await.expect("verify");
    assert!(report.passed(), "{report}");
    run_queries(&sqlite).await.expect("SQLite queries");

    // PostgreSQL: migrations as the owner, the app as a role that owns nothing.
    let mut pg = tenant_tests::PgTestDb::create().await;
    sqlx::migrate::Migrator::new(root.join("migrations/postgres"))
        .await
        .expect("migrator")
        .run(&pg.owner)
        .await
        .expect("PostgreSQL migrations");
    let role = pg.create_app_role().await;
    let app = TenantDb::postgres_with_rls(pg.pool_as(&role, 2).await);
    let report = app.verify(&models()).await.expect("verify");
    assert!(report.passed(), "{report}");
    let doctor = tenant_core::doctor::diagnose(
        app.raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
            .expect("pg"),
        &models(),
    )
    .await
    .expect("doctor");
    assert!(doctor.passed(), "{doctor}");
    run_queries(&app).await.expect("PostgreSQL queries");
    std::fs::remove_dir_all(&root).expect("clean up");
}
