//! Shared state of the service.

use std::num::NonZeroU32;
use std::sync::Arc;

use tenant_axum::governor::Quota;
use tenant_axum::{Resolved, TenantRateLimiter};
use tenant_core::TenantDb;

use crate::config::AppConfig;
use crate::metering::{BillingSink, Meter};
use crate::models::Plan;
use crate::outbox::OutboxSignal;

/// What handlers share: the database, settings, the meter, the rate limiter
/// and the billing sink the outbox worker delivers to. Cloning is cheap.
#[derive(Clone)]
pub struct AppState {
    db: TenantDb,
    config: Arc<AppConfig>,
    meter: Meter,
    rate_limiter: Arc<TenantRateLimiter<Plan>>,
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
        let limits = config.limits;
        // One governor limiter per plan quota, keyed by tenant: a tenant
        // never shares its budget. `requests_per_minute` allows a burst of
        // that size, then one request every 60/n seconds; 0 (which the
        // command line refuses) acts as 1.
        let rate_limiter = TenantRateLimiter::by(move |resolved: &Resolved<Plan>| {
            limits
                .for_plan(*resolved.info())
                .requests_per_minute
                .map(|n| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)))
        });
        AppState {
            db,
            config: Arc::new(config),
            meter: Meter::new(Arc::clone(&outbox)),
            rate_limiter: Arc::new(rate_limiter),
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
    /// [`Tenant`](crate::auth::Tenant) extractor hands out (behind
    /// [`tenant_layer`](crate::auth::tenant_layer)).
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

    /// The per-tenant rate limiter (the plans' quotas, on `governor`).
    pub fn rate_limiter(&self) -> &Arc<TenantRateLimiter<Plan>> {
        &self.rate_limiter
    }
}
