//! The cross-tenant capability: reads over all or listed tenants on every
//! backend (PostgreSQL with row-level security through a second role), one
//! audit event per use, and the doctor's checks of both roles.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sqlx::Row as _;
use tenant_core::prelude::*;
use tenant_core::{Tenants, count};
use tenant_tests::models::{self, Customer, Invoice, NewInvoice};
use tenant_tests::{PgTestDb, suites::scope};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// acme: 100, 200, 300; globex: 1_000, 2_000; initech: 50.
const SEED: &[(&str, &[i64])] = &[
    ("acme", &[100, 200, 300]),
    ("globex", &[1_000, 2_000]),
    ("initech", &[50]),
];

async fn seed(db: &TenantDb) {
    for (tenant, amounts) in SEED {
        for amount in *amounts {
            Invoice::insert(
                &scope(tenant),
                NewInvoice {
                    amount_cents: *amount,
                    customer_email: format!("billing@{tenant}.test"),
                },
            )
            .execute(db)
            .await
            .expect("seed");
        }
    }
}

fn id(tenant: &str) -> TenantId {
    TenantId::parse(tenant).expect("valid id")
}

/// Every backend; PostgreSQL with row-level security gets a cross-tenant
/// role of its own with `rls::cross_tenant_policy_sql`, and a second
/// row-level-security handle without one.
async fn backends() -> (
    tenant_tests::Guards,
    Vec<(&'static str, TenantDb)>,
    TenantDb,
) {
    let (mut guards, dbs) = tenant_tests::every_backend(
        models::SQLITE_SCHEMA,
        models::POSTGRES_SCHEMA,
        &models::postgres_policies(),
        models::MYSQL_SCHEMA,
    )
    .await;
    let pg_rls = &mut guards.0[1];
    let admin_role = pg_rls.create_app_role().await;
    pg_rls
        .execute_script(&format!(
            "{}{}",
            tenant_core::rls::cross_tenant_policy_sql::<Invoice>(&admin_role),
            tenant_core::rls::cross_tenant_policy_sql::<Customer>(&admin_role)
        ))
        .await;
    let admin = TenantDb::postgres(pg_rls.pool_as(&admin_role, 2).await);
    let mut out = Vec::new();
    let mut rls_alone = None;
    for (name, db) in dbs {
        seed(&db).await;
        if name == "postgres+rls" {
            rls_alone = Some(db.clone());
            out.push((
                name,
                db.with_cross_tenant(admin.clone()).expect("same backend"),
            ));
        } else {
            out.push((name, db));
        }
    }
    (guards, out, rls_alone.expect("an RLS database"))
}

#[tokio::test]
async fn reads_across_all_and_listed_tenants_on_every_backend() {
    let (_guards, dbs, rls_alone) = backends().await;
    let admin = CrossTenant::audited("cross-tenant tests");
    for (name, db) in &dbs {
        let all = Invoice::query_across(&admin, Tenants::all())
            .order_by(Invoice::AMOUNT_CENTS.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let amounts: Vec<i64> = all.iter().map(|i| i.amount_cents).collect();
        assert_eq!(amounts, [50, 100, 200, 300, 1_000, 2_000], "{name}");

        let listed = Invoice::query_across(&admin, Tenants::listed([id("acme"), id("initech")]))
            .order_by(Invoice::AMOUNT_CENTS.asc())
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let tenants: Vec<String> = listed.iter().map(|i| i.tenant_id.to_string()).collect();
        assert_eq!(tenants, ["initech", "acme", "acme", "acme"], "{name}");

        // Filters, ordering and paging apply on top of the tenants.
        let page = Invoice::query_across(&admin, Tenants::listed([id("acme"), id("globex")]))
            .filter(Invoice::AMOUNT_CENTS.ge(200))
            .order_by(Invoice::AMOUNT_CENTS.desc())
            .limit(2)
            .offset(1)
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let amounts: Vec<i64> = page.iter().map(|i| i.amount_cents).collect();
        assert_eq!(amounts, [1_000, 300], "{name}");

        let counted = Invoice::query_across(&admin, Tenants::listed([id("globex"), id("globex")]))
            .count(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(counted, 2, "{name}: a tenant listed twice is one tenant");
        let none = Invoice::query_across(&admin, Tenants::listed(Vec::<TenantId>::new()))
            .count(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(none, 0, "{name}: an empty list reads no row");
        let unknown = Invoice::query_across(&admin, Tenants::listed([id("nobody")]))
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(unknown.is_empty(), "{name}");

        let usage = Invoice::query_across(&admin, Tenants::all())
            .filter(Invoice::AMOUNT_CENTS.gt(60))
            .per_tenant((count(), Invoice::AMOUNT_CENTS.sum()))
            .fetch_all(db)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            usage,
            [
                (id("acme"), (3, Some(600))),
                (id("globex"), (2, Some(3_000))),
            ],
            "{name}: initech's only invoice is filtered out"
        );
    }

    // Row-level-security mode without a cross-tenant pool refuses, unsent,
    // rather than reading nothing (or everything).
    let refused = Invoice::query_across(&admin, Tenants::all())
        .fetch_all(&rls_alone)
        .await;
    assert!(
        matches!(refused, Err(Error::NoCrossTenantPool)),
        "{refused:?}"
    );
}

/// The serving role of row-level-security mode still reads one tenant at
/// a time with raw SQL, however it is written, while the cross-tenant role
/// reads every tenant.
#[tokio::test]
async fn the_serving_role_never_gains_cross_tenant_rights() {
    let (_guards, dbs, rls_alone) = backends().await;
    let admin = CrossTenant::audited("cross-tenant tests");
    let serving = rls_alone
        .raw_postgres(&admin)
        .expect("the serving pool of an RLS database without a cross-tenant pool");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices")
        .fetch_one(serving)
        .await
        .expect("count");
    assert_eq!(rows, 0, "no tenant set: no row");
    let mut tx = serving.begin().await.expect("begin");
    sqlx::query("SELECT set_config('app.tenant_id', 'acme', true)")
        .execute(&mut *tx)
        .await
        .expect("set");
    let tenants: Vec<String> = sqlx::query("SELECT DISTINCT tenant_id FROM invoices")
        .fetch_all(&mut *tx)
        .await
        .expect("read")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tenants, ["acme"]);
    tx.rollback().await.expect("rollback");

    let (_, with_admin) = dbs
        .iter()
        .find(|(name, _)| *name == "postgres+rls")
        .expect("rls");
    let cross = with_admin
        .raw_postgres(&admin)
        .expect("the cross-tenant pool");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices")
        .fetch_one(cross)
        .await
        .expect("count");
    assert_eq!(rows, 6, "the cross-tenant role reads every tenant");
    // Its policy is for reading: a write is still held to the tenant policy.
    let write = sqlx::query("UPDATE invoices SET amount_cents = 0")
        .execute(cross)
        .await
        .expect("update");
    assert_eq!(write.rows_affected(), 0, "no tenant set: no row to update");
}

/// An audit event, as its fields.
type Event = BTreeMap<String, String>;

#[derive(Clone, Default)]
struct Audit(Arc<Mutex<Vec<Event>>>);

struct Fields<'a>(&'a mut Event);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Audit {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != tenant_core::cross::AUDIT_TARGET {
            return;
        }
        let mut fields = Event::new();
        fields.insert("level".into(), event.metadata().level().to_string());
        event.record(&mut Fields(&mut fields));
        self.0.lock().expect("lock").push(fields);
    }
}

