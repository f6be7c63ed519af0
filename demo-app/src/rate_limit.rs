//! A per-tenant token bucket, in memory.
//!
//! Each tenant's bucket holds up to `per_minute` tokens and refills at
//! `per_minute / 60` tokens a second; a request takes one. Buckets are keyed
//! by [`TenantId`], so tenants never share a budget. State is per process: a
//! deployment with several replicas would keep it in a shared store instead.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tenant_core::TenantId;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets for every tenant seen so far.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<TenantId, Bucket>>,
}

impl RateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a token from `tenant`'s bucket, or says how long until one is
    /// available.
    pub fn check(&self, tenant: &TenantId, per_minute: u32) -> Result<(), Duration> {
        self.check_at(tenant, per_minute, Instant::now())
    }

    fn check_at(&self, tenant: &TenantId, per_minute: u32, now: Instant) -> Result<(), Duration> {
        if per_minute == 0 {
            return Err(Duration::from_secs(60));
        }
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        // A panic elsewhere cannot corrupt a bucket (plain numbers), so a
        // poisoned lock is safe to keep using.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(*tenant).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_refills() {
        let limiter = RateLimiter::new();
        let acme = TenantId::parse("acme").expect("id");
        let globex = TenantId::parse("globex").expect("id");
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(&acme, 3, t0).is_ok());
        }
        let wait = limiter.check_at(&acme, 3, t0).expect_err("empty bucket");
        assert!((19.0..=20.0).contains(&wait.as_secs_f64()), "{wait:?}");
        // Another tenant has its own bucket.
        assert!(limiter.check_at(&globex, 3, t0).is_ok());
        // 20 s later one token is back.
        let t1 = t0 + Duration::from_secs(20);
        assert!(limiter.check_at(&acme, 3, t1).is_ok());
        assert!(limiter.check_at(&acme, 3, t1).is_err());
    }
}
