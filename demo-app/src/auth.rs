//! Tenant resolution: the tenant comes from the API key and nothing else.
//!
//! The work is done by [`tenant_axum`]: [`tenant_layer`] builds the
//! [`TenantLayer`] that the `/api` routes sit behind. It reads
//! `Authorization: Bearer <key>`, finds the tenant whose key hash matches
//! (the [`TenantKeys`] store, over the `tenants` table), refuses tenant
//! hints that disagree (an `X-Tenant-ID` header, a `<tenant>.localhost`
//! subdomain, both compared ignoring ASCII case), applies the plan's rate
//! limit and records the tenant in the request span. [`Tenant`] is the
//! extractor handlers take: it hands them the request's [`TenantScope`],
//! and tenant-owned tables cannot be queried without one; the handler's
//! [`MeteredTx`](crate::metering::MeteredTx) counts the request if it
//! succeeds.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tenant_axum::{
    ApiKeyResolver, ApiKeyStore, Authenticated, HeaderHint, Resolved, SubdomainHint, TenantChain,
    TenantLayer, TenantRejection,
};
use tenant_core::{TenantDb, TenantId, TenantScope};

use crate::error::ApiError;
use crate::models::{Plan, TenantRecord};
use crate::state::AppState;

pub use tenant_axum::{ApiKey, host_tenant_hint};

/// Prefix of every API key; it makes keys recognisable to secret scanners.
pub const API_KEY_PREFIX: &str = "tsk_";

/// The demo's API keys: looked up by hash in the `tenants` table; the
/// tenant's plan comes along.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use demo_app::auth::TenantKeys;
/// use tenant_axum::ApiKeyStore;
///
/// let url = "sqlite::memory:";
/// let options = demo_app::config::db_options_for(url, tenant_core::TenantDbOptions::new());
/// let db = options.connect(url).await?;
/// demo_app::db::migrate(&db).await?;
/// let unknown = demo_app::auth::ApiKey::generate()?;
/// assert!(TenantKeys::new(db).find_by_hash(&unknown.hash()).await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TenantKeys {
    db: TenantDb,
}

impl TenantKeys {
    /// The keys of the tenants in `db`.
    pub fn new(db: TenantDb) -> Self {
        TenantKeys { db }
    }
}

impl ApiKeyStore for TenantKeys {
    type Info = Plan;

    async fn find_by_hash(&self, hash: &str) -> Result<Option<Resolved<Plan>>, TenantRejection> {
        let record = TenantRecord::query()
            .filter(TenantRecord::API_KEY_HASH.eq(hash.to_owned()))
            .fetch_optional(&self.db)
            .await?;
        Ok(record.map(|record| Resolved::new(record.id, record.plan)))
    }
}

/// The layer in front of every `/api` route: the API key selects the
/// tenant; `X-Tenant-ID` and the subdomain under the configured base
/// domains may only refuse; the plan's rate limit applies.
pub fn tenant_layer(state: &AppState) -> TenantLayer<ApiKeyResolver<TenantKeys>> {
    let chain = TenantChain::new(ApiKeyResolver::new(TenantKeys::new(state.db().clone())))
        .hint(HeaderHint::x_tenant_id())
        .hint(SubdomainHint::new(state.config().base_domains.clone()));
    TenantLayer::new(chain).rate_limit(state.rate_limiter().clone())
}

/// The authenticated tenant of a request.
///
/// Extract it in a handler behind [`tenant_layer`]; it is the only way to
/// obtain the request's [`TenantScope`].
#[derive(Debug, Clone)]
pub struct Tenant {
    scope: TenantScope,
    plan: Plan,
    period: String,
}

impl Tenant {
    /// The scope every query of this request uses.
    pub fn scope(&self) -> &TenantScope {
        &self.scope
    }

    /// The tenant's id.
    pub fn id(&self) -> &TenantId {
        self.scope.tenant_id()
    }

    /// The tenant's plan.
    pub fn plan(&self) -> Plan {
        self.plan
    }

    /// The billing period the request is counted in (`YYYY-MM`, UTC).
    pub fn period(&self) -> &str {
        &self.period
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Filled by `tenant_layer`; without it, a 500 (logged), never a
        // tenant.
        let tenant = Authenticated::<Plan>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::Internal)?;
        let (scope, plan) = tenant.into_parts();
        // The request is counted by the handler's transaction, if it
        // succeeds (see `crate::metering`).
        Ok(Tenant {
            scope,
            plan,
            period: crate::metering::current_period(),
        })
    }
}

/// The tenant whose key is `key`, if any.
pub async fn find_by_key(
    db: &TenantDb,
    key: &ApiKey,
) -> Result<Option<TenantRecord>, tenant_core::Error> {
    TenantRecord::query()
        .filter(TenantRecord::API_KEY_HASH.eq(key.hash()))
        .fetch_optional(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_demo_prefix() {
        let key = ApiKey::generate().expect("os random");
        assert!(key.expose().starts_with(API_KEY_PREFIX));
        assert_eq!(ApiKey::parse(key.expose()), Some(key.clone()));
    }
}