impl Audit {
    fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

#[tokio::test]
async fn every_use_is_audited_exactly_once_with_its_reason_and_call_site() {
    let db = TenantDb::sqlite(tenant_tests::sqlite_memory().await);
    let audit = Audit::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(audit.clone()));

    let admin = CrossTenant::audited("monthly billing export");
    let minted_line = line!() - 1;
    let pool = db.raw_sqlite(&admin).expect("sqlite");
    let raw_line = line!() - 1;
    sqlx::raw_sql(models::SQLITE_SCHEMA)
        .execute(pool)
        .await
        .expect("schema");
    seed(&db).await;
    let events = audit.take();
    assert_eq!(
        events.len(),
        1,
        "one raw-pool use, scoped inserts unaudited: {events:#?}"
    );
    let raw = &events[0];
    assert_eq!(raw["reason"], "monthly billing export");
    assert_eq!(raw["kind"], "raw_pool");
    assert_eq!(raw["model"], "SQLite");
    assert_eq!(raw["tenants"], "*");
    assert_eq!(raw["level"], "WARN");
    assert!(
        raw["at"].starts_with(&format!("{}:{raw_line}:", file!())),
        "{raw:?}"
    );
    assert!(
        raw["minted_at"].starts_with(&format!("{}:{minted_line}:", file!())),
        "{raw:?}"
    );

