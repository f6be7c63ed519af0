//! The DDL generated from the models (`tenant_core::schema`), run on every
//! backend (SQLite, PostgreSQL as a non-owner role with and without
//! row-level security, MariaDB as a non-root user): every supported column
//! type passes the schema check and round-trips through the builders, the
//! doctors pass on it, its foreign keys keep references within a tenant,
//! and the migrations written from it run under sqlx's migrator and hold
//! only the difference.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use tenant_core::Backend;
use tenant_core::prelude::*;
use tenant_core::rls::ModelInfo;
use tenant_core::schema::{Migrations, Schema, SchemaError, Written};
use tenant_tests::every_backend;
use tenant_tests::suites::scope;
use uuid::Uuid;

/// One column of every supported type.
#[derive(Debug, Clone, PartialEq, TenantModel)]
#[tenant(table = "all_types")]
pub struct AllTypes {
    #[tenant(primary_key)]
    pub id: i64,
    #[tenant(tenant_id)]
    pub tenant_id: TenantId,
    pub tiny: i8,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub real: f32,
    pub double: f64,
    pub flag: bool,
    pub text: String,
    pub bytes: Vec<u8>,
    pub uuid: Uuid,
    pub json: serde_json::Value,
    pub at_utc: DateTime<Utc>,
    pub naive_at: NaiveDateTime,
    pub day: NaiveDate,
    pub clock: NaiveTime,
    pub offset_at: time::OffsetDateTime,
    pub primitive_at: time::PrimitiveDateTime,
    pub date: time::Date,
    pub maybe_text: Option<String>,
    pub maybe_int: Option<i64>,
    pub maybe_at: Option<DateTime<Utc>>,
    #[tenant(generated)]
    pub created_at: DateTime<Utc>,
}

fn sample() -> NewAllTypes {
    let at = DateTime::from_timestamp(1_700_000_000, 123_456_000).expect("timestamp");
    NewAllTypes {
        tiny: -7,
        small: -300,
        int: 70_000,
        big: 1 << 40,
        real: 1.5,
        double: 2.25,
        flag: true,
        text: "Ünïcode text".into(),
        bytes: vec![0, 1, 254, 255],
        uuid: Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0),
        json: serde_json::json!({"plan": "pro", "seats": [1, 2]}),
        at_utc: at,
        naive_at: at.naive_utc(),
        day: NaiveDate::from_ymd_opt(2024, 2, 29).expect("date"),
        clock: NaiveTime::from_hms_micro_opt(23, 59, 58, 654_321).expect("time"),
        offset_at: time::macros::datetime!(2024-02-29 12:34:56.789012 UTC),
        primitive_at: time::macros::datetime!(2024-02-29 12:34:56.789012),
        date: time::macros::date!(2024 - 02 - 29),
        maybe_text: None,
        maybe_int: Some(-1),
        maybe_at: Some(at),
    }
}

/// Integer and UUID tenant keys, each with a child that references it.
mod keyed {
    use tenant_core::prelude::*;
    use uuid::Uuid;

    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "by_i64")]
    pub struct ByI64 {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(tenant_id)]
        pub account_id: i64,
        #[tenant(unique)]
        pub name: String,
    }

    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "by_i64_children")]
    pub struct ByI64Child {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(tenant_id)]
        pub account_id: i64,
        #[tenant(references = ByI64)]
        pub parent_id: i64,
    }

    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "by_i32")]
    pub struct ByI32 {
        #[tenant(primary_key)]
        pub id: i32,
        #[tenant(tenant_id)]
        pub org: i32,
        pub name: String,
    }

    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "by_uuid")]
    pub struct ByUuid {
        #[tenant(primary_key, client_generated)]
        pub id: Uuid,
        #[tenant(tenant_id)]
        pub org: Uuid,
        pub name: String,
    }

    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "by_uuid_children")]
    pub struct ByUuidChild {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(tenant_id)]
        pub org: Uuid,
        #[tenant(references = ByUuid)]
        pub parent_id: Option<Uuid>,
    }
}
use keyed::{ByI32, ByI64, ByI64Child, ByUuid, ByUuidChild};

