//! Shared state of the service.

use std::sync::Arc;

use tenant_core::TenantDb;

use crate::config::AppConfig;
use crate::metering::{BillingSink, Meter};
use crate::outbox::OutboxSignal;
use crate::rate_limit::RateLimiter;

/// What handlers share: the database, settings, the meter, the rate limiter
/// and the billing sink the outbox worker delivers to. Cloning is cheap.
#[derive(Clone)]
pub struct AppState {
    db: TenantDb,
    config: Arc<AppConfig>,
    meter: Meter,
    rate_limiter: Arc<RateLimiter>,
    billing: Arc<dyn BillingSink>,
    outbox: Arc<OutboxSignal>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `db`. Billed usage is delivered to `billing` by the outbox
    /// worker that [`serve`](crate::serve) runs.
    pub fn new(db: TenantDb, config: AppConfig, billing: Arc<dyn BillingSink>) -> Self {
        let outbox = Arc::new(OutboxSignal::default());
        AppState {
            db,
            config: Arc::new(config),
            meter: Meter::new(Arc::clone(&outbox)),
            rate_limiter: Arc::new(RateLimiter::new()),
            billing,
            outbox,
        }
    }

    /// The billing sink.
    pub fn billing(&self) -> &Arc<dyn BillingSink> {
        &self.billing
    }

    /// Wakes the outbox worker.
    pub fn outbox(&self) -> &Arc<OutboxSignal> {
        &self.outbox
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