    let query = Invoice::query_across(&admin, Tenants::listed([id("globex"), id("acme")]));
    let query_line = line!() - 1;
    let rows = query.fetch_all(&db).await.expect("read");
    assert_eq!(rows.len(), 5);
    Invoice::query_across(&admin, Tenants::all())
        .count(&db)
        .await
        .expect("count");
    Invoice::query_across(&admin, Tenants::all())
        .per_tenant((count(),))
        .fetch_all(&db)
        .await
        .expect("per tenant");
    let events = audit.take();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["select", "count", "aggregate"], "{events:#?}");
    assert_eq!(events[0]["tenants"], "globex,acme");
    assert_eq!(events[0]["model"], "invoices");
    assert!(events[0]["at"].starts_with(&format!("{}:{query_line}:", file!())));
    assert!(
        events
            .iter()
            .all(|e| e["reason"] == "monthly billing export")
    );

    // A tenant's scope from the capability: audited with the tenant.
    let acme = admin.scope(id("acme")).expect("scope");
    assert_eq!(Invoice::query(&acme).count(&db).await.expect("count"), 3);
    let events = audit.take();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["kind"], "scope");
    assert_eq!(events[0]["tenants"], "acme");
    let blank = CrossTenant::audited(" ");
    assert!(matches!(blank.scope(id("acme")), Err(Error::MissingReason)));
    assert!(matches!(admin.scope(0_i64), Err(Error::InvalidTenantId(_))));

    // A tenant's subquery inside a cross-tenant read is refused unsent, and
    // unaudited; so is a plain column per tenant (one value per tenant
    // only comes from an aggregate).
    let mixed = Invoice::query_across(&admin, Tenants::all())
        .filter(
            Invoice::CUSTOMER_EMAIL.is_in(Customer::query(&scope("acme")).column(Customer::EMAIL)),
        )
        .fetch_all(&db)
        .await;
    assert!(mixed.is_err(), "{mixed:?}");
    let plain = Invoice::query_across(&admin, Tenants::all())
        .per_tenant((Invoice::CUSTOMER_EMAIL,))
        .fetch_all(&db)
        .await;
    assert!(matches!(plain, Err(Error::Unsupported { .. })), "{plain:?}");

    // Scoped work is never audited; a refused use is not a use.
    Invoice::query(&scope("acme"))
        .count(&db)
        .await
        .expect("scoped");
    assert!(db.raw_postgres(&admin).is_err());
    assert!(audit.take().is_empty());
}

#[tokio::test]
async fn a_blank_reason_is_refused_unsent() {
    let db = TenantDb::sqlite(tenant_tests::sqlite_memory().await);
    let audit = Audit::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(audit.clone()));
    for reason in ["", "   ", "\t\n"] {
        let blank = CrossTenant::audited(reason);
        // No table exists: a statement sent would fail with a database error.
        let read = Invoice::query_across(&blank, Tenants::all())
            .fetch_all(&db)
            .await;
        assert!(
            matches!(read, Err(Error::MissingReason)),
            "{reason:?}: {read:?}"
        );
        let count = Invoice::query_across(&blank, Tenants::all())
            .count(&db)
            .await;
        assert!(matches!(count, Err(Error::MissingReason)), "{count:?}");
        let raw = db.raw_sqlite(&blank);
        assert!(matches!(raw, Err(Error::MissingReason)), "{raw:?}");
    }
    assert!(audit.take().is_empty());
    assert!(
        Error::MissingReason
            .to_string()
            .contains("CrossTenant::audited(\"why")
    );
}

#[tokio::test]
async fn cross_tenant_pools_pair_only_with_their_backend() {
    let lite = TenantDb::sqlite(tenant_tests::sqlite_memory().await);
    let admin = CrossTenant::audited("pairing tests");
    let wrong = lite.raw_postgres(&admin);
    assert!(
        matches!(
            wrong,
            Err(Error::WrongBackend {
                expected: tenant_core::Backend::Postgres,
                actual: tenant_core::Backend::Sqlite
            })
        ),
        "{wrong:?}"
    );
    let mut pg = PgTestDb::create().await;
    let role = pg.create_app_role().await;
    let pool = pg.pool_as(&role, 1).await;
    let paired = lite
        .clone()
        .with_cross_tenant(TenantDb::postgres(pool.clone()));
    assert!(
        matches!(paired, Err(Error::CrossTenantPool { .. })),
        "{paired:?}"
    );
    let rls_as_cross =
        TenantDb::postgres(pool.clone()).with_cross_tenant(TenantDb::postgres_with_rls(pool));
    assert!(
        matches!(rls_as_cross, Err(Error::CrossTenantPool { .. })),
        "{rls_as_cross:?}"
    );
}

