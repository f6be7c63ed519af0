//! The tower layer that resolves the tenant once per request, and the
//! extractors that hand it to handlers.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::http::Request;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use tenant_core::{TenantId, TenantScope};
use tower_layer::Layer;
use tower_service::Service;

use crate::{IntoTenantChain, TenantChain, TenantRateLimiter, TenantRejection, TenantResolver};

/// Records `tenant` in the current span's `tenant` field (a span without
/// that field is left as it is).
pub(crate) fn record_tenant(tenant: &TenantId) {
    tracing::Span::current().record("tenant", tracing::field::display(tenant));
}

/// The tenant of a request, as the [`TenantLayer`] verified it: its
/// [`TenantScope`] and what the credential carried (`I`, such as a plan or
/// a token's claims).
///
/// An axum extractor. Without a `TenantLayer` in front of the route, it
/// answers 500 (and logs why) rather than guess a tenant.
///
/// ```
/// use tenant_axum::Authenticated;
/// use tenant_axum::JwtClaims;
///
/// async fn whoami(tenant: Authenticated<JwtClaims>) -> String {
///     format!("{} as {:?}", tenant.tenant_id(), tenant.info().subject())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated<I = ()> {
    scope: TenantScope,
    info: I,
}

impl<I> Authenticated<I> {
    /// The scope every query of this request uses.
    ///
    /// ```
    /// # use tenant_axum::Authenticated;
    /// fn scope_of(tenant: &Authenticated) -> &tenant_core::TenantScope {
    ///     tenant.scope()
    /// }
    /// ```
    pub fn scope(&self) -> &TenantScope {
        &self.scope
    }

    /// The tenant.
    ///
    /// ```
    /// # use tenant_axum::Authenticated;
    /// fn name(tenant: &Authenticated) -> String {
    ///     tenant.tenant_id().to_string()
    /// }
    /// ```
    pub fn tenant_id(&self) -> &TenantId {
        self.scope.tenant_id()
    }

    /// What the credential carried besides the tenant.
    ///
    /// ```
    /// # use tenant_axum::Authenticated;
    /// fn plan(tenant: &Authenticated<&'static str>) -> &'static str {
    ///     tenant.info()
    /// }
    /// ```
    pub fn info(&self) -> &I {
        &self.info
    }

    /// The scope and the info, taken apart.
    ///
    /// ```
    /// # use tenant_axum::Authenticated;
    /// fn split(tenant: Authenticated<u32>) -> (tenant_core::TenantScope, u32) {
    ///     tenant.into_parts()
    /// }
    /// ```
    pub fn into_parts(self) -> (TenantScope, I) {
        (self.scope, self.info)
    }
}

/// The request's [`TenantScope`], as the [`TenantLayer`] verified it: the
/// extractor for handlers that need nothing else.
///
/// Without a `TenantLayer` in front of the route, it answers 500 (and logs
/// why) rather than guess a tenant.
///
/// ```
/// use tenant_axum::Scope;
///
/// async fn hello(Scope(scope): Scope) -> String {
///     format!("hello {}", scope.tenant_id())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Scope(pub TenantScope);

impl std::ops::Deref for Scope {
    type Target = TenantScope;

    fn deref(&self) -> &TenantScope {
        &self.0
    }
}

/// The layer was not installed: a bug of the application, not of the
/// request. 500, never a guessed tenant.
fn not_resolved<T>() -> TenantRejection {
    tracing::error!(
        extractor = std::any::type_name::<T>(),
        "no tenant in the request: add a TenantLayer in front of this route (with the same Info type)"
    );
    TenantRejection::Internal
}

impl<S: Send + Sync> FromRequestParts<S> for Scope {
    type Rejection = TenantRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<TenantScope>()
            .cloned()
            .map(Scope)
            .ok_or_else(not_resolved::<Self>)
    }
}

impl<S, I> FromRequestParts<S> for Authenticated<I>
where
    S: Send + Sync,
    I: Clone + Send + Sync + 'static,
{
    type Rejection = TenantRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authenticated<I>>()
            .cloned()
            .ok_or_else(not_resolved::<Self>)
    }
}

/// A tower layer that resolves the tenant of every request once, before
/// the handler: it runs the [`TenantChain`]'s credential, records the
/// tenant in the current span's `tenant` field (once), checks the chain's
/// hints, applies the
/// [rate limit](TenantLayer::rate_limit), then stores the request's
/// [`Authenticated`] and [`TenantScope`] in its extensions for the
/// [`Authenticated`] and [`Scope`] extractors. A refused request is answered
/// with the [`TenantRejection`] and never reaches the handler.
///
/// Add it with `Router::route_layer`, so that unmatched paths still answer
/// 404 and routes outside it (`/health`) need no credential. The span it
/// records into is the one a tracing layer in front of it opened, declared
/// with `tenant = tracing::field::Empty`.
///
/// ```
/// use axum::{Router, routing::get};
/// use tenant_axum::{HeaderHint, JwtResolver, Scope, TenantChain, TenantLayer};
///
/// async fn hello(Scope(scope): Scope) -> String {
///     format!("hello {}", scope.tenant_id())
/// }
///
/// let chain = TenantChain::new(JwtResolver::hs256(b"a secret of 32 bytes or more....."))
///     .hint(HeaderHint::x_tenant_id());
/// let app: Router = Router::new()
///     .route("/api/hello", get(hello))
///     .route_layer(TenantLayer::new(chain))
///     .route("/health", get(|| async { "ok" }));
/// ```
pub struct TenantLayer<R> {
    chain: Arc<TenantChain<R>>,
    /// A `TenantRateLimiter<R::Info>`, type-erased so that the struct needs
    /// no bound on `R` (a layer built from a hint is then one compiler
    /// error, not two).
    limiter: Option<Arc<dyn Any + Send + Sync>>,
}

