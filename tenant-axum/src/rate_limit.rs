//! Per-tenant rate limits on `governor`: one keyed limiter per quota, keyed
//! by [`TenantId`], so tenants never share a budget.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tenant_core::TenantId;

use crate::{Resolved, TenantRejection};

/// How often (in checks) tenants idle long enough to have a full budget
/// again are forgotten.
const RETAIN_EVERY: u64 = 4096;

type QuotaOf<I> = dyn Fn(&Resolved<I>) -> Option<Quota> + Send + Sync;

/// A quota's identity (`Quota` is not `Hash`): burst size and replenish
/// interval.
type QuotaKey = (u32, Duration);

/// One keyed limiter per quota.
type Limiters = HashMap<QuotaKey, Arc<DefaultKeyedRateLimiter<TenantId>>>;

/// Per-tenant rate limits, checked by the [`TenantLayer`](crate::TenantLayer)
/// after the tenant is resolved: a tenant over its quota gets 429 with
/// `Retry-After`; other tenants are unaffected.
///
/// A quota is a [`governor::Quota`] (a GCRA cell: `Quota::per_minute(n)`
/// allows a burst of `n`, then one request every `60/n` seconds). The quota
/// may depend on what the credential carried, such as the tenant's plan:
/// each distinct quota gets its own keyed limiter. State is per process; a
/// deployment with several replicas divides each budget between them.
///
/// ```
/// use std::num::NonZeroU32;
/// use tenant_axum::TenantRateLimiter;
/// use tenant_axum::governor::Quota;
///
/// // Every tenant: 100 requests a minute.
/// let uniform = TenantRateLimiter::<()>::uniform(Quota::per_minute(NonZeroU32::new(100).unwrap()));
///
/// // By plan (the `Info` the credential resolved): free 60/min, pro unlimited.
/// #[derive(Clone)]
/// enum Plan { Free, Pro }
/// let by_plan = TenantRateLimiter::by(|resolved: &tenant_axum::Resolved<Plan>| match resolved.info() {
///     Plan::Free => Some(Quota::per_minute(NonZeroU32::new(60).unwrap())),
///     Plan::Pro => None,
/// });
/// ```
pub struct TenantRateLimiter<I> {
    quota_of: Box<QuotaOf<I>>,
    limiters: Mutex<Limiters>,
    checks: AtomicU64,
}

impl<I> std::fmt::Debug for TenantRateLimiter<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantRateLimiter").finish_non_exhaustive()
    }
}

impl<I> TenantRateLimiter<I> {
    /// The same `quota` for every tenant.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use tenant_axum::{Resolved, TenantRateLimiter};
    /// use tenant_axum::governor::Quota;
    /// use tenant_core::TenantId;
    ///
    /// let limiter = TenantRateLimiter::uniform(Quota::per_minute(NonZeroU32::new(1).unwrap()));
    /// let acme = Resolved::new(TenantId::parse("acme").unwrap(), ());
    /// assert!(limiter.check(&acme).is_ok());
    /// assert!(limiter.check(&acme).is_err());
    /// ```
    pub fn uniform(quota: Quota) -> Self {
        Self::by(move |_| Some(quota))
    }

    /// The quota `quota_of` gives each resolved tenant; `None` is no limit.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use tenant_axum::{Resolved, TenantRateLimiter};
    /// use tenant_axum::governor::Quota;
    ///
    /// let limiter = TenantRateLimiter::by(|r: &Resolved<u32>| {
    ///     NonZeroU32::new(*r.info()).map(Quota::per_minute)
    /// });
    /// ```
    pub fn by(quota_of: impl Fn(&Resolved<I>) -> Option<Quota> + Send + Sync + 'static) -> Self {
        TenantRateLimiter {
            quota_of: Box::new(quota_of),
            limiters: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one request of `resolved`'s tenant, or refuses it with
    /// [`TenantRejection::RateLimited`] saying when to retry (whole
    /// seconds, at least 1).
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use tenant_axum::{Resolved, TenantRateLimiter, TenantRejection};
    /// use tenant_axum::governor::Quota;
    /// use tenant_core::TenantId;
    ///
    /// let limiter = TenantRateLimiter::uniform(Quota::per_minute(NonZeroU32::new(2).unwrap()));
    /// let acme = Resolved::new(TenantId::parse("acme").unwrap(), ());
    /// let globex = Resolved::new(TenantId::parse("globex").unwrap(), ());
    /// assert!(limiter.check(&acme).is_ok());
    /// assert!(limiter.check(&acme).is_ok());
    /// let Err(TenantRejection::RateLimited { retry_after_secs }) = limiter.check(&acme) else {
    ///     panic!("the third request is refused");
    /// };
    /// assert!((1..=30).contains(&retry_after_secs));
    /// assert!(limiter.check(&globex).is_ok());
    /// ```
    pub fn check(&self, resolved: &Resolved<I>) -> Result<(), TenantRejection> {
        let Some(quota) = (self.quota_of)(resolved) else {
            return Ok(());
        };
        let limiter = self.limiter(quota);
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            limiter.retain_recent();
        }
        limiter
            .check_key(resolved.tenant_id())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(limiter.clock().now());
                TenantRejection::RateLimited {
                    retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
                }
            })
    }

    /// The keyed limiter of `quota`, made on first use.
    fn limiter(&self, quota: Quota) -> Arc<DefaultKeyedRateLimiter<TenantId>> {
        let key = (quota.burst_size().get(), quota.replenish_interval());
        // A panic elsewhere cannot leave the map half-updated (one insert),
        // so a poisoned lock is safe to keep using.
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            limiters
                .entry(key)
                .or_insert_with(|| Arc::new(RateLimiter::keyed(quota))),
        )
    }
}