/// The doctor's report on the serving role and the cross-tenant role.
async fn both_roles(
    serving: &sqlx::PgPool,
    cross: &sqlx::PgPool,
    infos: &[tenant_core::rls::ModelInfo],
) -> tenant_core::doctor::Report {
    tenant_core::doctor::diagnose_cross_tenant(serving, cross, infos)
        .await
        .expect("doctor")
}

/// The doctor, given both pools, passes a correct setup and fails each way
/// the cross-tenant role could leak into serving or fail to read.
#[tokio::test]
async fn the_doctor_checks_both_roles() {
    let infos = [
        tenant_core::rls::ModelInfo::of::<Invoice>(),
        tenant_core::rls::ModelInfo::of::<Customer>(),
    ];
    let mut pg = PgTestDb::create().await;
    pg.execute_script(models::POSTGRES_SCHEMA).await;
    pg.execute_script(&models::postgres_policies()).await;
    let serving_role = pg.create_app_role().await;
    let admin_role = pg.create_app_role().await;
    let serving = pg.pool_as(&serving_role, 1).await;
    let admin = pg.pool_as(&admin_role, 1).await;
    let policies = format!(
        "{}{}",
        tenant_core::rls::cross_tenant_policy_sql::<Invoice>(&admin_role),
        tenant_core::rls::cross_tenant_policy_sql::<Customer>(&admin_role)
    );

    // Without the cross-tenant policy the admin role reads one tenant only.
    let report = both_roles(&serving, &admin, &infos).await;
    assert!(
        report.failed("cross-tenant", "cross_tenant_reads"),
        "{report}"
    );
    assert_eq!(report.failures().count(), 2, "{report}");
    assert!(
        !report.failed("invoices", "policy_admits_only_tenant"),
        "{report}"
    );

    pg.execute_script(&policies).await;
    let report = both_roles(&serving, &admin, &infos).await;
    assert!(report.passed(), "{report}");
    // The serving role's own report accepts a policy it cannot reach.
    let alone = tenant_core::doctor::diagnose(&serving, &infos)
        .await
        .expect("doctor");
    assert!(alone.passed(), "{alone}");

    // A FOR ALL policy would let the admin role write to every tenant: it
    // does not count as the read policy.
    pg.execute_script(&format!(
        "DROP POLICY tenant_cross_tenant_read ON customers;
         CREATE POLICY tenant_cross_tenant_read ON customers AS PERMISSIVE FOR ALL
             TO \"{admin_role}\" USING (true)"
    ))
    .await;
    let report = both_roles(&serving, &admin, &infos).await;
    assert!(
        report.failed("cross-tenant", "cross_tenant_reads"),
        "{report}"
    );
    assert_eq!(report.failures().count(), 1, "{report}");
    pg.execute_script(&tenant_core::rls::cross_tenant_policy_sql::<Customer>(
        &admin_role,
    ))
    .await;

    // The same role for both.
    let report = both_roles(&serving, &serving, &infos).await;
    assert!(
        report.failed("cross-tenant", "cross_tenant_role_separate"),
        "{report}"
    );

    // The serving role a member of the admin role (it could SET ROLE), even
    // without inheriting its rights.
    pg.execute_script(&format!(
        "ALTER ROLE \"{serving_role}\" NOINHERIT; GRANT \"{admin_role}\" TO \"{serving_role}\""
    ))
    .await;
    let report = both_roles(&serving, &admin, &infos).await;
    assert!(
        report.failed("cross-tenant", "cross_tenant_role_separate"),
        "{report}"
    );
    assert!(
        report.failed("invoices", "policy_not_open_when_unset"),
        "{report}"
    );
    pg.execute_script(&format!(
        "REVOKE \"{admin_role}\" FROM \"{serving_role}\"; ALTER ROLE \"{serving_role}\" INHERIT"
    ))
    .await;

    // The cross-tenant policy given to PUBLIC widens the serving role's view.
    pg.execute_script(
        "DROP POLICY tenant_cross_tenant_read ON invoices;
         CREATE POLICY tenant_cross_tenant_read ON invoices AS PERMISSIVE FOR SELECT USING (true)",
    )
    .await;
    let report = both_roles(&serving, &admin, &infos).await;
    assert!(
        report.failed("invoices", "policy_not_open_when_unset"),
        "{report}"
    );
    assert!(
        !report.failed("customers", "policy_not_open_when_unset"),
        "{report}"
    );
}
