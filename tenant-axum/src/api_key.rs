//! API keys: random bearer tokens whose SHA-256 hash the application stores.

use std::fmt;
use std::future::Future;

use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use crate::{Resolved, TenantRejection, TenantResolver};

/// The shape of the keys of an application: a prefix that makes them
/// recognisable to secret scanners, then 64 lower-case hex digits (256
/// random bits from the operating system).
///
/// ```
/// use tenant_axum::ApiKeyFormat;
///
/// const KEYS: ApiKeyFormat = ApiKeyFormat::new("acme_live_");
/// let key = KEYS.generate()?;
/// assert!(key.expose().starts_with("acme_live_"));
/// assert_eq!(KEYS.parse(key.expose()), Some(key.clone()));
/// assert_eq!(KEYS.parse("acme_live_nope"), None);
/// # Ok::<(), tenant_axum::KeyGenerationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiKeyFormat {
    prefix: &'static str,
}

/// Random bytes in a key (hex-encoded after the prefix).
const RANDOM_BYTES: usize = 32;

impl ApiKeyFormat {
    /// Keys that start with `tsk_`.
    pub const DEFAULT: ApiKeyFormat = ApiKeyFormat::new("tsk_");

    /// Keys that start with `prefix`.
    ///
    /// ```
    /// let format = tenant_axum::ApiKeyFormat::new("sk_");
    /// assert_eq!(format.prefix(), "sk_");
    /// ```
    pub const fn new(prefix: &'static str) -> Self {
        ApiKeyFormat { prefix }
    }

    /// The prefix.
    ///
    /// ```
    /// assert_eq!(tenant_axum::ApiKeyFormat::DEFAULT.prefix(), "tsk_");
    /// ```
    pub fn prefix(&self) -> &'static str {
        self.prefix
    }

    /// A new random key.
    ///
    /// ```
    /// let key = tenant_axum::ApiKeyFormat::new("k_").generate()?;
    /// assert_eq!(key.expose().len(), 2 + 64);
    /// # Ok::<(), tenant_axum::KeyGenerationError>(())
    /// ```
    pub fn generate(&self) -> Result<ApiKey, KeyGenerationError> {
        let mut bytes = [0u8; RANDOM_BYTES];
        getrandom::fill(&mut bytes).map_err(|err| KeyGenerationError(err.to_string()))?;
        Ok(ApiKey(format!("{}{}", self.prefix, hex::encode(bytes))))
    }

    /// Accepts `s` if it has the shape of a key of this format: the prefix
    /// and 64 lower-case hex digits.
    ///
    /// ```
    /// let format = tenant_axum::ApiKeyFormat::DEFAULT;
    /// assert!(format.parse(&format!("tsk_{}", "0a".repeat(32))).is_some());
    /// assert!(format.parse(&format!("tsk_{}", "0A".repeat(32))).is_none());
    /// ```
    pub fn parse(&self, s: &str) -> Option<ApiKey> {
        let random = s.strip_prefix(self.prefix)?;
        let well_formed = random.len() == 2 * RANDOM_BYTES
            && random
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| ApiKey(s.to_owned()))
    }
}

impl Default for ApiKeyFormat {
    /// [`ApiKeyFormat::DEFAULT`].
    fn default() -> Self {
        ApiKeyFormat::DEFAULT
    }
}

/// The operating system gave no random bytes for a key.
///
/// ```
/// let err = tenant_axum::KeyGenerationError::from_message("no entropy");
/// assert!(err.to_string().contains("no entropy"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot generate an API key: {0}")]
pub struct KeyGenerationError(String);

impl KeyGenerationError {
    /// An error that says `message` (for stores and tests that generate
    /// keys another way).
    ///
    /// ```
    /// let err = tenant_axum::KeyGenerationError::from_message("no entropy");
    /// assert_eq!(err.to_string(), "cannot generate an API key: no entropy");
    /// ```
    pub fn from_message(message: impl Into<String>) -> Self {
        KeyGenerationError(message.into())
    }
}

