//! Run-time settings of the service: limits per plan, host names that carry
//! a tenant subdomain, and database pool options.

use std::time::Duration;

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
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            limits: Limits::default(),
            base_domains: vec!["localhost".to_owned()],
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbOptions {
    /// Largest number of open connections.
    pub max_connections: u32,
    /// How long a request waits for a connection before it is answered with
    /// 503. Short, so that an outage is reported quickly.
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}
