//! JSON Web Tokens: the tenant is a claim of a verified token.

use std::borrow::Cow;

use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tenant_core::TenantId;

use crate::api_key::bearer_token;
use crate::{Resolved, TenantRejection, TenantResolver};

/// The verified claims of a token, all of them (`sub`, `exp`, the tenant
/// claim, your own).
///
/// ```
/// use serde_json::json;
/// use tenant_axum::JwtClaims;
///
/// let claims = JwtClaims::from_map(json!({"sub": "ann", "role": "admin"}).as_object().unwrap().clone());
/// assert_eq!(claims.get("role").and_then(|v| v.as_str()), Some("admin"));
/// assert_eq!(claims.subject(), Some("ann"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JwtClaims(Map<String, Value>);

impl JwtClaims {
    /// Claims from a JSON object (for tests of handlers that take them).
    ///
    /// ```
    /// let claims = tenant_axum::JwtClaims::from_map(serde_json::Map::new());
    /// assert!(claims.get("sub").is_none());
    /// ```
    pub fn from_map(claims: Map<String, Value>) -> Self {
        JwtClaims(claims)
    }

    /// The claim `name`.
    ///
    /// ```
    /// # use serde_json::json;
    /// let claims = tenant_axum::JwtClaims::from_map(json!({"n": 1}).as_object().unwrap().clone());
    /// assert_eq!(claims.get("n"), Some(&json!(1)));
    /// ```
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// The `sub` claim, when it is a string.
    ///
    /// ```
    /// # use serde_json::json;
    /// let claims = tenant_axum::JwtClaims::from_map(json!({"sub": "ann"}).as_object().unwrap().clone());
    /// assert_eq!(claims.subject(), Some("ann"));
    /// ```
    pub fn subject(&self) -> Option<&str> {
        self.0.get("sub").and_then(Value::as_str)
    }

    /// Every claim.
    ///
    /// ```
    /// let claims = tenant_axum::JwtClaims::default();
    /// assert!(claims.as_map().is_empty());
    /// ```
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

/// The credential `Authorization: Bearer <jwt>`: a JSON Web Token whose
/// signature is verified with one key and one pinned algorithm, whose `exp`
/// is required and checked, and whose tenant claim (`tenant_id` unless
/// [changed](JwtResolver::tenant_claim)) is a valid [`TenantId`].
///
/// Refuses with 401: no token, a malformed one, a wrong signature, another
/// algorithm than the pinned one (`alg: none` included), an expired token
/// or one without `exp`, a wrong issuer or audience when they are
/// configured, a tenant claim that is missing or not a tenant id. The
/// verified claims are the [`Resolved::info`].
///
/// Built on the `jsonwebtoken` crate (re-exported as
/// [`tenant_axum::jsonwebtoken`](crate::jsonwebtoken)) with its RustCrypto
/// backend.
///
/// ```
/// use tenant_axum::JwtResolver;
/// use tenant_axum::jsonwebtoken::{Algorithm, DecodingKey};
///
/// // HMAC with a shared secret:
/// let hs = JwtResolver::hs256(b"a secret of 32 bytes or more.....")
///     .issuer(["https://auth.example.com"])
///     .audience(["invoices-api"]);
///
/// // An identity provider's RSA public key (its JWKS `n` and `e`):
/// # let (n, e) = ("AQAB", "AQAB");
/// let rs = JwtResolver::new(DecodingKey::from_rsa_components(n, e)?, Algorithm::RS256)
///     .tenant_claim("org");
/// # Ok::<(), tenant_axum::jsonwebtoken::errors::Error>(())
/// ```
#[derive(Clone)]
pub struct JwtResolver {
    key: DecodingKey,
    validation: Validation,
    claim: Cow<'static, str>,
}

impl std::fmt::Debug for JwtResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtResolver")
            .field("algorithms", &self.validation.algorithms)
            .field("iss", &self.validation.iss)
            .field("aud", &self.validation.aud)
            .field("leeway", &self.validation.leeway)
            .field("claim", &self.claim)
            .finish_non_exhaustive()
    }
}

