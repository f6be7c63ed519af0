//! The two kinds of strategy: a credential that selects the tenant
//! ([`TenantResolver`]) and hints that can only refuse ([`TenantHint`]), and
//! the [`TenantChain`] that runs one credential, then every hint.

use std::future::Future;
use std::sync::Arc;

use axum::http::request::Parts;
use tenant_core::TenantId;

use crate::TenantRejection;

/// The tenant a verified credential names, with what the application
/// attached to it (a plan, the token's claims; `()` when nothing).
///
/// A `Resolved` is not a scope: the [`TenantLayer`](crate::TenantLayer)
/// turns it into one after the hints and the rate limit have passed.
///
/// ```
/// use tenant_axum::Resolved;
/// use tenant_core::TenantId;
///
/// let resolved = Resolved::new(TenantId::parse("acme")?, "pro");
/// assert_eq!(resolved.tenant_id().as_str(), "acme");
/// assert_eq!(*resolved.info(), "pro");
/// # Ok::<(), tenant_core::InvalidTenantId>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<I = ()> {
    tenant_id: TenantId,
    info: I,
}

impl<I> Resolved<I> {
    /// The tenant `tenant_id`, with `info`.
    ///
    /// ```
    /// # use tenant_axum::Resolved;
    /// # use tenant_core::TenantId;
    /// let resolved = Resolved::new(TenantId::parse("acme").unwrap(), ());
    /// assert_eq!(resolved.tenant_id().as_str(), "acme");
    /// ```
    pub fn new(tenant_id: TenantId, info: I) -> Self {
        Resolved { tenant_id, info }
    }

    /// The tenant.
    ///
    /// ```
    /// # use tenant_axum::Resolved;
    /// # use tenant_core::TenantId;
    /// let resolved = Resolved::new(TenantId::parse("acme").unwrap(), ());
    /// assert_eq!(resolved.tenant_id().to_string(), "acme");
    /// ```
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// What the credential carried besides the tenant.
    ///
    /// ```
    /// # use tenant_axum::Resolved;
    /// # use tenant_core::TenantId;
    /// let resolved = Resolved::new(TenantId::parse("acme").unwrap(), 3_u32);
    /// assert_eq!(*resolved.info(), 3);
    /// ```
    pub fn info(&self) -> &I {
        &self.info
    }

    /// The tenant and the info, taken apart.
    ///
    /// ```
    /// # use tenant_axum::Resolved;
    /// # use tenant_core::TenantId;
    /// let (id, info) = Resolved::new(TenantId::parse("acme").unwrap(), 3_u32).into_parts();
    /// assert_eq!((id.as_str(), info), ("acme", 3));
    /// ```
    pub fn into_parts(self) -> (TenantId, I) {
        (self.tenant_id, self.info)
    }
}

