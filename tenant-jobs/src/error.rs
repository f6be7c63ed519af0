//! Errors of the queue and the worker.

/// Why a queue operation failed. A job's own failure is not an error of the
/// worker: it is an [`Outcome`](crate::Outcome) (retried or dead-lettered).
///
/// ```
/// let err = tenant_jobs::JobQueue::<u32>::key_prefix_for("bad name").unwrap_err();
/// assert!(err.to_string().contains("queue name"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// Redis failed (down, refused the command, timed out).
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The queue name is not 1-100 characters of `A-Z a-z 0-9 _ - . :`.
    #[error("invalid queue name {name:?}: use 1-100 characters of `A-Z a-z 0-9 _ - . :`")]
    InvalidQueueName {
        /// The rejected name.
        name: String,
    },
    /// The worker name is not 1-100 characters of `A-Z a-z 0-9 _ - . :`.
    #[error("invalid worker name {name:?}: use 1-100 characters of `A-Z a-z 0-9 _ - . :`")]
    InvalidWorkerName {
        /// The rejected name.
        name: String,
    },
    /// The job could not be serialised to JSON.
    #[error("cannot serialise the job: {0}")]
    Encode(#[from] serde_json::Error),
}