impl<R> Clone for TenantLayer<R> {
    fn clone(&self) -> Self {
        TenantLayer {
            chain: Arc::clone(&self.chain),
            limiter: self.limiter.clone(),
        }
    }
}

impl<R> std::fmt::Debug for TenantLayer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantLayer")
            .field("chain", &self.chain)
            .field("rate_limited", &self.limiter.is_some())
            .finish()
    }
}

impl<R> TenantLayer<R> {
    /// A layer that resolves the tenant with `chain`: a [`TenantChain`],
    /// or a credential alone.
    ///
    /// ```
    /// use tenant_axum::{HeaderHint, JwtResolver, TenantChain, TenantLayer};
    ///
    /// let alone = TenantLayer::new(JwtResolver::hs256(b"a secret of 32 bytes or more....."));
    /// let chained = TenantLayer::new(
    ///     TenantChain::new(JwtResolver::hs256(b"a secret of 32 bytes or more....."))
    ///         .hint(HeaderHint::x_tenant_id()),
    /// );
    /// ```
    ///
    /// A hint alone is no credential:
    ///
    /// ```compile_fail,E0277
    /// let layer = tenant_axum::TenantLayer::new(tenant_axum::HeaderHint::x_tenant_id());
    /// ```
    pub fn new<C: IntoTenantChain<Credential = R>>(chain: C) -> Self {
        TenantLayer {
            chain: Arc::new(chain.into_chain()),
            limiter: None,
        }
    }
}

impl<R: TenantResolver> TenantLayer<R> {
    /// Applies `limiter` to every resolved request (429 with `Retry-After`
    /// once a tenant's quota is used up). Pass an `Arc` to share one limiter
    /// between layers or keep it across rebuilt routers.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use tenant_axum::{JwtResolver, TenantLayer, TenantRateLimiter};
    /// use tenant_axum::governor::Quota;
    ///
    /// let layer = TenantLayer::new(JwtResolver::hs256(b"a secret of 32 bytes or more....."))
    ///     .rate_limit(TenantRateLimiter::uniform(Quota::per_second(NonZeroU32::new(10).unwrap())));
    /// ```
    pub fn rate_limit(mut self, limiter: impl Into<Arc<TenantRateLimiter<R::Info>>>) -> Self {
        let limiter: Arc<TenantRateLimiter<R::Info>> = limiter.into();
        self.limiter = Some(limiter);
        self
    }
}

impl<S, R: TenantResolver> Layer<S> for TenantLayer<R> {
    type Service = TenantService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        TenantService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`TenantLayer`] wraps around the routes.
pub struct TenantService<S, R: TenantResolver> {
    inner: S,
    layer: TenantLayer<R>,
}

impl<S: Clone, R: TenantResolver> Clone for TenantService<S, R> {
    fn clone(&self) -> Self {
        TenantService {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S, R: TenantResolver> std::fmt::Debug for TenantService<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantService").finish_non_exhaustive()
    }
}

impl<S, R, B> Service<Request<B>> for TenantService<S, R>
where
    S: Service<Request<B>, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    R: TenantResolver,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match authenticate(&layer, &parts).await {
                Ok(tenant) => {
                    parts.extensions.insert(tenant.scope.clone());
                    parts.extensions.insert(tenant);
                    let response = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(response.into_response())
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}

/// Resolves the tenant, records it, applies the rate limit and mints the
/// scope.
async fn authenticate<R: TenantResolver>(
    layer: &TenantLayer<R>,
    parts: &Parts,
) -> Result<Authenticated<R::Info>, TenantRejection> {
    // The credential selects the tenant (recorded in the span), the hints
    // may only refuse.
    let resolved = layer.chain.resolve(parts).await?;
    if let Some(limiter) = &layer.limiter {
        // `rate_limit` stored a limiter of exactly this type.
        let limiter = limiter
            .downcast_ref::<TenantRateLimiter<R::Info>>()
            .ok_or(TenantRejection::Internal)?;
        limiter.check(&resolved)?;
    }
    let (tenant_id, info) = resolved.into_parts();
    // TRUST BOUNDARY. The one `TenantScope::new` of tenant-axum: the tenant
    // comes from a verified credential (the resolver), every hint agreed,
    // and the rate limit passed. Review any second call site.
    let scope = TenantScope::new(tenant_id);
    Ok(Authenticated { scope, info })
}
