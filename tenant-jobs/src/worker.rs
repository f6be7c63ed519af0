//! The worker: takes a job, re-creates its tenant's scope, runs the handler.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use tenant_core::{TenantId, TenantScope};
use tracing::Instrument;

use crate::error::JobError;
use crate::queue::{DeadLetter, Envelope, JobQueue, valid_name};

/// What became of one job.
///
/// ```
/// use tenant_jobs::Outcome;
/// let outcome = Outcome::Done { job_id: "1".into(), tenant: tenant_core::TenantId::parse("acme").unwrap() };
/// assert!(outcome.is_done());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The handler succeeded; the job is acknowledged (gone).
    Done {
        /// The job's id.
        job_id: String,
        /// The tenant it ran for.
        tenant: TenantId,
    },
    /// The handler failed (or panicked); the job is back in the queue with
    /// one more attempt counted.
    Retried {
        /// The job's id.
        job_id: String,
        /// The tenant it ran for.
        tenant: TenantId,
        /// How many times it has run.
        attempts: u32,
        /// The handler's error.
        error: String,
    },
    /// The job is in the dead-letter list: its payload did not decode (bad
    /// or missing tenant id, malformed JSON; no handler ran), or its handler
    /// failed on the last allowed attempt.
    DeadLettered(DeadLetter),
}

impl Outcome {
    /// Whether the job succeeded.
    ///
    /// ```
    /// # use tenant_jobs::Outcome;
    /// # let outcome = Outcome::Done { job_id: "1".into(), tenant: tenant_core::TenantId::parse("acme").unwrap() };
    /// assert!(outcome.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done { .. })
    }
}

/// Counts of what [`Worker::drain`] did.
///
/// ```
/// let report = tenant_jobs::DrainReport::default();
/// assert_eq!(report.done + report.retried + report.dead_lettered, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainReport {
    /// Jobs that succeeded.
    pub done: usize,
    /// Failed runs put back in the queue.
    pub retried: usize,
    /// Jobs moved to the dead-letter list.
    pub dead_lettered: usize,
}

/// Takes jobs from a [`JobQueue`] one at a time and runs a handler
/// `async fn(TenantScope, J) -> Result<(), E>` for each, with the scope of
/// the job's tenant, inside a `tenant_job` span carrying `tenant`, `queue`,
/// `job_id` and `attempt`.
///
/// The scope is made afresh for every job from that job's payload; nothing
/// is kept from one job to the next, so a job for tenant B never sees
/// tenant A's scope.
///
/// Reliability: a job is moved atomically (`BLMOVE`) from the queue to this
/// worker's in-flight list and removed from it (`LREM`) only once its outcome
/// is recorded. A worker that dies mid-job leaves it there;
/// [`recover`](Self::recover) (called by [`run`](Self::run) and
/// [`drain`](Self::drain) when they start) puts it back, so give a worker a
/// stable [`name`](Self::name) for that to happen. A failed handler is
/// retried up to [`max_attempts`](Self::max_attempts) runs in all (default
/// 3), then the job is dead-lettered.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tenant_core::{TenantId, TenantScope};
/// use tenant_jobs::{JobQueue, TenantJob, Worker};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Greet { name: String }
///
/// async fn greet(scope: TenantScope, job: Greet) -> Result<(), String> {
///     println!("hello {} from {}", job.name, scope.tenant_id());
///     Ok(())
/// }
///
/// let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
/// # let name = format!("doc-worker-{}", uuid::Uuid::new_v4());
/// let queue = JobQueue::<Greet>::connect(&url, &name).await?;
/// let scope = TenantScope::new(TenantId::parse("acme")?);
/// queue.enqueue(TenantJob::new(&scope, Greet { name: "ann".into() })).await?;
///
/// let worker = Worker::new(queue.clone()).name("doc-worker-1")?;
/// let report = worker.drain(greet).await?;
/// assert_eq!(report.done, 1);
/// # queue.purge().await?;
/// # Ok(()) }
/// ```
pub struct Worker<J> {
    queue: JobQueue<J>,
    name: String,
    max_attempts: u32,
    poll_timeout: Duration,
}

impl<J> fmt::Debug for Worker<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("queue", &self.queue.name())
            .field("name", &self.name)
            .field("max_attempts", &self.max_attempts)
            .field("poll_timeout", &self.poll_timeout)
            .finish()
    }
}

