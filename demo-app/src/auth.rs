//! Tenant resolution: the tenant comes from the API key and nothing else.
//!
//! [`Tenant`] is an axum extractor. It reads `Authorization: Bearer <key>`,
//! finds the tenant whose key hash matches, refuses tenant hints that
//! disagree (an `X-Tenant-ID` header, a `<tenant>.localhost` subdomain, both
//! compared ignoring ASCII case) and applies the plan's rate limit. A handler
//! that takes a `Tenant` gets the request's [`TenantScope`], and tenant-owned
//! tables cannot be queried without one; the handler's
//! [`MeteredTx`](crate::metering::MeteredTx) counts the request if it
//! succeeds.

use std::fmt;
use std::net::IpAddr;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use tenant_core::{TenantDb, TenantId, TenantScope};

use crate::error::ApiError;
use crate::models::{Plan, TenantRecord};
use crate::state::AppState;

/// Prefix of every API key; it makes keys recognisable to secret scanners.
pub const API_KEY_PREFIX: &str = "tsk_";
/// Random bytes in a key (hex-encoded after the prefix).
const API_KEY_RANDOM_BYTES: usize = 32;

/// A plain-text API key. Shown once when created; only its
/// [`hash`](ApiKey::hash) is stored. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// A new random key: `tsk_` and 64 hex digits (256 bits from the OS).
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; API_KEY_RANDOM_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(ApiKey(format!("{API_KEY_PREFIX}{}", hex::encode(bytes))))
    }

    /// Accepts `s` if it has the shape of a key (prefix and 64 lower-case
    /// hex digits).
    pub fn parse(s: &str) -> Option<Self> {
        let random = s.strip_prefix(API_KEY_PREFIX)?;
        let well_formed = random.len() == 2 * API_KEY_RANDOM_BYTES
            && random
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| ApiKey(s.to_owned()))
    }

    /// The key, to show to its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form: hex SHA-256. A key carries 256 random bits, so a
    /// fast hash is enough (no password-style stretching needed), and lookup
    /// by hash needs no constant-time comparison of the key itself.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// The authenticated tenant of a request.
///
/// Extract it in a handler; it is the only way to obtain the request's
/// [`TenantScope`].
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

impl<S> FromRequestParts<S> for Tenant
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let key = bearer_key(&parts.headers)?;
        let record = find_by_key(state.db(), &key)
            .await?
            .ok_or(ApiError::Unauthorized("unknown or revoked API key"))?;
        tracing::Span::current().record("tenant", tracing::field::display(&record.id));
        check_hints(
            &parts.headers,
            parts.uri.host(),
            &record.id,
            &state.config().base_domains,
        )?;

        let limits = state.config().limits.for_plan(record.plan);
        if let Some(per_minute) = limits.requests_per_minute {
            state
                .rate_limiter()
                .check(&record.id, per_minute)
                .map_err(|retry_after| ApiError::RateLimited {
                    retry_after_secs: retry_after.as_secs_f64().ceil().max(1.0) as u64,
                })?;
        }

        // The request is counted by the handler's transaction, if it
        // succeeds (see `crate::metering`).
        Ok(Tenant {
            scope: TenantScope::new(record.id),
            plan: record.plan,
            period: crate::metering::current_period(),
        })
    }
}

/// The key of `Authorization: Bearer <key>`, or 401.
fn bearer_key(headers: &HeaderMap) -> Result<ApiKey, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or(ApiError::Unauthorized(
        "missing credential: send Authorization: Bearer <api key>",
    ))?;
    if values.next().is_some() {
        return Err(ApiError::Unauthorized("more than one Authorization header"));
    }
    let malformed =
        ApiError::Unauthorized("malformed credential: expected Authorization: Bearer <api key>");
    let value = value.to_str().map_err(|_| malformed.clone())?;
    let (scheme, token) = value.split_once(' ').ok_or(malformed.clone())?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed);
    }
    ApiKey::parse(token.trim()).ok_or(malformed)
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

/// Whether a tenant hint names `tenant`. Both kinds of hint are compared the
/// same way, ignoring ASCII case: a host name is case-insensitive, tenant ids
/// are lower-case, so `ACME` in `X-Tenant-ID` and `ACME.localhost` in `Host`
/// both name `acme`. Anything else (another tenant, a value that is no
/// tenant id at all) is a mismatch; a hint never selects a tenant.
fn hint_names(hint: &str, tenant: &TenantId) -> bool {
    hint.trim().eq_ignore_ascii_case(tenant.as_str())
}

