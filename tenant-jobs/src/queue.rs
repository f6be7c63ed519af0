//! The Redis queue.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tenant_core::TenantId;

use crate::error::JobError;
use crate::job::IntoTenantJob;

/// The wire form of a queued job, as written by [`JobQueue::enqueue`].
#[derive(Serialize)]
pub(crate) struct EnvelopeRef<'a, J> {
    pub(crate) id: &'a str,
    pub(crate) attempts: u32,
    pub(crate) tenant: &'a TenantId,
    pub(crate) job: &'a J,
}

/// The wire form as the worker reads it: `tenant` is validated as a
/// [`TenantId`] (a bad id fails decoding and the job is dead-lettered).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Envelope<J> {
    pub(crate) id: String,
    pub(crate) attempts: u32,
    pub(crate) tenant: TenantId,
    pub(crate) job: J,
}

/// A job the worker gave up on, kept in the queue's dead-letter list with
/// the raw payload and the reason. It never ran under a scope it could not
/// prove (an undecodable payload or a bad tenant id never reaches a handler).
///
/// ```
/// let dead: tenant_jobs::DeadLetter =
///     serde_json::from_str(r#"{"payload":"not json","reason":"undecodable payload","attempts":0}"#)?;
/// assert_eq!(dead.attempts, 0);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The payload exactly as it was queued.
    pub payload: String,
    /// Why it was given up: a decoding error (bad tenant id, malformed
    /// JSON) or the handler's last error.
    pub reason: String,
    /// How many times a handler ran it (0 when it never decoded).
    pub attempts: u32,
}

/// A named job queue on Redis holding [`TenantJob<J>`](crate::TenantJob)s.
///
/// Keys (with `P` = `tenant-jobs:<name>`): `P:queue` (pending, pushed on
/// the left and taken from the right), `P:processing:<worker>` (taken by a
/// worker and not yet acknowledged: the reliable-queue pattern, `BLMOVE` to
/// take and `LREM` to acknowledge), `P:dead` (dead letters).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tenant_core::{TenantId, TenantScope};
/// use tenant_jobs::{JobQueue, TenantJob};
///
/// let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
/// # let name = format!("doc-queue-{}", uuid::Uuid::new_v4());
/// let queue = JobQueue::<String>::connect(&url, &name).await?;
/// let scope = TenantScope::new(TenantId::parse("acme")?);
/// queue.enqueue(TenantJob::new(&scope, "hello".to_owned())).await?;
/// assert_eq!(queue.len().await?, 1);
/// # queue.purge().await?;
/// # Ok(()) }
/// ```
pub struct JobQueue<J> {
    client: redis::Client,
    conn: redis::aio::ConnectionManager,
    name: String,
    prefix: String,
    job: PhantomData<fn() -> J>,
}

impl<J> Clone for JobQueue<J> {
    fn clone(&self) -> Self {
        JobQueue {
            client: self.client.clone(),
            conn: self.conn.clone(),
            name: self.name.clone(),
            prefix: self.prefix.clone(),
            job: PhantomData,
        }
    }
}

impl<J> fmt::Debug for JobQueue<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobQueue")
            .field("name", &self.name)
            .finish()
    }
}

pub(crate) fn valid_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

impl<J: Serialize + DeserializeOwned> JobQueue<J> {
    /// Connects to Redis at `url` (`redis://host:port[/db]`) and opens the
    /// queue `name` (1-100 characters of `A-Z a-z 0-9 _ - . :`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// let queue = tenant_jobs::JobQueue::<u32>::connect(&url, "doc-connect").await?;
    /// assert_eq!(queue.name(), "doc-connect");
    /// assert!(tenant_jobs::JobQueue::<u32>::connect(&url, "no spaces").await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str, name: &str) -> Result<Self, JobError> {
        let prefix = Self::key_prefix_for(name)?;
        let client = redis::Client::open(url)?;
        let conn = client.get_connection_manager().await?;
        Ok(JobQueue {
            client,
            conn,
            name: name.to_owned(),
            prefix,
            job: PhantomData,
        })
    }

    /// Enqueues a job for the tenant it carries; returns the job's id.
    /// Only a [`TenantJob`](crate::TenantJob) is accepted, so the enqueuing
    /// code must hold the tenant's scope.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use tenant_core::{TenantId, TenantScope};
    /// # use tenant_jobs::{JobQueue, TenantJob};
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// # let queue = JobQueue::<u32>::connect(&url, &format!("doc-enqueue-{}", uuid::Uuid::new_v4())).await?;
    /// let scope = TenantScope::new(TenantId::parse("acme")?);
    /// let id = queue.enqueue(TenantJob::new(&scope, 7)).await?;
    /// assert!(!id.is_empty());
    /// # queue.purge().await?;
    /// # Ok(()) }
    /// ```
    //
    // Not an `async fn`: its future would name `T`, and a bare job would then
    // be refused three times (the call, the future, the `.await`) instead of
    // once. The payload is encoded here and the future holds only text.
    pub fn enqueue<T: IntoTenantJob<J>>(&self, job: T) -> Enqueue<'_> {
        let job = job.tenant_job();
        let id = uuid::Uuid::new_v4().to_string();
        let tenant = *job.tenant_id();
        let encoded = serde_json::to_string(&EnvelopeRef {
            id: &id,
            attempts: 0,
            tenant: &tenant,
            job: job.job(),
        });
        Box::pin(async move {
            self.push_raw(&encoded?).await?;
            tracing::debug!(queue = %self.name, tenant = %tenant, job_id = %id, "job enqueued");
            Ok(id)
        })
    }
}

