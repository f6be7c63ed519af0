//! Run-time settings of the service: limits per plan, host names that carry
//! a tenant subdomain, and the database options.

use std::time::Duration;

use tenant_core::TenantDbOptions;

use crate::models::Plan;

/// What one plan allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// Most invoices a tenant may store at once; `None` is unlimited.
    pub max_invoices: Option<i64>,
    /// Requests per minute (a token bucket that refills continuously and
    /// allows bursts of this size); `None` turns rate limiting off.
    pub requests_per_minute: Option<u32>,
}

/// Limits of every plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The `free` plan.
    pub free: PlanLimits,
    /// The `pro` plan.
    pub pro: PlanLimits,
}

impl Limits {
    /// The limits of `plan`.
    pub fn for_plan(&self, plan: Plan) -> &PlanLimits {
        match plan {
            Plan::Free => &self.free,
            Plan::Pro => &self.pro,
        }
    }
}

impl Default for Limits {
    /// `free` stores at most 100 invoices; `pro` is unlimited; no rate limit.
    fn default() -> Self {
        Limits {
            free: PlanLimits {
                max_invoices: Some(100),
                requests_per_minute: None,
            },
            pro: PlanLimits {
                max_invoices: None,
                requests_per_minute: None,
            },
        }
    }
}

/// Settings of the HTTP service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// Limits per plan.
    pub limits: Limits,
    /// Domains whose subdomains name a tenant (`acme.localhost` under
    /// `localhost`). Such a subdomain is only a hint checked against the
    /// credential; it never selects a tenant.
    pub base_domains: Vec<String>,
    /// The operator's key for the `/admin` routes; `None` turns them off
    /// (403).
    pub admin_key: Option<crate::admin::AdminKey>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            limits: Limits::default(),
            base_domains: vec!["localhost".to_owned()],
            admin_key: None,
        }
    }
}

/// `options` as the service uses them on the database at `url`:
/// row-level security on PostgreSQL (it backs the builders' tenant
/// predicate: every scoped statement also sets `app.tenant_id`,
/// transaction-locally); on SQLite a 10-second wait for the write lock, and
/// one connection for an in-memory database (several would share it through
/// SQLite's shared cache, whose table locks fail at once instead of
/// waiting). MySQL has no row-level security: the builders' predicate is the
/// only layer, and the doctor checks what MySQL can.
///
/// The service asks for the ping before each acquire that tenant-core leaves
/// off by default: a connection the server closed (a restart,
/// `pg_terminate_backend`, MySQL's `wait_timeout`) is then replaced before a
/// request uses it, so no request fails for it (`tests/outage.rs`), at the
/// price of a round trip per statement. A service that retries on
/// [`tenant_core::Error::is_unavailable`] can drop it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tenant_core::Error> {
/// use std::time::Duration;
/// use tenant_core::TenantDbOptions;
///
/// let url = "sqlite::memory:";
/// let options = TenantDbOptions::new().acquire_timeout(Duration::from_secs(3));
/// let db = demo_app::config::db_options_for(url, options).connect(url).await?;
/// assert_eq!(db.raw_sqlite(&tenant_core::CrossTenant::audited("demo schema setup")).unwrap().options().get_max_connections(), 1);
/// # Ok(()) }
/// ```
pub fn db_options_for(url: &str, options: TenantDbOptions) -> TenantDbOptions {
    let options = options
        .test_before_acquire(true)
        .busy_timeout(Duration::from_secs(10))
        .rls(url.starts_with("postgres://") || url.starts_with("postgresql://"));
    if url.starts_with("sqlite:") && (url.contains(":memory:") || url.contains("mode=memory")) {
        options.max_connections(1)
    } else {
        options
    }
}
