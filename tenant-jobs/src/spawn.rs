//! A tokio task that carries its tenant.

use std::future::Future;

use tenant_core::TenantScope;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// Spawns a tokio task for the tenant of `scope`: `task` receives its own
/// copy of the scope, and the task runs inside a `tenant_task` span whose
/// `tenant` field is the tenant id, so everything it logs says which tenant
/// it worked for.
///
/// Use it instead of `tokio::spawn` when work started in a request (or a
/// job) goes on in the background: the scope goes along, never a tenant id
/// to make a new scope from.
///
/// ```
/// use tenant_core::{TenantId, TenantScope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = TenantScope::new(TenantId::parse("acme").unwrap());
/// let handle = tenant_jobs::spawn(&scope, |scope| async move {
///     tracing::info!("warming the cache"); // logged with tenant=acme
///     scope.tenant_id().to_string()
/// });
/// assert_eq!(handle.await.unwrap(), "acme");
/// # }
/// ```
pub fn spawn<F, Fut>(scope: &TenantScope, task: F) -> JoinHandle<Fut::Output>
where
    F: FnOnce(TenantScope) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let span = tracing::info_span!("tenant_task", tenant = %scope.tenant_id());
    // The closure runs inside the span too, for what it does before its
    // first await.
    let future = span.in_scope(|| task(scope.clone()));
    tokio::spawn(future.instrument(span))
}