/// A shop: a global plan table, customers with a unique e-mail, invoices
/// referencing both, line items referencing invoices, and a table with no
/// primary key but a unique pair.
mod shop {
    use tenant_core::prelude::*;

    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "shop_plans", global)]
    pub struct Plan {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(unique)]
        pub name: String,
    }

    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "shop_customers")]
    pub struct Customer {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(tenant_id)]
        pub tenant_id: TenantId,
        #[tenant(unique)]
        pub email: String,
        #[tenant(references = Plan)]
        pub plan_id: Option<i64>,
    }

    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "shop_invoices")]
    #[tenant(index(status, period))]
    pub struct Invoice {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(tenant_id)]
        pub tenant_id: TenantId,
        #[tenant(references = Customer)]
        pub customer_id: i64,
        pub status: String,
        pub period: String,
        pub amount_cents: i64,
        #[tenant(generated)]
        pub created_at: chrono::DateTime<chrono::Utc>,
    }

    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "shop_line_items")]
    pub struct LineItem {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(tenant_id)]
        pub tenant_id: TenantId,
        #[tenant(references = Invoice)]
        pub invoice_id: i64,
        pub quantity: i64,
    }

    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "shop_usage")]
    #[tenant(unique(period))]
    pub struct Usage {
        #[tenant(tenant_id)]
        pub tenant_id: TenantId,
        pub period: String,
        pub requests: i64,
    }

    /// Every model, children before parents: the DDL puts parents first.
    pub fn models() -> Vec<tenant_core::rls::ModelInfo> {
        use tenant_core::rls::ModelInfo;
        vec![
            ModelInfo::of::<LineItem>(),
            ModelInfo::of::<Invoice>(),
            ModelInfo::of::<Usage>(),
            ModelInfo::of::<Customer>(),
            ModelInfo::of::<Plan>(),
        ]
    }
}

fn ddl(backend: Backend, models: &[ModelInfo], policies: bool) -> String {
    Schema::new(backend, models)
        .unwrap_or_else(|e| panic!("{e}"))
        .row_level_security(policies)
        .to_string()
}