impl JwtResolver {
    /// Tokens signed with `algorithm` (and no other) under `key`; `exp`
    /// required, no clock leeway, any issuer, and no `aud` claim (a token
    /// meant for an audience is refused until [`audience`](Self::audience)
    /// names it).
    ///
    /// ```
    /// use tenant_axum::JwtResolver;
    /// use tenant_axum::jsonwebtoken::{Algorithm, DecodingKey};
    ///
    /// let resolver = JwtResolver::new(
    ///     DecodingKey::from_secret(b"a secret of 32 bytes or more....."),
    ///     Algorithm::HS384,
    /// );
    /// ```
    pub fn new(key: DecodingKey, algorithm: Algorithm) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_exp = true;
        validation.leeway = 0;
        // RFC 7519 4.1.3: a token that names an audience is refused unless
        // this server is configured as one of them (`audience`).
        validation.validate_aud = true;
        JwtResolver {
            key,
            validation,
            claim: Cow::Borrowed("tenant_id"),
        }
    }

    /// Tokens signed with HMAC-SHA256 under the shared `secret` (use 32
    /// random bytes or more).
    ///
    /// ```
    /// let resolver = tenant_axum::JwtResolver::hs256(b"a secret of 32 bytes or more.....");
    /// ```
    pub fn hs256(secret: &[u8]) -> Self {
        JwtResolver::new(DecodingKey::from_secret(secret), Algorithm::HS256)
    }

    /// Requires an `iss` claim equal to one of `issuers`.
    ///
    /// ```
    /// let resolver = tenant_axum::JwtResolver::hs256(b"a secret of 32 bytes or more.....")
    ///     .issuer(["https://auth.example.com"]);
    /// ```
    pub fn issuer<T: ToString>(mut self, issuers: impl IntoIterator<Item = T>) -> Self {
        let issuers: Vec<String> = issuers.into_iter().map(|i| i.to_string()).collect();
        self.validation.set_issuer(&issuers);
        self.validation
            .required_spec_claims
            .insert("iss".to_owned());
        self
    }

    /// Requires an `aud` claim naming one of `audiences`.
    ///
    /// ```
    /// let resolver = tenant_axum::JwtResolver::hs256(b"a secret of 32 bytes or more.....")
    ///     .audience(["invoices-api"]);
    /// ```
    pub fn audience<T: ToString>(mut self, audiences: impl IntoIterator<Item = T>) -> Self {
        let audiences: Vec<String> = audiences.into_iter().map(|a| a.to_string()).collect();
        self.validation.set_audience(&audiences);
        self.validation
            .required_spec_claims
            .insert("aud".to_owned());
        self
    }

    /// Reads the tenant from claim `name` instead of `tenant_id`.
    ///
    /// ```
    /// let resolver = tenant_axum::JwtResolver::hs256(b"a secret of 32 bytes or more.....")
    ///     .tenant_claim("org_id");
    /// ```
    pub fn tenant_claim(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.claim = name.into();
        self
    }

    /// Accepts tokens up to `seconds` past their `exp` (clock skew between
    /// the issuer and this server). Default 0.
    ///
    /// ```
    /// let resolver = tenant_axum::JwtResolver::hs256(b"a secret of 32 bytes or more.....")
    ///     .leeway(30);
    /// ```
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.validation.leeway = seconds;
        self
    }

    /// Verifies `token` and names its tenant.
    ///
    /// ```
    /// let resolver = tenant_axum::JwtResolver::hs256(b"a secret of 32 bytes or more.....");
    /// assert!(resolver.verify("not.a.token").is_err());
    /// ```
    pub fn verify(&self, token: &str) -> Result<Resolved<JwtClaims>, TenantRejection> {
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &self.validation)
            .map_err(|err| {
            let message = match err.kind() {
                ErrorKind::ExpiredSignature => "expired token",
                ErrorKind::InvalidSignature => "invalid token: wrong signature",
                ErrorKind::InvalidAlgorithm => {
                    "invalid token: signed with an algorithm this server does not accept"
                }
                ErrorKind::MissingRequiredClaim(_) => {
                    "invalid token: a required claim (exp, iss or aud) is missing"
                }
                ErrorKind::InvalidIssuer => "invalid token: wrong issuer",
                ErrorKind::InvalidAudience => "invalid token: wrong audience",
                _ => "malformed credential: expected Authorization: Bearer <token>",
            };
            TenantRejection::Unauthorized(message.into())
        })?;
        let claims = data.claims;
        let tenant = claims
            .get(self.claim.as_ref())
            .and_then(Value::as_str)
            .and_then(|id| TenantId::parse(id).ok())
            .ok_or(TenantRejection::Unauthorized(
                "invalid token: its tenant claim is missing or not a tenant id".into(),
            ))?;
        Ok(Resolved::new(tenant, JwtClaims(claims)))
    }
}

impl TenantResolver for JwtResolver {
    type Info = JwtClaims;

    async fn resolve(&self, parts: &Parts) -> Result<Resolved<JwtClaims>, TenantRejection> {
        let token = bearer_token(&parts.headers, "token")?;
        self.verify(token)
    }
}