/// The future of [`JobQueue::enqueue`]: the new job's id once it is queued.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use tenant_core::{TenantId, TenantScope};
/// # use tenant_jobs::{JobQueue, TenantJob};
/// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
/// # let queue = JobQueue::<u32>::connect(&url, &format!("doc-enqueue-fut-{}", uuid::Uuid::new_v4())).await?;
/// let scope = TenantScope::new(TenantId::parse("acme")?);
/// let pending: tenant_jobs::Enqueue<'_> = queue.enqueue(TenantJob::new(&scope, 1));
/// let id: String = pending.await?;
/// # let _ = id; queue.purge().await?;
/// # Ok(()) }
/// ```
pub type Enqueue<'a> = Pin<Box<dyn Future<Output = Result<String, JobError>> + Send + 'a>>;

impl<J> JobQueue<J> {
    /// The Redis key prefix of queue `name`, `tenant-jobs:<name>`, or an
    /// error if the name is not 1-100 characters of `A-Z a-z 0-9 _ - . :`.
    ///
    /// ```
    /// use tenant_jobs::JobQueue;
    /// assert_eq!(JobQueue::<u32>::key_prefix_for("mail").unwrap(), "tenant-jobs:mail");
    /// assert!(JobQueue::<u32>::key_prefix_for("").is_err());
    /// ```
    pub fn key_prefix_for(name: &str) -> Result<String, JobError> {
        if valid_name(name) {
            Ok(format!("tenant-jobs:{name}"))
        } else {
            Err(JobError::InvalidQueueName {
                name: name.to_owned(),
            })
        }
    }

    /// The queue's name.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// let queue = tenant_jobs::JobQueue::<u32>::connect(&url, "reminders").await?;
    /// assert_eq!(queue.name(), "reminders");
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn client(&self) -> &redis::Client {
        &self.client
    }

    pub(crate) fn conn(&self) -> redis::aio::ConnectionManager {
        self.conn.clone()
    }

    pub(crate) fn pending_key(&self) -> String {
        format!("{}:queue", self.prefix)
    }

    pub(crate) fn dead_key(&self) -> String {
        format!("{}:dead", self.prefix)
    }

    pub(crate) fn processing_key(&self, worker: &str) -> String {
        format!("{}:processing:{worker}", self.prefix)
    }

    /// Pushes a payload as it is, without checking it: for tests of the
    /// worker's decoding and for moving payloads between queues.
    /// [`enqueue`](Self::enqueue) is the way to queue a job.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// # let queue = tenant_jobs::JobQueue::<u32>::connect(&url, &format!("doc-raw-{}", uuid::Uuid::new_v4())).await?;
    /// queue.push_raw("not json").await?; // the worker will dead-letter it
    /// assert_eq!(queue.len().await?, 1);
    /// # queue.purge().await?;
    /// # Ok(()) }
    /// ```
    pub async fn push_raw(&self, payload: &str) -> Result<(), JobError> {
        let mut conn = self.conn();
        redis::cmd("LPUSH")
            .arg(self.pending_key())
            .arg(payload)
            .query_async::<i64>(&mut conn)
            .await?;
        Ok(())
    }

    /// How many jobs wait to be taken.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// let queue = tenant_jobs::JobQueue::<u32>::connect(&url, &format!("doc-len-{}", uuid::Uuid::new_v4())).await?;
    /// assert_eq!(queue.len().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn len(&self) -> Result<usize, JobError> {
        let mut conn = self.conn();
        Ok(redis::cmd("LLEN")
            .arg(self.pending_key())
            .query_async::<usize>(&mut conn)
            .await?)
    }

    /// Whether no job waits to be taken.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// let queue = tenant_jobs::JobQueue::<u32>::connect(&url, &format!("doc-empty-{}", uuid::Uuid::new_v4())).await?;
    /// assert!(queue.is_empty().await?);
    /// # Ok(()) }
    /// ```
    pub async fn is_empty(&self) -> Result<bool, JobError> {
        Ok(self.len().await? == 0)
    }

    /// The dead letters, oldest first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// let queue = tenant_jobs::JobQueue::<u32>::connect(&url, &format!("doc-dead-{}", uuid::Uuid::new_v4())).await?;
    /// assert!(queue.dead_letters().await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, JobError> {
        let mut conn = self.conn();
        let raw: Vec<String> = redis::cmd("LRANGE")
            .arg(self.dead_key())
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await?;
        // Entries are written by the worker only; one that does not parse is
        // shown as it is rather than dropped.
        Ok(raw
            .into_iter()
            .map(|entry| {
                serde_json::from_str(&entry).unwrap_or_else(|err| DeadLetter {
                    reason: format!("unreadable dead-letter entry: {err}"),
                    payload: entry,
                    attempts: 0,
                })
            })
            .collect())
    }

    /// Deletes every key of the queue: pending jobs, every worker's
    /// in-flight list and the dead letters. For tests and tear-down.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenant_jobs::JobError> {
    /// # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    /// let queue = tenant_jobs::JobQueue::<u32>::connect(&url, &format!("doc-purge-{}", uuid::Uuid::new_v4())).await?;
    /// queue.push_raw("x").await?;
    /// queue.purge().await?;
    /// assert_eq!(queue.len().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn purge(&self) -> Result<(), JobError> {
        let mut conn = self.conn();
        // SCAN, not KEYS: it does not block the server on a large keyspace.
        // (Queue names hold no glob characters.)
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}:processing:*", self.prefix))
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        keys.push(self.pending_key());
        keys.push(self.dead_key());
        redis::cmd("DEL")
            .arg(keys)
            .query_async::<i64>(&mut conn)
            .await?;
        Ok(())
    }
}