/// A plain-text API key. Shown once when created; only its
/// [`hash`](ApiKey::hash) is stored. `Debug` does not print it.
///
/// ```
/// use tenant_axum::ApiKey;
///
/// let key = ApiKey::generate()?;
/// assert!(key.expose().starts_with("tsk_"));
/// assert_eq!(ApiKey::parse(key.expose()), Some(key.clone()));
/// assert_eq!(format!("{key:?}"), "ApiKey(***)");
/// assert_eq!(key.hash().len(), 64);
/// # Ok::<(), tenant_axum::KeyGenerationError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// A new random key of the [default format](ApiKeyFormat::DEFAULT):
    /// `tsk_` and 64 hex digits.
    ///
    /// ```
    /// let key = tenant_axum::ApiKey::generate()?;
    /// assert_eq!(key.expose().len(), 4 + 64);
    /// # Ok::<(), tenant_axum::KeyGenerationError>(())
    /// ```
    pub fn generate() -> Result<Self, KeyGenerationError> {
        ApiKeyFormat::DEFAULT.generate()
    }

    /// Accepts `s` if it has the shape of a key of the default format.
    ///
    /// ```
    /// assert!(tenant_axum::ApiKey::parse("tsk_nope").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        ApiKeyFormat::DEFAULT.parse(s)
    }

    /// The key, to show to its owner once.
    ///
    /// ```
    /// let key = tenant_axum::ApiKey::generate()?;
    /// println!("your key (shown once): {}", key.expose());
    /// # Ok::<(), tenant_axum::KeyGenerationError>(())
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form: hex SHA-256. A key carries 256 random bits, so a
    /// fast hash is enough (no password-style stretching needed), and lookup
    /// by hash needs no constant-time comparison of the key itself.
    ///
    /// ```
    /// let key = tenant_axum::ApiKey::generate()?;
    /// assert_ne!(key.hash(), key.expose());
    /// assert!(key.hash().bytes().all(|b| b.is_ascii_hexdigit()));
    /// # Ok::<(), tenant_axum::KeyGenerationError>(())
    /// ```
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Where the application keeps its keys' hashes: it finds the tenant whose
/// key has a given [`ApiKey::hash`].
///
/// `Ok(None)` is an unknown or revoked key (401). A failing store answers
/// with a [`TenantRejection`]; `?` on a [`tenant_core::Error`] gives 503
/// when the database is unreachable, else 500.
///
/// ```
/// use std::collections::HashMap;
/// use tenant_axum::{ApiKeyStore, Resolved, TenantRejection};
/// use tenant_core::TenantId;
///
/// /// Keys held in memory: hash -> (tenant, plan).
/// struct InMemoryKeys(HashMap<String, (TenantId, &'static str)>);
///
/// impl ApiKeyStore for InMemoryKeys {
///     type Info = &'static str;
///     async fn find_by_hash(
///         &self,
///         hash: &str,
///     ) -> Result<Option<Resolved<&'static str>>, TenantRejection> {
///         Ok(self.0.get(hash).map(|(id, plan)| Resolved::new(*id, *plan)))
///     }
/// }
/// ```
pub trait ApiKeyStore: Send + Sync + 'static {
    /// What the store knows of the key's tenant (a plan, say; `()` for
    /// nothing).
    type Info: Clone + Send + Sync + 'static;

    /// The tenant whose key hashes to `hash` (lower-case hex SHA-256), if
    /// any.
    fn find_by_hash(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<Resolved<Self::Info>>, TenantRejection>> + Send;
}

/// The credential `Authorization: Bearer <api key>`, looked up by hash in an
/// [`ApiKeyStore`].
///
/// Refuses with 401: no `Authorization` header, more than one, a scheme
/// other than `Bearer`, a token that is not a key of the
/// [format](ApiKeyFormat), a key the store does not know.
///
/// ```
/// use tenant_axum::{ApiKeyFormat, ApiKeyResolver, ApiKeyStore, Resolved, TenantRejection};
///
/// struct NoKeys;
/// impl ApiKeyStore for NoKeys {
///     type Info = ();
///     async fn find_by_hash(&self, _: &str) -> Result<Option<Resolved>, TenantRejection> {
///         Ok(None)
///     }
/// }
///
/// let resolver = ApiKeyResolver::new(NoKeys).format(ApiKeyFormat::new("sk_"));
/// ```
#[derive(Debug, Clone)]
pub struct ApiKeyResolver<S> {
    store: S,
    format: ApiKeyFormat,
}

impl<S: ApiKeyStore> ApiKeyResolver<S> {
    /// Keys of the [default format](ApiKeyFormat::DEFAULT), looked up in
    /// `store`.
    ///
    /// ```
    /// # use tenant_axum::{ApiKeyResolver, ApiKeyStore, Resolved, TenantRejection};
    /// # struct NoKeys;
    /// # impl ApiKeyStore for NoKeys {
    /// #     type Info = ();
    /// #     async fn find_by_hash(&self, _: &str) -> Result<Option<Resolved>, TenantRejection> {
    /// #         Ok(None)
    /// #     }
    /// # }
    /// let resolver = ApiKeyResolver::new(NoKeys);
    /// assert_eq!(resolver.key_format().prefix(), "tsk_");
    /// ```
    pub fn new(store: S) -> Self {
        ApiKeyResolver {
            store,
            format: ApiKeyFormat::DEFAULT,
        }
    }

