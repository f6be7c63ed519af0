//! Builder-only work: the SQL and bound arguments of each workload, built
//! without running anything, by the framework (`Prepare`) and by hand (what
//! `sqlx::query(..).bind(..)` builds for the same statement).

use std::borrow::Cow;
use std::hint::black_box;

use sqlx::Arguments;
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;
use tenant_core::__private::Prepare;
use tenant_core::{Model, TenantScope};

use crate::data::{amount, read_id, update_id};
use crate::model::{INSERT_EMAIL, Invoice, LIST_MIN_AMOUNT, NewInvoice, READ_TENANT};

/// A statement whose building is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Find by (tenant, id).
    Find,
    /// Filter, order, limit 50.
    List50,
    /// Count of the tenant's rows.
    Count,
    /// Insert one row.
    Insert,
    /// Update one row by id.
    Update,
}

impl Workload {
    /// Every workload.
    pub const ALL: [Workload; 5] = [
        Workload::Find,
        Workload::List50,
        Workload::Count,
        Workload::Insert,
        Workload::Update,
    ];

    /// Its name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Find => "find",
            Workload::List50 => "list50",
            Workload::Count => "count",
            Workload::Insert => "insert1",
            Workload::Update => "update1",
        }
    }
}

/// The SQL texts the hand-written side uses, rendered once.
#[derive(Debug, Clone)]
pub struct HandSql {
    /// Find by (tenant, id).
    pub find: &'static str,
    /// List 50.
    pub list50: &'static str,
    /// Count.
    pub count: &'static str,
    /// Insert .. returning.
    pub insert: &'static str,
    /// Update one row.
    pub update: &'static str,
}

impl HandSql {
    /// Renders the statements once (hand-written code has them as literals).
    pub fn new(scope: &TenantScope) -> Self {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        HandSql {
            find: Invoice::find(scope, 1).to_sql(),
            list50: leak(list50(scope).to_sql()),
            count: leak(Invoice::query(scope).to_count_sql()),
            insert: <Invoice as Model>::sql(tenant_core::Backend::Postgres)
                .insert_returning
                .as_str(),
            update: leak(update(scope, 0).to_sql()),
        }
    }
}

fn list50(scope: &TenantScope) -> tenant_core::Select<Invoice> {
    Invoice::query(scope)
        .filter(Invoice::AMOUNT_CENTS.gt(LIST_MIN_AMOUNT))
        .order_by(Invoice::ID.desc())
        .limit(50)
}

fn update(scope: &TenantScope, k: u64) -> tenant_core::Update<Invoice, tenant_core::Assigned> {
    Invoice::update(scope)
        .set(Invoice::AMOUNT_CENTS, amount(k))
        .filter(Invoice::ID.eq(update_id(k)))
}

fn new_row(k: u64) -> NewInvoice {
    NewInvoice {
        amount_cents: amount(k),
        customer_email: INSERT_EMAIL.to_owned(),
    }
}

/// Which backend's arguments to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `SqliteArguments`.
    Sqlite,
    /// `PgArguments`.
    Postgres,
}

impl Backend {
    /// `sqlite` / `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

fn prepared<P: Prepare>(builder: P, backend: Backend) {
    match backend {
        Backend::Sqlite => {
            black_box(builder.prepare::<sqlx::Sqlite>().expect("prepare"));
        }
        Backend::Postgres => {
            black_box(builder.prepare::<sqlx::Postgres>().expect("prepare"));
        }
    }
}

/// The framework: builder from the scope, then SQL and arguments.
pub fn framework(workload: Workload, backend: Backend, scope: &TenantScope, k: u64) {
    match workload {
        Workload::Find => prepared(Invoice::find(black_box(scope), read_id(k)), backend),
        Workload::List50 => prepared(list50(black_box(scope)), backend),
        // `count` of an unfiltered query: the same arguments as this select,
        // and a static SQL text like it.
        Workload::Count => prepared(Invoice::query(black_box(scope)), backend),
        Workload::Insert => prepared(Invoice::insert(black_box(scope), new_row(k)), backend),
        Workload::Update => prepared(update(black_box(scope), k), backend),
    }
}

macro_rules! hand_written {
    ($args:ty, $workload:expr, $sql:expr, $k:expr) => {{
        let tenant = black_box(READ_TENANT);
        let k = $k;
        let mut args = <$args>::default();
        let text = match $workload {
            Workload::Find => {
                args.add(tenant).expect("bind");
                args.add(read_id(k)).expect("bind");
                $sql.find
            }
            Workload::List50 => {
                args.add(tenant).expect("bind");
                args.add(LIST_MIN_AMOUNT).expect("bind");
                args.add(50_i64).expect("bind");
                $sql.list50
            }
            Workload::Count => {
                args.add(tenant).expect("bind");
                $sql.count
            }
            Workload::Insert => {
                args.add(tenant).expect("bind");
                args.add(amount(k)).expect("bind");
                args.add(INSERT_EMAIL).expect("bind");
                $sql.insert
            }
            Workload::Update => {
                args.add(tenant).expect("bind");
                args.add(amount(k)).expect("bind");
                args.add(update_id(k)).expect("bind");
                $sql.update
            }
        };
        black_box((Cow::Borrowed(text), args));
    }};
}

/// Hand-written sqlx: a static SQL string and the arguments that
/// `query(sql).bind(..)..` collects, in the same order.
pub fn hand_written(workload: Workload, backend: Backend, sql: &HandSql, k: u64) {
    match backend {
        Backend::Sqlite => hand_written!(SqliteArguments, workload, sql, k),
        Backend::Postgres => hand_written!(PgArguments, workload, sql, k),
    }
}