/// The generated schema of `models` on every backend, as
/// [`every_backend`] serves it.
async fn generated(
    models: &[ModelInfo],
) -> (
    tenant_tests::Guards,
    Vec<(&'static str, tenant_core::TenantDb)>,
) {
    // every_backend runs the plain schema on both PostgreSQL databases,
    // then the policies on the RLS one: the policies are the difference.
    let with_policies = ddl(Backend::Postgres, models, true);
    every_backend(
        &ddl(Backend::Sqlite, models, false),
        &ddl(Backend::Postgres, models, false),
        &policy_statements(&with_policies),
        &ddl(Backend::MySql, models, false),
    )
    .await
}

/// The row-level-security statements of a PostgreSQL DDL text.
fn policy_statements(ddl: &str) -> String {
    ddl.split_inclusive(";\n")
        .filter(|s| s.contains("ROW LEVEL SECURITY") || s.contains("POLICY"))
        .collect()
}

#[tokio::test]
async fn every_column_type_passes_the_schema_check_and_round_trips_on_every_backend() {
    let models = [ModelInfo::of::<AllTypes>()];
    let (_guards, dbs) = generated(&models).await;
    let acme = scope("acme");
    let globex = scope("globex");
    for (name, db) in &dbs {
        let report = db.verify(&models).await.expect("verify");
        assert!(report.passed(), "{name}: {report}");
        let stored = AllTypes::insert(&acme, sample())
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: insert: {e}"));
        let read = AllTypes::find(&acme, stored.id)
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: read: {e}"));
        assert_eq!(read, stored, "{name}");
        let new = sample();
        assert_eq!(
            (read.tiny, read.small, read.int, read.big),
            (new.tiny, new.small, new.int, new.big),
            "{name}"
        );
        assert_eq!(
            (read.real, read.double, read.flag),
            (1.5, 2.25, true),
            "{name}"
        );
        assert_eq!((&read.text, &read.bytes), (&new.text, &new.bytes), "{name}");
        assert_eq!((read.uuid, &read.json), (new.uuid, &new.json), "{name}");
        assert_eq!(
            (read.at_utc, read.naive_at, read.day, read.clock),
            (new.at_utc, new.naive_at, new.day, new.clock),
            "{name}"
        );
        assert_eq!(
            (read.offset_at, read.primitive_at, read.date),
            (new.offset_at, new.primitive_at, new.date),
            "{name}"
        );
        assert_eq!(
            (&read.maybe_text, read.maybe_int, read.maybe_at),
            (&None, Some(-1), Some(new.at_utc)),
            "{name}"
        );
        // The generated timestamp is the database's current time.
        let age = Utc::now() - read.created_at;
        assert!(
            age.num_seconds().abs() < 300,
            "{name}: created_at {}",
            read.created_at
        );
        assert!(
            AllTypes::find(&globex, stored.id)
                .fetch_optional(db)
                .await
                .expect("read as another tenant")
                .is_none(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn integer_and_uuid_tenant_keys_pass_the_check_and_keep_references_in_the_tenant() {
    let models = [
        ModelInfo::of::<ByI64Child>(),
        ModelInfo::of::<ByI64>(),
        ModelInfo::of::<ByI32>(),
        ModelInfo::of::<ByUuidChild>(),
        ModelInfo::of::<ByUuid>(),
    ];
    let (_guards, dbs) = generated(&models).await;
    for (name, db) in &dbs {
        let report = db.verify(&models).await.expect("verify");
        assert!(report.passed(), "{name}: {report}");

        let seven = TenantScope::try_new(7_i64).expect("key");
        let parent = ByI64::insert(&seven, keyed::NewByI64 { name: "a".into() })
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let child = ByI64Child::insert(
            &seven,
            keyed::NewByI64Child {
                parent_id: parent.id,
            },
        )
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (child.account_id, child.parent_id),
            (7, parent.id),
            "{name}"
        );
        // The unique key is per tenant: another tenant may use the name.
        let eight = TenantScope::try_new(8_i64).expect("key");
        ByI64::insert(&eight, keyed::NewByI64 { name: "a".into() })
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: same name, other tenant: {e}"));
        let twice = ByI64::insert(&seven, keyed::NewByI64 { name: "a".into() })
            .fetch_one(db)
            .await;
        assert!(
            twice.is_err(),
            "{name}: the unique key lets a tenant repeat a name"
        );

        let one = TenantScope::try_new(1_i32).expect("key");
        let row = ByI32::insert(&one, keyed::NewByI32 { name: "x".into() })
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            ByI32::find(&one, row.id).fetch_one(db).await.expect("read"),
            row
        );

        let org = TenantScope::try_new(Uuid::from_u128(1)).expect("key");
        let id = Uuid::from_u128(99);
        let parent = ByUuid::insert(
            &org,
            keyed::NewByUuid {
                id,
                name: "u".into(),
            },
        )
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parent.org, Uuid::from_u128(1), "{name}");
        let child = ByUuidChild::insert(
            &org,
            keyed::NewByUuidChild {
                parent_id: Some(id),
            },
        )
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(child.parent_id, Some(id), "{name}");
    }
}

/// A raw write that points a row at another tenant's parent: the builders
/// refuse it before it is sent, so only raw SQL can try, and the composite
/// foreign key refuses it.
#[tokio::test]
async fn the_foreign_keys_refuse_a_reference_to_another_tenants_row_on_every_backend() {
    let models = shop::models();
    let (_guards, dbs) = generated(&models).await;
    let acme = scope("acme");
    for (name, db) in &dbs {
        let report = db.verify(&models).await.expect("verify");
        assert!(report.passed(), "{name}: {report}");
        let customer = shop::Customer::insert(
            &acme,
            shop::NewCustomer {
                email: "a@acme.test".into(),
                plan_id: None,
            },
        )
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let invoice = shop::Invoice::insert(
            &acme,
            shop::NewInvoice {
                customer_id: customer.id,
                status: "open".into(),
                period: "2024-02".into(),
                amount_cents: 100,
            },
        )
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(invoice.customer_id, customer.id);

        // The same statement for acme is accepted: the key refuses the
        // tenant, not the statement.
        let sql = |tenant: &str| {
            format!(
                "INSERT INTO shop_invoices (tenant_id, customer_id, status, period, amount_cents) \
                 VALUES ('{tenant}', {}, 'open', '2024-02', 1)",
                customer.id
            )
        };
        let own = raw(db, "acme", &sql("acme")).await;
        assert!(own.is_ok(), "{name}: {own:?}");
        let foreign = raw(db, "globex", &sql("globex")).await;
        let error = foreign.expect_err("a reference to another tenant's customer");
        assert!(
            error.to_lowercase().contains("foreign key"),
            "{name}: {error}"
        );
        // A plan that does not exist: the single-column key to the global table.
        let missing = raw(
            db,
            "acme",
            "INSERT INTO shop_customers (tenant_id, email, plan_id) VALUES ('acme', 'b@acme.test', 424242)",
        )
        .await;
        assert!(missing.is_err(), "{name}: a customer of a missing plan");
        // Uniqueness per tenant, led by the tenant column.
        let again = raw(
            db,
            "acme",
            "INSERT INTO shop_customers (tenant_id, email) VALUES ('acme', 'a@acme.test')",
        )
        .await;
        assert!(again.is_err(), "{name}: two customers with one e-mail");
        let other = raw(
            db,
            "globex",
            "INSERT INTO shop_customers (tenant_id, email) VALUES ('globex', 'a@acme.test')",
        )
        .await;
        assert!(other.is_ok(), "{name}: {other:?}");
    }
}

/// Runs `sql` with raw sqlx on `db`'s pool (on PostgreSQL in a
/// transaction of `tenant`, so the policies admit it), returning the error
/// text.
async fn raw(db: &TenantDb, tenant: &str, sql: &str) -> Result<(), String> {
    let result = if let Ok(pool) =
        db.raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
    {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(pool)
            .await
            .map(drop)
    } else if let Ok(pool) = db.raw_postgres(&tenant_core::CrossTenant::audited("test fixtures")) {
        // A transaction object: a failed statement rolls back when it is
        // dropped, so the connection goes back to the pool clean.
        async {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT set_config($1, $2, true)")
                .bind(tenant_core::rls::TENANT_SETTING)
                .bind(tenant)
                .execute(&mut *tx)
                .await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await
    } else if let Ok(pool) = db.raw_mysql(&tenant_core::CrossTenant::audited("test fixtures")) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(pool)
            .await
            .map(drop)
    } else {
        unreachable!("a backend every_backend does not make")
    };
    result.map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_postgres_doctor_passes_on_the_generated_schema() {
    let models = shop::models();
    let mut pg = tenant_tests::PgTestDb::create().await;
    pg.execute_script(&ddl(Backend::Postgres, &models, true))
        .await;
    let role = pg.create_app_role().await;
    let pool = pg.pool_as(&role, 1).await;
    let report = tenant_core::doctor::diagnose(&pool, &models)
        .await
        .expect("diagnose");
    assert!(report.passed(), "{report}");
    assert!(report.findings.iter().any(|f| f.check == "policy_present"));
}

#[tokio::test]
async fn the_mysql_doctor_passes_on_the_generated_schema() {
    let mut models = shop::models();
    models.extend([
        ModelInfo::of::<ByI64Child>(),
        ModelInfo::of::<ByI64>(),
        ModelInfo::of::<ByUuidChild>(),
        ModelInfo::of::<ByUuid>(),
        ModelInfo::of::<AllTypes>(),
    ]);
    let mut my = tenant_tests::MyTestDb::create().await;
    my.execute_script(&ddl(Backend::MySql, &models, false))
        .await;
    let user = my.create_app_user().await;
    let pool = my.pool_as(&user, 1).await;
    let report = tenant_core::doctor::diagnose_mysql(&pool, &models)
        .await
        .expect("diagnose");
    assert!(report.passed(), "{report}");
    for check in [
        "tenant_collation_binary",
        "primary_key_leads_with_tenant",
        "unique_leads_with_tenant",
        "foreign_keys_include_tenant",
    ] {
        assert!(
            report.findings.iter().any(|f| f.check == check && f.passed),
            "{check}: {report}"
        );
    }
}

#[test]
fn tables_come_parents_first_and_keys_lead_with_the_tenant_column() {
    let text = ddl(Backend::Postgres, &shop::models(), true);
    let at = |table: &str| {
        text.find(&format!("CREATE TABLE \"{table}\""))
            .unwrap_or_else(|| panic!("{table} in {text}"))
    };
    assert!(at("shop_plans") < at("shop_customers"));
    assert!(at("shop_customers") < at("shop_invoices"));
    assert!(at("shop_invoices") < at("shop_line_items"));
    for expected in [
        r#"PRIMARY KEY ("tenant_id", "id")"#,
        r#"CONSTRAINT "shop_invoices_tenant_id_customer_id_fkey" FOREIGN KEY ("tenant_id", "customer_id") REFERENCES "shop_customers" ("tenant_id", "id")"#,
        r#"CONSTRAINT "shop_customers_plan_id_fkey" FOREIGN KEY ("plan_id") REFERENCES "shop_plans" ("id")"#,
        r#"CREATE UNIQUE INDEX "shop_customers_tenant_id_email_key" ON "shop_customers" ("tenant_id", "email");"#,
        r#"CREATE INDEX "shop_invoices_tenant_id_status_period_idx" ON "shop_invoices" ("tenant_id", "status", "period");"#,
        r#"CREATE UNIQUE INDEX "shop_usage_tenant_id_period_key" ON "shop_usage" ("tenant_id", "period");"#,
        r#"CREATE UNIQUE INDEX "shop_plans_name_key" ON "shop_plans" ("name");"#,
        r#""created_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP"#,
        r#"CREATE POLICY "tenant_isolation" ON "shop_invoices""#,
    ] {
        assert!(text.contains(expected), "{expected}\nnot in\n{text}");
    }
    // The global table has no policy.
    assert!(!text.contains(r#"POLICY "tenant_isolation" ON "shop_plans""#));
}

#[test]
fn a_reference_to_a_model_left_out_is_an_error_naming_it() {
    let err = Schema::new(Backend::Sqlite, &[ModelInfo::of::<shop::Invoice>()])
        .expect_err("customers missing");
    assert!(matches!(err, SchemaError::MissingParent { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("shop_customers") && text.contains("ModelInfo::of"),
        "{text}"
    );
}

// --- Migrations ---------------------------------------------------------------

mod v1 {
    use tenant_core::prelude::*;

    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "mig_notes")]
    pub struct Note {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(tenant_id)]
        pub tenant_id: TenantId,
        pub body: String,
    }
}

mod v2 {
    use tenant_core::prelude::*;

    /// v1 plus a nullable column and an index.
    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "mig_notes")]
    pub struct Note {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(tenant_id)]
        pub tenant_id: TenantId,
        pub body: String,
        #[tenant(index)]
        pub topic: Option<String>,
    }

    /// A new table referencing the notes.
    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "mig_tags")]
    pub struct Tag {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(tenant_id)]
        pub tenant_id: TenantId,
        #[tenant(references = Note)]
        pub note_id: i64,
        pub label: String,
    }
}