/// Refuses a request whose tenant hints disagree with the credential.
fn check_hints(
    headers: &HeaderMap,
    uri_host: Option<&str>,
    tenant: &TenantId,
    base_domains: &[String],
) -> Result<(), ApiError> {
    for value in headers.get_all("x-tenant-id") {
        if !value.to_str().is_ok_and(|hint| hint_names(hint, tenant)) {
            return Err(ApiError::TenantMismatch("X-Tenant-ID header"));
        }
    }
    // The Host header (HTTP/1.1) or the URI authority (HTTP/2). A proxy's
    // X-Forwarded-Host is not trusted and not read.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(uri_host);
    if let Some(hint) = host.and_then(|h| host_tenant_hint(h, base_domains))
        && !hint_names(&hint, tenant)
    {
        return Err(ApiError::TenantMismatch("host name"));
    }
    Ok(())
}

/// The tenant a host name hints at: the subdomain directly in front of a base
/// domain, as in `acme.localhost:3000` → `acme`.
///
/// Ports, upper case and one trailing dot are normalised away (`ACME.localhost.`
/// is `acme`). IP literals, a base domain itself (`localhost`), `www.…` and
/// hosts outside the base domains give no hint. The result is compared with
/// the credential's tenant; it never selects a tenant on its own.
pub fn host_tenant_hint(host: &str, base_domains: &[String]) -> Option<String> {
    if host.starts_with('[') {
        return None; // IPv6 literal, possibly with a port
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        Some(_) => return None,
        None => host,
    };
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name.is_empty() || name.parse::<IpAddr>().is_ok() {
        return None;
    }
    for base in base_domains {
        let base = base.trim_end_matches('.').to_ascii_lowercase();
        if let Some(sub) = name
            .strip_suffix(base.as_str())
            .and_then(|s| s.strip_suffix('.'))
        {
            if sub.is_empty() || sub == "www" || sub.starts_with("www.") {
                return None;
            }
            return Some(sub.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(host: &str) -> Option<String> {
        host_tenant_hint(host, &["localhost".to_owned(), "example.com".to_owned()])
    }

    #[test]
    fn subdomains_hint_at_a_tenant() {
        assert_eq!(hint("acme.localhost").as_deref(), Some("acme"));
        assert_eq!(hint("acme.localhost:3000").as_deref(), Some("acme"));
        assert_eq!(hint("ACME.LocalHost:3000").as_deref(), Some("acme"));
        assert_eq!(hint("acme.localhost.").as_deref(), Some("acme"));
        assert_eq!(hint("globex.example.com").as_deref(), Some("globex"));
        assert_eq!(hint("a.b.localhost").as_deref(), Some("a.b"));
    }

    #[test]
    fn other_hosts_give_no_hint() {
        for host in [
            "localhost",
            "localhost:3000",
            "LOCALHOST.",
            "127.0.0.1",
            "127.0.0.1:3000",
            "[::1]:3000",
            "[::1]",
            "::1",
            "www.localhost",
            "www.acme.localhost:3000",
            "example.com",
            "evil-localhost",
            "acme.example.org",
            "",
            ":3000",
            "acme.localhost:x",
        ] {
            assert_eq!(hint(host), None, "{host:?}");
        }
    }

    #[test]
    fn keys() {
        let key = ApiKey::generate().expect("os random");
        assert!(key.expose().starts_with(API_KEY_PREFIX));
        assert_eq!(key.expose().len(), 4 + 64);
        assert_eq!(ApiKey::parse(key.expose()), Some(key.clone()));
        assert_ne!(key.hash(), key.expose());
        assert_eq!(key.hash().len(), 64);
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert_ne!(ApiKey::generate().expect("os random"), key);
        for bad in [
            "",
            "tsk_",
            "tsk_xyz",
            &key.expose().to_uppercase(),
            &key.expose()[4..],
        ] {
            assert!(ApiKey::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn bearer_parsing() {
        let key = ApiKey::generate().expect("os random");
        let mut headers = HeaderMap::new();
        assert!(bearer_key(&headers).is_err());
        for (value, ok) in [
            (format!("Bearer {}", key.expose()), true),
            (format!("bearer {}", key.expose()), true),
            (format!("Basic {}", key.expose()), false),
            (key.expose().to_owned(), false),
            ("Bearer ".to_owned(), false),
            ("Bearer nope".to_owned(), false),
        ] {
            headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
            assert_eq!(bearer_key(&headers).is_ok(), ok, "{value:?}");
        }
    }
}