impl<J: DeserializeOwned> Worker<J> {
    /// A worker on `queue` with a random name, at most 3 runs per job, and
    /// a 1 second wait for a job in [`drain`](Self::drain)/[`run`](Self::run).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// let queue = tenant_jobs::JobQueue::<u32>::connect(&url, "doc-new").await?;
    /// let worker = tenant_jobs::Worker::new(queue);
    /// assert!(worker.worker_name().starts_with("worker-"));
    /// # Ok(()) }
    /// ```
    pub fn new(queue: JobQueue<J>) -> Self {
        Worker {
            queue,
            name: format!("worker-{}", uuid::Uuid::new_v4()),
            max_attempts: 3,
            poll_timeout: Duration::from_secs(1),
        }
    }

    /// Names the worker (1-100 characters of `A-Z a-z 0-9 _ - . :`). A
    /// restarted worker with the same name recovers the jobs it held.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// # let queue = tenant_jobs::JobQueue::<u32>::connect(&url, "doc-name").await?;
    /// let worker = tenant_jobs::Worker::new(queue).name("billing-1")?;
    /// assert_eq!(worker.worker_name(), "billing-1");
    /// # Ok(()) }
    /// ```
    pub fn name(mut self, name: &str) -> Result<Self, JobError> {
        if !valid_name(name) {
            return Err(JobError::InvalidWorkerName {
                name: name.to_owned(),
            });
        }
        self.name = name.to_owned();
        Ok(self)
    }

    /// The worker's name.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// # let queue = tenant_jobs::JobQueue::<u32>::connect(&url, "doc-wname").await?;
    /// let worker = tenant_jobs::Worker::new(queue).name("w")?;
    /// assert_eq!(worker.worker_name(), "w");
    /// # Ok(()) }
    /// ```
    pub fn worker_name(&self) -> &str {
        &self.name
    }

    /// How many times a job may run before it is dead-lettered (at least 1).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// # let queue = tenant_jobs::JobQueue::<u32>::connect(&url, "doc-max").await?;
    /// let worker = tenant_jobs::Worker::new(queue).max_attempts(5);
    /// # let _ = worker;
    /// # Ok(()) }
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// How long [`next`](Self::next) waits for a job (at least 10 ms).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// # let queue = tenant_jobs::JobQueue::<u32>::connect(&url, "doc-poll").await?;
    /// let worker = tenant_jobs::Worker::new(queue).poll_timeout(std::time::Duration::from_millis(200));
    /// # let _ = worker;
    /// # Ok(()) }
    /// ```
    pub fn poll_timeout(mut self, timeout: Duration) -> Self {
        self.poll_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// Puts the jobs this worker (by name) had taken but not finished back in
    /// the queue; returns how many. [`run`](Self::run) and
    /// [`drain`](Self::drain) call it when they start.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// # let queue = tenant_jobs::JobQueue::<u32>::connect(&url, &format!("doc-recover-{}", uuid::Uuid::new_v4())).await?;
    /// let worker = tenant_jobs::Worker::new(queue).name("w1")?;
    /// assert_eq!(worker.recover().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn recover(&self) -> Result<usize, JobError> {
        let mut conn = self.queue.conn();
        let processing = self.queue.processing_key(&self.name);
        let pending = self.queue.pending_key();
        let mut moved = 0;
        // Newest first to the consuming end, so the oldest is taken first.
        while redis::cmd("LMOVE")
            .arg(&processing)
            .arg(&pending)
            .arg("LEFT")
            .arg("RIGHT")
            .query_async::<Option<String>>(&mut conn)
            .await?
            .is_some()
        {
            moved += 1;
        }
        if moved > 0 {
            tracing::warn!(queue = %self.queue.name(), worker = %self.name, jobs = moved, "recovered unfinished jobs");
        }
        Ok(moved)
    }