mod v3 {
    use tenant_core::prelude::*;

    /// Each change v2 -> v3 is one a migration cannot make by itself.
    #[derive(Debug, Clone, PartialEq, TenantModel)]
    #[tenant(table = "mig_notes")]
    pub struct Note {
        #[tenant(primary_key)]
        pub id: i64,
        #[tenant(tenant_id)]
        pub tenant_id: TenantId,
        // `body` is gone (dropped or renamed).
        #[tenant(index)]
        pub topic: Option<i64>, // type change
        pub pinned: bool, // NOT NULL on an existing table
    }
}

fn temp_dir(backend: Backend) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(tenant_tests::unique_name(&format!(
        "tenant_migrations_{}",
        backend.name()
    )));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn sql_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn migrations_hold_only_the_difference_and_run_under_sqlx_on_every_backend() {
    let v1_models = [ModelInfo::of::<v1::Note>()];
    let v2_models = [ModelInfo::of::<v2::Tag>(), ModelInfo::of::<v2::Note>()];
    let mut pg = tenant_tests::PgTestDb::create().await;
    let my = tenant_tests::MyTestDb::create().await;
    let sqlite = TenantDb::sqlite(tenant_tests::sqlite_memory().await);
    let postgres_owner = TenantDb::postgres(pg.owner.clone());
    let mysql = TenantDb::mysql(my.owner.clone());
    for (backend, db) in [
        (Backend::Sqlite, &sqlite),
        (Backend::Postgres, &postgres_owner),
        (Backend::MySql, &mysql),
    ] {
        let name = backend.name();
        let dir = temp_dir(backend);
        let first = Migrations::new(&dir, backend)
            .models(&v1_models)
            .write("create notes")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let Written::Migration { path, sql } = &first else {
            panic!("{name}: no first migration: {first}");
        };
        assert!(path.ends_with("0001_create_notes.sql"), "{name}: {path:?}");
        assert!(sql.contains("CREATE TABLE"), "{name}: {sql}");
        // Unchanged models: nothing written.
        let again = Migrations::new(&dir, backend)
            .models(&v1_models)
            .write("nothing")
            .expect("second run");
        assert_eq!(again, Written::UpToDate, "{name}");
        assert_eq!(sql_files(&dir), ["0001_create_notes.sql"], "{name}");

        let second = Migrations::new(&dir, backend)
            .models(&v2_models)
            .write("add tags and topics")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let Written::Migration { path, sql } = &second else {
            panic!("{name}: no second migration");
        };
        assert!(
            path.ends_with("0002_add_tags_and_topics.sql"),
            "{name}: {path:?}"
        );
        assert!(
            !sql.contains("CREATE TABLE \"mig_notes\"")
                && !sql.contains("CREATE TABLE `mig_notes`"),
            "{name}: {sql}"
        );
        assert!(sql.contains("ADD COLUMN"), "{name}: {sql}");
        assert!(
            sql.contains("mig_notes_tenant_id_topic_idx"),
            "{name}: {sql}"
        );
        assert!(sql.contains("mig_tags"), "{name}: {sql}");
        assert_eq!(
            Migrations::new(&dir, backend)
                .models(&v2_models)
                .pending()
                .expect("pending"),
            None,
            "{name}"
        );

        // sqlx's migrator runs the directory (and ignores the state file).
        let migrator = sqlx::migrate::Migrator::new(dir.as_path())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(migrator.iter().count(), 2, "{name}");
        if let Ok(pool) = db.raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures")) {
            migrator
                .run(pool)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        } else if let Ok(pool) =
            db.raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
        {
            migrator
                .run(pool)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        } else if let Ok(pool) = db.raw_mysql(&tenant_core::CrossTenant::audited("test fixtures")) {
            migrator
                .run(pool)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let report = db.verify(&v2_models).await.expect("verify");
        assert!(report.passed(), "{name}: {report}");

        // Changes it cannot make: each listed with its fix, nothing written.
        let v3_models = [ModelInfo::of::<v2::Tag>(), ModelInfo::of::<v3::Note>()];
        let err = Migrations::new(&dir, backend)
            .models(&v3_models)
            .write("break things")
            .expect_err("manual changes");
        let SchemaError::ManualChanges(changes) = &err else {
            panic!("{name}: {err}");
        };
        let columns: Vec<Option<&str>> = changes.iter().map(|c| c.column.as_deref()).collect();
        assert!(columns.contains(&Some("body")), "{name}: {err}");
        assert!(columns.contains(&Some("topic")), "{name}: {err}");
        assert!(columns.contains(&Some("pinned")), "{name}: {err}");
        let text = err.to_string();
        assert!(
            text.contains("Fix:") && text.contains("nothing was written"),
            "{text}"
        );
        assert_eq!(sql_files(&dir).len(), 2, "{name}: a migration was written");
        // A model left out is a table to drop: refused too.
        let err = Migrations::new(&dir, backend)
            .models(&[ModelInfo::of::<v2::Tag>()])
            .write("drop notes")
            .expect_err("a dropped table");
        assert!(err.to_string().contains("mig_notes"), "{name}: {err}");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
    // The generated policies hold for a role that owns nothing.
    let role = pg.create_app_role().await;
    let app = TenantDb::postgres_with_rls(pg.pool_as(&role, 1).await);
    let acme = scope("acme");
    let note = v2::Note::insert(
        &acme,
        v2::NewNote {
            body: "hi".into(),
            topic: None,
        },
    )
    .fetch_one(&app)
    .await
    .expect("insert through the policies");
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM mig_notes")
        .fetch_one(
            app.raw_postgres(&tenant_core::CrossTenant::audited("test fixtures"))
                .expect("pg"),
        )
        .await
        .expect("raw count");
    assert_eq!(seen, 0, "a session without a tenant sees no row");
    assert_eq!(note.tenant_id.as_str(), "acme");
}
