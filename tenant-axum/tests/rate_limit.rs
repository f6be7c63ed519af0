//! Per-tenant rate limits: 429 with Retry-After for one tenant, the others
//! unaffected, quotas per plan.

#![allow(clippy::unwrap_used, unreachable_pub, missing_docs)]

mod common;

use std::num::NonZeroU32;
use std::sync::Arc;

use tenant_axum::governor::Quota;
use tenant_axum::{ApiKeyResolver, JwtResolver, Resolved, TenantLayer, TenantRateLimiter};

use common::*;

#[tokio::test]
async fn a_tenant_over_its_quota_gets_429_and_others_do_not() {
    let limiter = TenantRateLimiter::uniform(Quota::per_minute(NonZeroU32::new(3).unwrap()));
    let app = app(TenantLayer::new(JwtResolver::hs256(SECRET)).rate_limit(limiter));
    let acme = token("acme");
    for _ in 0..3 {
        send(&app, get_as("/api/whoami", &acme, &[]))
            .await
            .assert_ok("acme");
    }
    let reply = send(&app, get_as("/api/whoami", &acme, &[])).await;
    reply.assert_error(429, "rate_limited");
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // One request every 20 s comes back.
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    // Another tenant has its own budget.
    for _ in 0..3 {
        send(&app, get_as("/api/whoami", &token("globex"), &[]))
            .await
            .assert_ok("globex");
    }
    // Refused credentials do not consume anyone's budget.
    for _ in 0..10 {
        send(&app, get_with("/api/whoami", &[("x-tenant-id", "initech")]))
            .await
            .assert_error(401, "unauthorized");
    }
    send(&app, get_as("/api/whoami", &token("initech"), &[]))
        .await
        .assert_ok("initech");
    // acme is still limited.
    send(&app, get_as("/api/whoami", &acme, &[]))
        .await
        .assert_error(429, "rate_limited");
}

#[tokio::test]
async fn quotas_follow_the_plan() {
    let mut keys = Keys::default();
    let free = keys.add("globex", Plan::Free);
    let other_free = keys.add("initech", Plan::Free);
    let pro = keys.add("acme", Plan::Pro);
    let limiter = Arc::new(TenantRateLimiter::by(|r: &Resolved<Plan>| match r.info() {
        Plan::Free => Some(Quota::per_minute(NonZeroU32::new(2).unwrap())),
        Plan::Pro => None,
    }));
    let layer = TenantLayer::new(ApiKeyResolver::new(keys)).rate_limit(Arc::clone(&limiter));
    let app = app(layer);
    for _ in 0..2 {
        send(&app, get_as("/api/whoami", &free, &[]))
            .await
            .assert_ok("globex");
    }
    send(&app, get_as("/api/whoami", &free, &[]))
        .await
        .assert_error(429, "rate_limited");
    send(&app, get_as("/api/whoami", &other_free, &[]))
        .await
        .assert_ok("initech");
    // Pro has no limit configured.
    for _ in 0..50 {
        send(&app, get_as("/api/whoami", &pro, &[]))
            .await
            .assert_ok("acme");
    }
    // The shared limiter keeps its state for a router built again.
    let again =
        common::app(TenantLayer::new(ApiKeyResolver::new(Keys::default())).rate_limit(limiter));
    drop(again);
}
