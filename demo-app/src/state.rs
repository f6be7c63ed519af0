//! Shared state of the service.

use std::sync::Arc;

use tenant_core::TenantDb;

use crate::config::AppConfig;
use crate::metering::{BillingSink, Meter};
use crate::rate_limit::RateLimiter;

/// What handlers share: the database, settings, the meter and the rate
/// limiter. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct AppState {
    db: TenantDb,
    config: Arc<AppConfig>,
    meter: Meter,
    rate_limiter: Arc<RateLimiter>,
}

impl AppState {
    /// State over `db`, forwarding usage to `billing`.
    pub fn new(db: TenantDb, config: AppConfig, billing: Arc<dyn BillingSink>) -> Self {
        AppState {
            db,
            config: Arc::new(config),
            meter: Meter::new(billing),
            rate_limiter: Arc::new(RateLimiter::new()),
        }
    }

    /// The database. Tenant-owned tables on it need a
    /// [`TenantScope`](tenant_core::TenantScope), which only the
    /// [`Tenant`](crate::auth::Tenant) extractor hands out.
    pub fn db(&self) -> &TenantDb {
        &self.db
    }

    /// The settings.
    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    /// The usage meter.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// The per-tenant rate limiter.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.rate_limiter
    }
}
