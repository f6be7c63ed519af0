//! The job payload that carries its tenant.

use serde::Serialize;
use tenant_core::{TenantId, TenantScope};

/// A job together with the tenant it runs for.
///
/// The only constructor is [`TenantJob::new`], which takes the
/// [`TenantScope`] of the code that enqueues the job: a job cannot be built
/// (and so cannot be enqueued) without a tenant. The tenant is stored as a
/// [`TenantId`]; the [`Worker`](crate::Worker) validates it again when it
/// decodes the payload and re-creates the scope from it.
///
/// It serialises as `{"tenant": "<id>", "job": <J>}`. There is deliberately
/// no public `Deserialize`: a `TenantJob` read from untrusted JSON would be a
/// way to enqueue work for a tenant without holding its scope. Only the
/// worker decodes payloads.
///
/// ```
/// use tenant_core::{TenantId, TenantScope};
/// use tenant_jobs::TenantJob;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct SendReminder { invoice_id: i64 }
///
/// let scope = TenantScope::new(TenantId::parse("acme")?); // e.g. the request's scope
/// let job = TenantJob::new(&scope, SendReminder { invoice_id: 7 });
/// assert_eq!(job.tenant_id().as_str(), "acme");
/// assert_eq!(
///     serde_json::to_string(&job)?,
///     r#"{"tenant":"acme","job":{"invoice_id":7}}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantJob<J> {
    tenant: TenantId,
    job: J,
}

impl<J> TenantJob<J> {
    /// Wraps `job` with the tenant of `scope`.
    ///
    /// ```
    /// use tenant_core::{TenantId, TenantScope};
    /// use tenant_jobs::TenantJob;
    ///
    /// let scope = TenantScope::new(TenantId::parse("globex").unwrap());
    /// let job = TenantJob::new(&scope, "rebuild-search-index".to_owned());
    /// assert_eq!(job.tenant_id(), scope.tenant_id());
    /// ```
    pub fn new(scope: &TenantScope, job: J) -> Self {
        TenantJob {
            tenant: *scope.tenant_id(),
            job,
        }
    }

    /// The tenant the job runs for.
    ///
    /// ```
    /// # use tenant_core::{TenantId, TenantScope};
    /// # use tenant_jobs::TenantJob;
    /// let scope = TenantScope::new(TenantId::parse("acme").unwrap());
    /// assert_eq!(TenantJob::new(&scope, 1_u32).tenant_id().as_str(), "acme");
    /// ```
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant
    }

    /// The job itself.
    ///
    /// ```
    /// # use tenant_core::{TenantId, TenantScope};
    /// # use tenant_jobs::TenantJob;
    /// let scope = TenantScope::new(TenantId::parse("acme").unwrap());
    /// assert_eq!(*TenantJob::new(&scope, 42_u32).job(), 42);
    /// ```
    pub fn job(&self) -> &J {
        &self.job
    }
}

mod sealed {
    pub trait Sealed {}
}

impl<J> sealed::Sealed for TenantJob<J> {}
impl<J> sealed::Sealed for &TenantJob<J> {}

/// What [`JobQueue::enqueue`](crate::JobQueue::enqueue) accepts: a
/// [`TenantJob`] (or a reference to one), never a bare job. Sealed.
///
/// ```
/// use tenant_core::{TenantId, TenantScope};
/// use tenant_jobs::{IntoTenantJob, TenantJob};
///
/// fn tenant_of<T: IntoTenantJob<u32>>(job: T) -> String {
///     job.tenant_job().tenant_id().to_string()
/// }
/// let scope = TenantScope::new(TenantId::parse("acme").unwrap());
/// assert_eq!(tenant_of(TenantJob::new(&scope, 1)), "acme");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is a job without a tenant: only a `TenantJob<{J}>` can be enqueued",
    label = "wrap it with the scope it runs for: `TenantJob::new(&scope, job)`",
    note = "the worker re-creates the tenant's scope from the payload; a job cannot be enqueued without a `TenantScope`"
)]
pub trait IntoTenantJob<J>: sealed::Sealed {
    /// The tenant job.
    ///
    /// ```
    /// # use tenant_core::{TenantId, TenantScope};
    /// use tenant_jobs::{IntoTenantJob, TenantJob};
    /// let scope = TenantScope::new(TenantId::parse("acme").unwrap());
    /// let job = TenantJob::new(&scope, 5_u8);
    /// assert_eq!(*(&job).tenant_job().job(), 5);
    /// ```
    fn tenant_job(&self) -> &TenantJob<J>;
}

impl<J> IntoTenantJob<J> for TenantJob<J> {
    fn tenant_job(&self) -> &TenantJob<J> {
        self
    }
}

impl<J> IntoTenantJob<J> for &TenantJob<J> {
    fn tenant_job(&self) -> &TenantJob<J> {
        self
    }
}
