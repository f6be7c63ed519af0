//! Background jobs that carry their tenant.
//!
//! - [`TenantJob<J>`]: a job and its tenant, made only by
//!   [`TenantJob::new(&scope, job)`](TenantJob::new), so enqueuing needs the
//!   tenant's [`TenantScope`](tenant_core::TenantScope).
//! - [`JobQueue<J>`]: a queue on Redis (the reliable-queue pattern:
//!   `BLMOVE` to an in-flight list, `LREM` to acknowledge, a dead-letter list).
//! - [`Worker<J>`]: takes one job at a time, re-creates the scope from the
//!   job's payload, and runs `async fn(TenantScope, J) -> Result<(), E>` in a
//!   `tenant_job` span with the tenant. A payload whose tenant id does not
//!   validate is dead-lettered and never runs.
//! - [`spawn`]: `tokio::spawn` that hands the task the scope and runs it in a
//!   `tenant_task` span with the tenant.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tenant_core::{TenantId, TenantScope};
//! use tenant_jobs::{JobQueue, TenantJob, Worker};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Reminder { days_overdue: u32 }
//!
//! let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
//! # let name = format!("doc-crate-{}", uuid::Uuid::new_v4());
//! let queue = JobQueue::<Reminder>::connect(&url, &name).await?;
//!
//! // Enqueue where a scope exists (a request handler, another job).
//! let scope = TenantScope::new(TenantId::parse("acme")?);
//! queue.enqueue(TenantJob::new(&scope, Reminder { days_overdue: 30 })).await?;
//!
//! // The worker: each job runs with its own tenant's scope.
//! let worker = Worker::new(queue.clone());
//! let report = worker
//!     .drain(|scope: TenantScope, job: Reminder| async move {
//!         assert_eq!(scope.tenant_id().as_str(), "acme");
//!         assert_eq!(job.days_overdue, 30);
//!         Ok::<_, String>(())
//!     })
//!     .await?;
//! assert_eq!(report.done, 1);
//! # queue.purge().await?;
//! # Ok(()) }
//! ```

mod error;
mod job;
mod queue;
mod spawn;
mod worker;

pub use error::JobError;
pub use job::{IntoTenantJob, TenantJob};
pub use queue::{DeadLetter, Enqueue, JobQueue};
pub use spawn::spawn;
pub use worker::{DrainReport, Outcome, Worker};
