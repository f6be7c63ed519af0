//! One tracing span per statement under `tenant_core::statement`, with the
//! model, the statement kind, the scope's tenant and the rows, on every
//! backend (SQLite, PostgreSQL plain and with row-level security,
//! MariaDB); a bound value appears in no span field and no event.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures_util::TryStreamExt;
use tenant_core::prelude::*;
use tenant_core::trace::{TARGET, kind};
use tenant_tests::models::{self, Invoice, NewInvoice, NewPayment, NewPlan, Payment, Plan};
use tenant_tests::suites::scope;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The distinctive values bound in the statements below.
const SECRET: &str = "zz-bound-secret-7f3a";
const SECRET_UPDATED: &str = "zz-bound-updated-91c4";
const SECRET_AMOUNT: i64 = 918_273_645;

/// One captured span: its target and fields (as text).
#[derive(Debug, Clone)]
struct Captured {
    target: String,
    fields: BTreeMap<String, String>,
}

/// A layer that keeps every span with its fields, and the text of every
/// event, for the leak check.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<Captured>>>,
    index: Arc<Mutex<HashMap<u64, usize>>>,
    events: Arc<Mutex<Vec<String>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut spans = self.spans.lock().unwrap();
        self.index
            .lock()
            .unwrap()
            .insert(id.into_u64(), spans.len());
        spans.push(Captured {
            target: attrs.metadata().target().to_owned(),
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(&i) = self.index.lock().unwrap().get(&id.into_u64()) {
            values.record(&mut Fields(&mut self.spans.lock().unwrap()[i].fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.events
            .lock()
            .unwrap()
            .push(format!("{} {:?}", event.metadata().target(), fields));
    }
}

impl Capture {
    /// The statement spans since the last call, as (kind, model, tenant,
    /// rows); checks each has its elapsed time and no bound value.
    fn take(&self) -> Vec<(String, String, Option<String>, Option<String>)> {
        let spans = std::mem::take(&mut *self.spans.lock().unwrap());
        self.index.lock().unwrap().clear();
        let mut out = Vec::new();
        for span in spans {
            let text = format!("{:?}", span.fields);
            assert!(
                !text.contains(SECRET)
                    && !text.contains(SECRET_UPDATED)
                    && !text.contains(&SECRET_AMOUNT.to_string()),
                "a bound value in a span: {text}"
            );
            if span.target != TARGET {
                continue;
            }
            assert!(
                span.fields.contains_key("elapsed_us"),
                "no elapsed time: {text}"
            );
            assert!(!span.fields.contains_key("failed"), "{text}");
            out.push((
                span.fields["kind"].clone(),
                span.fields["model"].clone(),
                span.fields.get("tenant").cloned(),
                span.fields.get("rows").cloned(),
            ));
        }
        for event in self.events.lock().unwrap().drain(..) {
            assert!(
                !event.contains(SECRET)
                    && !event.contains(SECRET_UPDATED)
                    && !event.contains(&SECRET_AMOUNT.to_string()),
                "a bound value in an event: {event}"
            );
        }
        out
    }
}

/// `(kind, model, tenant, rows)` as captured.
fn span(
    kind: &str,
    model: &str,
    tenant: Option<&str>,
    rows: u64,
) -> (String, String, Option<String>, Option<String>) {
    (
        kind.to_owned(),
        model.to_owned(),
        tenant.map(str::to_owned),
        Some(rows.to_string()),
    )
}

fn invoice(email: &str, amount: i64) -> NewInvoice {
    NewInvoice {
        amount_cents: amount,
        customer_email: email.to_owned(),
    }
}

async fn every_statement_has_its_span(name: &str, db: &TenantDb, capture: &Capture) {
    let acme = scope("acme");
    let globex = scope("globex");
    let acme_ = Some("acme");
    Invoice::insert(&globex, invoice(SECRET, 1))
        .execute(db)
        .await
        .unwrap();
    assert_eq!(
        capture.take(),
        [span(kind::INSERT, "invoices", Some("globex"), 1)],
        "{name}: insert of globex"
    );

    let first = Invoice::insert(&acme, invoice(SECRET, SECRET_AMOUNT))
        .fetch_one(db)
        .await
        .unwrap();
    Invoice::insert(&acme, invoice(SECRET, 5))
        .execute(db)
        .await
        .unwrap();
    Invoice::insert(&acme, invoice("other@example.com", 6))
        .execute(db)
        .await
        .unwrap();
    assert_eq!(
        capture.take(),
        [
            span(kind::INSERT, "invoices", acme_, 1),
            span(kind::INSERT, "invoices", acme_, 1),
            span(kind::INSERT, "invoices", acme_, 1),
        ],
        "{name}: inserts"
    );

    let found = Invoice::find(&acme, first.id)
        .fetch_optional(db)
        .await
        .unwrap();
    assert!(found.is_some());
    assert!(
        Invoice::find(&globex, first.id)
            .fetch_optional(db)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        capture.take(),
        [
            span(kind::FIND, "invoices", acme_, 1),
            span(kind::FIND, "invoices", Some("globex"), 0),
        ],
        "{name}: find"
    );

    let listed = Invoice::query(&acme)
        .filter(Invoice::CUSTOMER_EMAIL.eq(SECRET))
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    let counted = Invoice::query(&acme)
        .filter(Invoice::CUSTOMER_EMAIL.eq(SECRET))
        .count(db)
        .await
        .unwrap();
    assert_eq!(counted, 2);
    assert_eq!(
        capture.take(),
        [
            span(kind::SELECT, "invoices", acme_, 2),
            // A count reads one row.
            span(kind::COUNT, "invoices", acme_, 1),
        ],
        "{name}: list and count"
    );

    let streamed: Vec<Invoice> = Invoice::query(&acme)
        .filter(Invoice::AMOUNT_CENTS.ne(SECRET_AMOUNT))
        .fetch(db)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 2);
    assert_eq!(
        capture.take(),
        [span(kind::SELECT, "invoices", acme_, 2)],
        "{name}: stream"
    );

    let report: Vec<(i64, Option<i64>)> = Invoice::query(&acme)
        .filter(Invoice::CUSTOMER_EMAIL.eq(SECRET))
        .select((tenant_core::count(), Invoice::AMOUNT_CENTS.sum()))
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(report, [(2, Some(SECRET_AMOUNT + 5))]);
    assert_eq!(
        capture.take(),
        [span(kind::AGGREGATE, "invoices", acme_, 1)],
        "{name}: aggregate"
    );

    // A checked insert: its reference is looked up first, in its
    // transaction; each statement has its span.
    Payment::insert(
        &acme,
        NewPayment {
            invoice_id: first.id,
            amount_cents: SECRET_AMOUNT,
        },
    )
    .execute(db)
    .await
    .unwrap();
    assert_eq!(
        capture.take(),
        [
            span(kind::REFERENCE_LOOKUP, "invoices", acme_, 1),
            span(kind::INSERT, "payments", acme_, 1),
        ],
        "{name}: checked insert"
    );

    let joined = Payment::query(&acme)
        .inner_join::<Invoice>()
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(joined.len(), 1);
    assert_eq!(
        capture.take(),
        [span(kind::JOIN, "payments", acme_, 1)],
        "{name}: join"
    );

    let changed = Invoice::update(&acme)
        .set(Invoice::CUSTOMER_EMAIL, SECRET_UPDATED)
        .filter(Invoice::CUSTOMER_EMAIL.eq(SECRET))
        .execute(db)
        .await
        .unwrap();
    assert_eq!(changed, 2);
    assert_eq!(
        capture.take(),
        [span(kind::UPDATE, "invoices", acme_, 2)],
        "{name}: update"
    );

    let written = Invoice::insert_many(&acme, (0..3).map(|i| invoice(SECRET, 100 + i)))
        .rows_per_statement(2)
        .execute(db)
        .await
        .unwrap();
    assert_eq!(written, 3);
    assert_eq!(
        capture.take(),
        [
            span(kind::INSERT_MANY, "invoices", acme_, 2),
            span(kind::INSERT_MANY, "invoices", acme_, 1),
        ],
        "{name}: insert_many"
    );

    let gone = Invoice::delete(&acme)
        .filter(Invoice::CUSTOMER_EMAIL.eq(SECRET))
        .execute(db)
        .await
        .unwrap();
    assert_eq!(gone, 3);
    assert_eq!(
        capture.take(),
        [span(kind::DELETE, "invoices", acme_, 3)],
        "{name}: delete"
    );

    // A global model's statement names no tenant.
    Plan::insert(NewPlan {
        name: format!("plan-{name}"),
    })
    .execute(db)
    .await
    .unwrap();
    let plans = Plan::query().fetch_all(db).await.unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(
        capture.take(),
        [
            span(kind::INSERT, "plans", None, 1),
            span(kind::SELECT, "plans", None, 1),
        ],
        "{name}: global"
    );

    // A raw query of `query_as!`: kind `raw`, its first model's table, the
    // scope's tenant (on a row-level-security pool, in its own tenant
    // transaction: still one span); the bound value in no field.
    let rows: Vec<(i64,)> = tenant_core::query_as!(
        (i64,),
        &acme,
        "SELECT i.id FROM {Invoice} i WHERE i.customer_email <> ? ORDER BY i.id",
        SECRET_UPDATED,
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert!(!rows.is_empty(), "{name}: raw");
    assert_eq!(
        capture.take(),
        [span(kind::RAW, "invoices", acme_, rows.len() as u64)],
        "{name}: raw"
    );

    // In a tenant's transaction: the same spans, the transaction's tenant.
    let mut tx = db.begin(&acme).await.unwrap();
    let n = Invoice::query(&acme).count(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        capture.take(),
        [span(kind::COUNT, "invoices", acme_, 1)],
        "{name}: in a transaction"
    );
}

#[tokio::test]
async fn every_statement_has_one_span_with_its_model_kind_tenant_and_rows() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let policies = models::postgres_policies() + &tenant_core::rls::policy_sql::<Payment>();
    let (_guards, dbs) = tenant_tests::every_backend(
        models::SQLITE_SCHEMA,
        models::POSTGRES_SCHEMA,
        &policies,
        models::MYSQL_SCHEMA,
    )
    .await;
    for (name, db) in &dbs {
        capture.take();
        every_statement_has_its_span(name, db, &capture).await;
    }
}

#[tokio::test]
async fn a_failed_statement_is_marked_and_a_refused_one_has_no_span() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let db = tenant_tests::suites::sqlite_db().await;
    sqlx::query("DROP TABLE plans")
        .execute(
            db.raw_sqlite(&tenant_core::CrossTenant::audited("test fixtures"))
                .unwrap(),
        )
        .await
        .unwrap();
    capture.take();
    assert!(Plan::query().fetch_all(&db).await.is_err());
    let spans = std::mem::take(&mut *capture.spans.lock().unwrap());
    let failed: Vec<_> = spans.iter().filter(|s| s.target == TARGET).collect();
    assert_eq!(failed.len(), 1, "{spans:?}");
    assert_eq!(
        failed[0].fields.get("failed").map(String::as_str),
        Some("true")
    );
    assert!(!failed[0].fields.contains_key("rows"));

    // Refused before it is sent (another tenant's transaction): no span.
    let mut tx = db.begin(&scope("acme")).await.unwrap();
    let err = Invoice::query(&scope("globex"))
        .fetch_all(&mut tx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ScopeMismatch { .. }), "{err}");
    assert!(capture.take().is_empty());
}