    /// How many jobs this worker has taken and not yet finished (0 between
    /// jobs).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// # let queue = tenant_jobs::JobQueue::<u32>::connect(&url, &format!("doc-inflight-{}", uuid::Uuid::new_v4())).await?;
    /// let worker = tenant_jobs::Worker::new(queue);
    /// assert_eq!(worker.in_flight().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn in_flight(&self) -> Result<usize, JobError> {
        let mut conn = self.queue.conn();
        Ok(redis::cmd("LLEN")
            .arg(self.queue.processing_key(&self.name))
            .query_async::<usize>(&mut conn)
            .await?)
    }

    /// A connection for the blocking `BLMOVE`: its own (a blocking command
    /// holds up every other command on a shared connection), with a response
    /// timeout longer than the block.
    async fn blocking_connection(&self) -> Result<redis::aio::ConnectionManager, JobError> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(self.poll_timeout + Duration::from_secs(5)));
        Ok(self
            .queue
            .client()
            .get_connection_manager_with_config(config)
            .await?)
    }

    async fn take(
        &self,
        conn: &mut redis::aio::ConnectionManager,
    ) -> Result<Option<String>, JobError> {
        Ok(redis::cmd("BLMOVE")
            .arg(self.queue.pending_key())
            .arg(self.queue.processing_key(&self.name))
            .arg("RIGHT")
            .arg("LEFT")
            .arg(self.poll_timeout.as_secs_f64())
            .query_async::<Option<String>>(conn)
            .await?)
    }

    /// Waits up to the poll timeout for one job and runs it; `None` if no
    /// job came. A job that cannot be decoded is dead-lettered without
    /// running; a failing handler's job is retried or dead-lettered.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use tenant_core::{TenantId, TenantScope};
    /// # use tenant_jobs::{JobQueue, Outcome, TenantJob, Worker};
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// # let queue = JobQueue::<u32>::connect(&url, &format!("doc-next-{}", uuid::Uuid::new_v4())).await?;
    /// let scope = TenantScope::new(TenantId::parse("acme")?);
    /// queue.enqueue(TenantJob::new(&scope, 1)).await?;
    /// let worker = Worker::new(queue.clone());
    /// let handler = |scope: TenantScope, n: u32| async move {
    ///     assert_eq!(scope.tenant_id().as_str(), "acme");
    ///     Ok::<_, String>(())
    /// };
    /// assert!(matches!(worker.next(&handler).await?, Some(Outcome::Done { .. })));
    /// # queue.purge().await?;
    /// # Ok(()) }
    /// ```
    pub async fn next<H, Fut, E>(&self, handler: &H) -> Result<Option<Outcome>, JobError>
    where
        H: Fn(TenantScope, J) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        let mut conn = self.blocking_connection().await?;
        self.next_on(&mut conn, handler).await
    }

    async fn next_on<H, Fut, E>(
        &self,
        conn: &mut redis::aio::ConnectionManager,
        handler: &H,
    ) -> Result<Option<Outcome>, JobError>
    where
        H: Fn(TenantScope, J) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        match self.take(conn).await? {
            None => Ok(None),
            Some(raw) => self.process(raw, handler).await.map(Some),
        }
    }

    /// Runs jobs until the queue stays empty for the poll timeout; for
    /// batch runs and tests. Recovers this worker's unfinished jobs first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use tenant_core::TenantScope;
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// # let queue = tenant_jobs::JobQueue::<u32>::connect(&url, &format!("doc-drain-{}", uuid::Uuid::new_v4())).await?;
    /// let worker = tenant_jobs::Worker::new(queue).poll_timeout(std::time::Duration::from_millis(50));
    /// let report = worker.drain(|_scope: TenantScope, _n: u32| async { Ok::<_, String>(()) }).await?;
    /// assert_eq!(report.done, 0);
    /// # Ok(()) }
    /// ```
    pub async fn drain<H, Fut, E>(&self, handler: H) -> Result<DrainReport, JobError>
    where
        H: Fn(TenantScope, J) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        self.recover().await?;
        let mut conn = self.blocking_connection().await?;
        let mut report = DrainReport::default();
        while let Some(outcome) = self.next_on(&mut conn, &handler).await? {
            match outcome {
                Outcome::Done { .. } => report.done += 1,
                Outcome::Retried { .. } => report.retried += 1,
                Outcome::DeadLettered(_) => report.dead_lettered += 1,
            }
        }
        Ok(report)
    }

    /// Runs jobs until `shutdown` completes; the job under way when it does
    /// is finished first. Redis errors are logged and retried after a second.
    /// Recovers this worker's unfinished jobs first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use tenant_core::TenantScope;
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// # let queue = tenant_jobs::JobQueue::<u32>::connect(&url, &format!("doc-run-{}", uuid::Uuid::new_v4())).await?;
    /// let worker = tenant_jobs::Worker::new(queue);
    /// let stop = tokio::time::sleep(std::time::Duration::from_millis(100));
    /// worker.run(|_scope: TenantScope, _n: u32| async { Ok::<_, String>(()) }, stop).await?;
    /// # Ok(()) }
    /// ```
    pub async fn run<H, Fut, E>(
        &self,
        handler: H,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), JobError>
    where
        H: Fn(TenantScope, J) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        self.recover().await?;
        let mut conn = self.blocking_connection().await?;
        tokio::pin!(shutdown);
        loop {
            // Only the wait for a job is cut short by the shutdown: a job that
            // was taken is run to its end.
            let taken = tokio::select! {
                biased;
                () = &mut shutdown => return Ok(()),
                taken = self.take(&mut conn) => taken,
            };
            let result = match taken {
                Ok(None) => continue,
                Ok(Some(raw)) => self.process(raw, &handler).await.map(drop),
                Err(err) => Err(err),
            };
            if let Err(err) = result {
                tracing::warn!(queue = %self.queue.name(), worker = %self.name, error = %err, "job queue error; retrying in 1s");
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }

    /// Decodes one taken payload, runs it, records the outcome.
    async fn process<H, Fut, E>(&self, raw: String, handler: &H) -> Result<Outcome, JobError>
    where
        H: Fn(TenantScope, J) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        let envelope: Envelope<J> = match serde_json::from_str(&raw) {
            Ok(envelope) => envelope,
            Err(err) => {
                // Never run: no tenant can be trusted from this payload.
                let reason = format!("undecodable payload: {err}");
                tracing::error!(queue = %self.queue.name(), error = %reason, "job dead-lettered");
                return self.dead_letter(raw, reason, 0).await;
            }
        };
        let Envelope {
            id,
            attempts,
            tenant,
            job,
        } = envelope;
        let attempt = attempts.saturating_add(1);
        let span = tracing::info_span!(
            "tenant_job",
            tenant = %tenant,
            queue = %self.queue.name(),
            job_id = %id,
            attempt,
        );
        // TRUST BOUNDARY: the worker re-creates the job's scope from its
        // payload. The payload's tenant was written by `TenantJob::new` from
        // the enqueuer's scope and was validated as a `TenantId` just now.
        // With the request boundary, this is the only `TenantScope::new` of
        // the job system. A new scope per job: nothing carries over.
        let scope = TenantScope::new(tenant);
        let run = span.in_scope(|| handler(scope, job));
        let result = AssertUnwindSafe(run.instrument(span.clone()))
            .catch_unwind()
            .await;
        let error = match result {
            Ok(Ok(())) => {
                self.ack(&raw).await?;
                span.in_scope(|| tracing::debug!("job done"));
                return Ok(Outcome::Done { job_id: id, tenant });
            }
            Ok(Err(err)) => err.to_string(),
            Err(panic) => format!("handler panicked: {}", panic_message(&*panic)),
        };
        if attempt >= self.max_attempts {
            span.in_scope(
                || tracing::error!(error = %error, "job failed on its last attempt; dead-lettered"),
            );
            self.dead_letter(raw, error, attempt).await
        } else {
            span.in_scope(|| tracing::warn!(error = %error, "job failed; will retry"));
            self.retry(&raw, attempt).await?;
            Ok(Outcome::Retried {
                job_id: id,
                tenant,
                attempts: attempt,
                error,
            })
        }
    }

    async fn ack(&self, raw: &str) -> Result<(), JobError> {
        let mut conn = self.queue.conn();
        redis::cmd("LREM")
            .arg(self.queue.processing_key(&self.name))
            .arg(1)
            .arg(raw)
            .query_async::<i64>(&mut conn)
            .await?;
        Ok(())
    }

    /// Puts the job back at the far end of the queue with its run counted,
    /// and drops it from the in-flight list, atomically.
    async fn retry(&self, raw: &str, attempts: u32) -> Result<(), JobError> {
        // The payload decoded as an envelope a moment ago, so it is a JSON
        // object with an `attempts` field; only that field changes.
        let mut value: serde_json::Value = serde_json::from_str(raw)?;
        value["attempts"] = attempts.into();
        let again = serde_json::to_string(&value)?;
        let mut conn = self.queue.conn();
        redis::pipe()
            .atomic()
            .cmd("LREM")
            .arg(self.queue.processing_key(&self.name))
            .arg(1)
            .arg(raw)
            .ignore()
            .cmd("LPUSH")
            .arg(self.queue.pending_key())
            .arg(again)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    /// Moves the job from the in-flight list to the dead letters, atomically.
    async fn dead_letter(
        &self,
        raw: String,
        reason: String,
        attempts: u32,
    ) -> Result<Outcome, JobError> {
        let dead = DeadLetter {
            payload: raw,
            reason,
            attempts,
        };
        let entry = serde_json::to_string(&dead)?;
        let mut conn = self.queue.conn();
        redis::pipe()
            .atomic()
            .cmd("LREM")
            .arg(self.queue.processing_key(&self.name))
            .arg(1)
            .arg(&dead.payload)
            .ignore()
            .cmd("RPUSH")
            .arg(self.queue.dead_key())
            .arg(entry)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(Outcome::DeadLettered(dead))
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