/// A strategy that selects the tenant of a request from a credential it
/// verifies: [`ApiKeyResolver`](crate::ApiKeyResolver),
/// [`JwtResolver`](crate::JwtResolver), or your own; a [`TenantChain`] holds
/// exactly one.
///
/// Implementing it is a trust decision: whatever `resolve` returns becomes
/// the request's [`TenantScope`](tenant_core::TenantScope). Hints (a header,
/// a subdomain, a path segment) are not credentials and do not implement
/// this trait; they implement [`TenantHint`], which can only refuse.
///
/// ```
/// use axum::http::request::Parts;
/// use tenant_axum::{Resolved, TenantRejection, TenantResolver};
/// use tenant_core::TenantId;
///
/// /// Trusts a mutual-TLS proxy that puts the verified client's tenant in
/// /// an extension (for illustration).
/// struct ClientCertificate;
///
/// #[derive(Clone)]
/// struct VerifiedClient(TenantId);
///
/// impl TenantResolver for ClientCertificate {
///     type Info = ();
///     async fn resolve(&self, parts: &Parts) -> Result<Resolved, TenantRejection> {
///         let client = parts.extensions.get::<VerifiedClient>().ok_or(
///             TenantRejection::Unauthorized("no client certificate".into()),
///         )?;
///         Ok(Resolved::new(client.0, ()))
///     }
/// }
/// ```
///
/// A hint cannot start a chain, as it cannot select a tenant:
///
/// ```compile_fail,E0277
/// use tenant_axum::{HeaderHint, TenantChain};
///
/// let chain = TenantChain::new(HeaderHint::x_tenant_id());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a credential: it cannot select the tenant",
    label = "this does not verify a credential",
    note = "start with a credential (`ApiKeyResolver`, `JwtResolver`, or a `TenantResolver` of your own) and add header, subdomain and path hints with `.hint(...)`: `TenantChain::new(credential).hint(HeaderHint::x_tenant_id())`"
)]
pub trait TenantResolver: Send + Sync + 'static {
    /// What the credential carries besides the tenant (`()` for nothing).
    type Info: Clone + Send + Sync + 'static;

    /// Verifies the request's credential and names its tenant, or refuses
    /// with a [`TenantRejection`] (401 for a missing, malformed, unknown or
    /// expired credential). Never a default tenant.
    fn resolve(
        &self,
        parts: &Parts,
    ) -> impl Future<Output = Result<Resolved<Self::Info>, TenantRejection>> + Send;
}

impl<R: TenantResolver> TenantResolver for Arc<R> {
    type Info = R::Info;

    fn resolve(
        &self,
        parts: &Parts,
    ) -> impl Future<Output = Result<Resolved<Self::Info>, TenantRejection>> + Send {
        R::resolve(self, parts)
    }
}

/// A tenant hint: a part of the request that names a tenant without
/// proving anything (a header, a subdomain, a path segment).
///
/// A hint never selects a tenant. Given the tenant the credential selected,
/// it passes (`Ok`) when it names no tenant or names that one, and refuses
/// with [`TenantRejection::TenantMismatch`] (403) when it names another.
///
/// ```
/// use axum::http::{Request, request::Parts};
/// use tenant_axum::{TenantHint, TenantRejection};
/// use tenant_core::TenantId;
///
/// /// `?tenant=` in the query string, for illustration.
/// struct QueryHint;
///
/// impl TenantHint for QueryHint {
///     fn check(&self, parts: &Parts, tenant: &TenantId) -> Result<(), TenantRejection> {
///         let hint = parts.uri.query().and_then(|q| q.strip_prefix("tenant="));
///         match hint {
///             Some(hint) if !hint.eq_ignore_ascii_case(tenant.as_str()) => {
///                 Err(TenantRejection::TenantMismatch("tenant query parameter".into()))
///             }
///             _ => Ok(()),
///         }
///     }
/// }
///
/// let (parts, ()) = Request::get("/x?tenant=globex").body(()).unwrap().into_parts();
/// let acme = TenantId::parse("acme").unwrap();
/// assert!(QueryHint.check(&parts, &acme).is_err());
/// ```
pub trait TenantHint: Send + Sync + 'static {
    /// `Ok` when the request names no tenant here or names `tenant`; a
    /// [`TenantRejection::TenantMismatch`] otherwise.
    fn check(&self, parts: &Parts, tenant: &TenantId) -> Result<(), TenantRejection>;
}

/// Whether a hint names `tenant`: ignoring ASCII case and surrounding
/// white space, since host names are case-insensitive and tenant ids are
/// lower case. Anything else, including an empty hint or one that is no
/// tenant id at all, is a mismatch.
///
/// ```
/// use tenant_core::TenantId;
///
/// let acme = TenantId::parse("acme").unwrap();
/// assert!(tenant_axum::hint_names("ACME", &acme));
/// assert!(!tenant_axum::hint_names("globex", &acme));
/// assert!(!tenant_axum::hint_names("", &acme));
/// ```
pub fn hint_names(hint: &str, tenant: &TenantId) -> bool {
    hint.trim().eq_ignore_ascii_case(tenant.as_str())
}