    /// Accepts keys of `format` instead.
    ///
    /// ```
    /// # use tenant_axum::{ApiKeyFormat, ApiKeyResolver, ApiKeyStore, Resolved, TenantRejection};
    /// # struct NoKeys;
    /// # impl ApiKeyStore for NoKeys {
    /// #     type Info = ();
    /// #     async fn find_by_hash(&self, _: &str) -> Result<Option<Resolved>, TenantRejection> {
    /// #         Ok(None)
    /// #     }
    /// # }
    /// let resolver = ApiKeyResolver::new(NoKeys).format(ApiKeyFormat::new("sk_"));
    /// assert_eq!(resolver.key_format().prefix(), "sk_");
    /// ```
    pub fn format(mut self, format: ApiKeyFormat) -> Self {
        self.format = format;
        self
    }

    /// The accepted key format.
    ///
    /// ```
    /// # use tenant_axum::{ApiKeyResolver, ApiKeyStore, Resolved, TenantRejection};
    /// # struct NoKeys;
    /// # impl ApiKeyStore for NoKeys {
    /// #     type Info = ();
    /// #     async fn find_by_hash(&self, _: &str) -> Result<Option<Resolved>, TenantRejection> {
    /// #         Ok(None)
    /// #     }
    /// # }
    /// assert_eq!(ApiKeyResolver::new(NoKeys).key_format().prefix(), "tsk_");
    /// ```
    pub fn key_format(&self) -> ApiKeyFormat {
        self.format
    }

    /// The store.
    ///
    /// ```
    /// # use tenant_axum::{ApiKeyResolver, ApiKeyStore, Resolved, TenantRejection};
    /// # struct NoKeys;
    /// # impl ApiKeyStore for NoKeys {
    /// #     type Info = ();
    /// #     async fn find_by_hash(&self, _: &str) -> Result<Option<Resolved>, TenantRejection> {
    /// #         Ok(None)
    /// #     }
    /// # }
    /// let store: &NoKeys = ApiKeyResolver::new(NoKeys).store();
    /// ```
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl<S: ApiKeyStore> TenantResolver for ApiKeyResolver<S> {
    type Info = S::Info;

    async fn resolve(&self, parts: &Parts) -> Result<Resolved<S::Info>, TenantRejection> {
        let token = bearer_token(&parts.headers, "api key")?;
        let key = self
            .format
            .parse(token)
            .ok_or(TenantRejection::Unauthorized(
                "malformed credential: expected Authorization: Bearer <api key>".into(),
            ))?;
        self.store
            .find_by_hash(&key.hash())
            .await?
            .ok_or(TenantRejection::Unauthorized(
                "unknown or revoked API key".into(),
            ))
    }
}

/// The token of the one `Authorization: Bearer <token>` header, or 401.
/// `what` names the expected token in the messages (`api key`, `token`).
pub(crate) fn bearer_token<'h>(
    headers: &'h HeaderMap,
    what: &'static str,
) -> Result<&'h str, TenantRejection> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or_else(|| {
        TenantRejection::Unauthorized(
            format!("missing credential: send Authorization: Bearer <{what}>").into(),
        )
    })?;
    if values.next().is_some() {
        return Err(TenantRejection::Unauthorized(
            "more than one Authorization header".into(),
        ));
    }
    let malformed = || {
        TenantRejection::Unauthorized(
            format!("malformed credential: expected Authorization: Bearer <{what}>").into(),
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(malformed());
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let key = ApiKey::generate().expect("os random");
        assert!(key.expose().starts_with("tsk_"));
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
        // Another format's prefix is not accepted.
        assert!(ApiKeyFormat::new("sk_").parse(key.expose()).is_none());
    }

    #[test]
    fn bearer_parsing() {
        let mut headers = HeaderMap::new();
        assert!(bearer_token(&headers, "api key").is_err());
        for (value, ok) in [
            ("Bearer abc", true),
            ("bearer abc", true),
            ("BEARER  abc ", true),
            ("Basic abc", false),
            ("abc", false),
            ("Bearer ", false),
            ("Bearer", false),
            ("", false),
        ] {
            headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
            assert_eq!(bearer_token(&headers, "api key").is_ok(), ok, "{value:?}");
        }
        headers.append(header::AUTHORIZATION, "Bearer abc".parse().expect("header"));
        assert!(bearer_token(&headers, "api key").is_err());
    }
}
