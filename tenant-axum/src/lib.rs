//! Tenant resolution for [axum] services on [`tenant_core`]: the tenant of a
//! request comes from a verified credential, never from a hint, and reaches
//! handlers as a [`TenantScope`](tenant_core::TenantScope).
//!
//! - A **credential** ([`TenantResolver`]) selects the tenant: an API key
//!   looked up by its hash in your store ([`ApiKeyResolver`] over an
//!   [`ApiKeyStore`]), or a JSON Web Token's claim ([`JwtResolver`]).
//!   Missing, malformed, unknown, expired or wrongly signed: 401.
//! - **Hints** ([`TenantHint`]) never select a tenant; they only refuse (403)
//!   a request that names another tenant than its credential: a header
//!   ([`HeaderHint`]), a subdomain ([`SubdomainHint`]), a path segment
//!   ([`PathPrefixHint`]).
//! - A [`TenantChain`] is one credential and any number of hints; it cannot
//!   be built from hints alone.
//! - The [`TenantLayer`] resolves the tenant once per request, records it in
//!   the span's `tenant` field, applies a per-tenant [`TenantRateLimiter`]
//!   (429 with `Retry-After`), and hands the [`Scope`] and [`Authenticated`]
//!   extractors their value.
//!
//! Refusals are JSON, `{"error":{"code":"...","message":"..."}}` (see
//! [`TenantRejection`]).
//!
//! ```
//! use std::num::NonZeroU32;
//! use axum::{Router, routing::get};
//! use tenant_axum::governor::Quota;
//! use tenant_axum::{
//!     HeaderHint, JwtResolver, Scope, SubdomainHint, TenantChain, TenantLayer, TenantRateLimiter,
//! };
//!
//! async fn hello(Scope(scope): Scope) -> String {
//!     // Query with `Invoice::query(&scope)` and friends.
//!     format!("hello {}", scope.tenant_id())
//! }
//!
//! let chain = TenantChain::new(JwtResolver::hs256(b"a secret of 32 bytes or more.....").audience(["api"]))
//!     .hint(HeaderHint::x_tenant_id())
//!     .hint(SubdomainHint::new(["example.com"]));
//! let layer = TenantLayer::new(chain)
//!     .rate_limit(TenantRateLimiter::uniform(Quota::per_minute(NonZeroU32::new(600).unwrap())));
//! let app: Router = Router::new()
//!     .route("/api/hello", get(hello))
//!     .route_layer(layer)
//!     .route("/health", get(|| async { "ok" }));
//! ```
//!
//! # The trust boundary
//!
//! A [`TenantScope`](tenant_core::TenantScope) is minted in exactly one
//! place of this crate, in the layer, after the credential was verified and
//! every hint agreed (grep `TenantScope::new` in `src/layer.rs`). A
//! [`TenantResolver`] of your own is a trust decision of the same kind:
//! whatever it returns becomes the scope.
//!
//! The `jsonwebtoken` and `governor` crates are re-exported, so keys,
//! algorithms and quotas come from the versions this crate uses.

pub mod api_key;
pub mod hints;
pub mod jwt;
pub mod layer;
pub mod rate_limit;
pub mod rejection;
pub mod resolve;

pub use api_key::{ApiKey, ApiKeyFormat, ApiKeyResolver, ApiKeyStore, KeyGenerationError};
pub use hints::{HeaderHint, PathPrefixHint, SubdomainHint, host_tenant_hint};
pub use jwt::{JwtClaims, JwtResolver};
pub use layer::{Authenticated, Scope, TenantLayer, TenantService};
pub use rate_limit::TenantRateLimiter;
pub use rejection::TenantRejection;
pub use resolve::{IntoTenantChain, Resolved, TenantChain, TenantHint, TenantResolver, hint_names};

pub use governor;
pub use jsonwebtoken;

#[doc = include_str!("../../docs/axum.md")]
#[cfg(doctest)]
pub struct Guide;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct Readme;