/// Exactly one credential, then any number of hints.
///
/// The credential (a [`TenantResolver`]) selects the tenant; each hint can
/// then only refuse (403) a request that names another tenant. A chain
/// cannot be built from hints alone: [`TenantChain::new`] takes a
/// credential, and hints are not credentials. A chain is not itself a
/// credential, so it holds exactly one. Give it to
/// [`TenantLayer::new`](crate::TenantLayer::new) (a credential alone
/// converts into a chain without hints).
///
/// ```
/// use tenant_axum::{HeaderHint, JwtResolver, SubdomainHint, TenantChain};
///
/// let chain = TenantChain::new(JwtResolver::hs256(b"a secret of 32 bytes or more....."))
///     .hint(HeaderHint::x_tenant_id())
///     .hint(SubdomainHint::new(["example.com"]));
/// ```
pub struct TenantChain<R> {
    credential: R,
    hints: Vec<Box<dyn TenantHint>>,
}

impl<R: TenantResolver> TenantChain<R> {
    /// A chain whose tenant comes from `credential`.
    ///
    /// ```
    /// use tenant_axum::{JwtResolver, TenantChain};
    ///
    /// let chain = TenantChain::new(JwtResolver::hs256(b"a secret of 32 bytes or more....."));
    /// ```
    pub fn new(credential: R) -> Self {
        TenantChain {
            credential,
            hints: Vec::new(),
        }
    }

    /// Adds a hint, checked after the credential, in the order added.
    ///
    /// ```
    /// use tenant_axum::{HeaderHint, JwtResolver, PathPrefixHint, TenantChain};
    ///
    /// let chain = TenantChain::new(JwtResolver::hs256(b"a secret of 32 bytes or more....."))
    ///     .hint(HeaderHint::x_tenant_id())
    ///     .hint(PathPrefixHint::new("/t"));
    /// ```
    pub fn hint(mut self, hint: impl TenantHint) -> Self {
        self.hints.push(Box::new(hint));
        self
    }
}

impl<R> std::fmt::Debug for TenantChain<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantChain")
            .field("credential", &std::any::type_name::<R>())
            .field("hints", &self.hints.len())
            .finish()
    }
}

/// What [`TenantLayer::new`](crate::TenantLayer::new) takes: a
/// [`TenantChain`], or a credential alone (a chain without hints).
///
/// ```
/// use tenant_axum::{IntoTenantChain, JwtResolver, TenantChain};
///
/// let chain: TenantChain<JwtResolver> =
///     JwtResolver::hs256(b"a secret of 32 bytes or more.....").into_chain();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a credential: it cannot select the tenant",
    label = "this does not verify a credential",
    note = "give the layer a credential (`ApiKeyResolver`, `JwtResolver`, or a `TenantResolver` of your own), or a chain that starts with one: `TenantLayer::new(TenantChain::new(credential).hint(HeaderHint::x_tenant_id()))`"
)]
pub trait IntoTenantChain {
    /// The chain's credential.
    type Credential: TenantResolver;

    /// The chain.
    fn into_chain(self) -> TenantChain<Self::Credential>;
}

impl<R: TenantResolver> IntoTenantChain for R {
    type Credential = R;

    fn into_chain(self) -> TenantChain<R> {
        TenantChain::new(self)
    }
}

impl<R: TenantResolver> IntoTenantChain for TenantChain<R> {
    type Credential = R;

    fn into_chain(self) -> TenantChain<R> {
        self
    }
}

impl<R: TenantResolver> TenantChain<R> {
    /// Runs the credential, records its tenant in the current span, then
    /// checks every hint.
    pub(crate) async fn resolve(
        &self,
        parts: &Parts,
    ) -> Result<Resolved<R::Info>, TenantRejection> {
        let resolved = self.credential.resolve(parts).await?;
        // Recorded before the hints, so a refused request's log line names
        // the tenant whose credential it carried.
        crate::layer::record_tenant(resolved.tenant_id());
        for hint in &self.hints {
            hint.check(parts, resolved.tenant_id())?;
        }
        Ok(resolved)
    }
}
