//! The PostgreSQL backend of the event log: the same [`EventStore`] contract as sled (the
//! conformance suite runs against both), for a team that shares one database between an API
//! server and render workers on other machines.
//!
//! Start with [`PgStore::open`] (from async code) or [`PgStore::open_blocking`] (which brings
//! its own runtime). Appends are one transaction each over a connection pool; PostgreSQL
//! groups concurrent commits into shared WAL flushes. Subscribers page the log in commit order
//! and are woken by `LISTEN`/`NOTIFY` (see `subscribe.rs`).

mod append;
pub mod bench;
pub mod leases;
pub mod migrate;
mod read;
mod replay;
pub mod schema;
mod subscribe;
mod writer;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::mpsc::error::TrySendError;
use tokio_postgres::NoTls;

use crate::store::append::prepare;
use crate::store::backend::{AppendOutcome, AppendRequest, EventStore, LogPage, Position};
use crate::store::envelope::Envelope;
use crate::store::error::{Result, StoreError};
use crate::store::ids::StreamId;
pub use subscribe::PgSubscription;

/// The channel appends notify and subscribers listen on.
pub(crate) const NOTIFY_CHANNEL: &str = "stablesteering_events";

/// The channel render workers send live job progress on (`serve` relays it to browsers).
pub(crate) const PROGRESS_CHANNEL: &str = "stablesteering_progress";

/// Connections in the pool: enough for concurrent appends, reads and subscribers.
const POOL_SIZE: usize = 16;

/// How long a statement may wait for a pooled connection before the append fails as busy.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// A PostgreSQL event log.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// Appends go to the group-commit writers (`writer.rs`).
    writer: tokio::sync::mpsc::Sender<writer::Command>,
    handle: Handle,
    /// The runtime [`PgStore::open_blocking`] made; dropped last, in the background.
    own_runtime: Mutex<Option<Runtime>>,
    /// The newest position this process appended or delivered (what [`EventStore::head`]
    /// reports without a round trip).
    head: Mutex<Position>,
    wake: tokio::sync::watch::Receiver<u64>,
    /// Progress notes from render workers, as received.
    progress: tokio::sync::broadcast::Sender<String>,
    /// Decoded session streams for time travel (bounded; `replay.rs`).
    replay: Mutex<crate::store::replay_cache::ReplayCache>,
    closed: AtomicBool,
    /// Where the database is, without the password (for messages).
    display: String,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let runtime = self.own_runtime.get_mut().ok().and_then(Option::take);
        if let Some(rt) = runtime {
            rt.shutdown_background();
        }
    }
}

/// A pooled connection, or the store's error saying there is none.
pub(crate) async fn pooled(pool: &Pool) -> Result<deadpool_postgres::Object> {
    pool.get().await.map_err(|e| StoreError::Database {
        detail: format!("no database connection: {e}"),
    })
}

/// Map a driver error to the store's typed error.
pub(crate) fn db_error(e: tokio_postgres::Error) -> StoreError {
    let detail = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    StoreError::Database { detail }
}

impl PgStore {
    /// Connect to `url` (`postgres://user@host/db` or `postgres://user@/db?host=/socket/dir`),
    /// apply missing migrations and start the notification listener. Refuses with one line
    /// when the database is unreachable or its schema is newer than this binary.
    pub async fn open(url: &str) -> Result<PgStore> {
        Self::open_on(url, Handle::current()).await
    }

    /// [`PgStore::open`] for synchronous callers (CLI, tests): the store runs its own
    /// two-thread runtime. Do not call from inside an async runtime.
    pub fn open_blocking(url: &str) -> Result<PgStore> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pg-store")
            .enable_all()
            .build()
            .map_err(|e| StoreError::DatabaseRefused {
                reason: format!("cannot start a runtime: {e}"),
            })?;
        let handle = rt.handle().clone();
        let url = url.to_string();
        let opened = rt.block_on(async move { Self::open_on(&url, handle).await });
        let store = opened?;
        *store
            .inner
            .own_runtime
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(rt);
        Ok(store)
    }

    async fn open_on(url: &str, handle: Handle) -> Result<PgStore> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::DatabaseRefused {
                reason: format!("`{}` is not a PostgreSQL URL: {e}", redact(url)),
            })?;
        let display = redact(url);
        let unreachable = |e: &dyn std::fmt::Display| StoreError::DatabaseRefused {
            reason: format!("cannot reach PostgreSQL at {display}: {e}"),
        };
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(POOL_WAIT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| unreachable(&e))?;
        let mut client = pool.get().await.map_err(|e| unreachable(&e))?;
        schema::migrate(&mut client).await?;
        let head = read::last_position(&**client).await?;
        drop(client);
        let (progress, _) = tokio::sync::broadcast::channel(1024);
        let wake = subscribe::listen(config, &handle, progress.clone())
            .await
            .map_err(|e| unreachable(&e))?;
        let writer = writer::spawn(pool.clone());
        Ok(PgStore {
            inner: Arc::new(Inner {
                writer,
                pool,
                handle,
                own_runtime: Mutex::new(None),
                head: Mutex::new(head),
                wake,
                progress,
                replay: Mutex::new(crate::store::replay_cache::ReplayCache::new(
                    replay::REPLAY_CACHE_EVENTS,
                )),
                closed: AtomicBool::new(false),
                display,
            }),
        })
    }

    /// Append under `fence`: recorded only while the fence holds (`leases.rs`), else
    /// [`StoreError::LeaseLost`]. A retry of a recorded request gets its original outcome.
    pub fn append_fenced(
        &self,
        req: AppendRequest,
        fence: leases::Fence,
    ) -> impl Future<Output = Result<AppendOutcome>> + Send + use<> {
        self.submit(req, Some(fence))
    }

    fn submit(
        &self,
        req: AppendRequest,
        fence: Option<leases::Fence>,
    ) -> impl Future<Output = Result<AppendOutcome>> + Send + use<> {
        let prepared = prepare(req);
        let store = self.clone();
        async move {
            let req = prepared?;
            if store.inner.closed.load(Ordering::SeqCst) {
                return Err(StoreError::Closed);
            }
            let (reply, answer) = tokio::sync::oneshot::channel();
            store
                .inner
                .writer
                .try_send(writer::Command { req, fence, reply })
                .map_err(|e| match e {
                    TrySendError::Full(_) => StoreError::Busy {
                        capacity: writer::QUEUE_CAPACITY,
                    },
                    TrySendError::Closed(_) => StoreError::Closed,
                })?;
            let outcome = answer.await.map_err(|_| StoreError::Closed)??;
            store.note_position(outcome.position);
            Ok(outcome)
        }
    }

    /// Wakes on every commit notification (a cue to look again, as subscriptions do).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.wake.clone()
    }

    /// Progress notes workers sent (JSON text, as sent).
    pub fn progress_notes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.inner.progress.subscribe()
    }

    /// Send one progress note to every listening server (at most 7,900 bytes: PostgreSQL's
    /// limit on a notification is 8,000).
    pub fn send_progress(&self, note: String) -> impl Future<Output = Result<()>> + Send + use<> {
        self.with_client(move |client| async move {
            if note.len() > 7_900 {
                return Err(StoreError::InvalidRequest(format!(
                    "a progress note of {} bytes is over the 7,900 a notification carries",
                    note.len()
                )));
            }
            client
                .execute("SELECT pg_notify($1, $2)", &[&PROGRESS_CHANNEL, &note])
                .await
                .map_err(db_error)?;
            Ok(())
        })
    }

    /// The runtime the store's tasks run on.
    pub(crate) fn runtime(&self) -> &Handle {
        &self.inner.handle
    }

    /// The database this store writes to, without its password.
    pub fn location(&self) -> &str {
        &self.inner.display
    }

    /// Refuse new appends and end subscriptions once they have delivered everything.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
    }

    fn note_position(&self, p: Position) {
        let mut head = self.inner.head.lock().unwrap_or_else(|e| e.into_inner());
        if p > *head {
            *head = p;
        }
    }

    /// Run `work` on the store's runtime with a pooled connection; awaitable from any executor.
    fn with_client<T, F, Fut>(
        &self,
        work: F,
    ) -> impl Future<Output = Result<T>> + Send + use<T, F, Fut>
    where
        T: Send + 'static,
        F: FnOnce(deadpool_postgres::Object) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send,
    {
        let pool = self.inner.pool.clone();
        let closed = self.inner.closed.load(Ordering::SeqCst);
        let task = self.inner.handle.spawn(async move {
            if closed {
                return Err(StoreError::Closed);
            }
            work(pooled(&pool).await?).await
        });
        async move {
            task.await.map_err(|e| StoreError::Database {
                detail: format!("database task failed: {e}"),
            })?
        }
    }
}

impl EventStore for PgStore {
    type Subscription = PgSubscription;

    fn append(&self, req: AppendRequest) -> impl Future<Output = Result<AppendOutcome>> + Send {
        self.submit(req, None)
    }

    fn read_stream(
        &self,
        stream: StreamId,
        from_version: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Envelope>>> + Send {
        self.with_client(move |client| async move {
            read::read_stream(&**client, stream, from_version, limit).await
        })
    }

    fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> impl Future<Output = Result<LogPage>> + Send {
        self.with_client(move |client| async move {
            let located = read::read_committed_after(&**client, after, limit).await?;
            let next = located.last().map(|l| l.position).unwrap_or(after);
            Ok(LogPage {
                events: located.into_iter().map(|l| l.envelope).collect(),
                next,
            })
        })
    }

    fn stream_version(&self, stream: StreamId) -> impl Future<Output = Result<u64>> + Send {
        self.with_client(move |client| async move { read::stream_version(&**client, stream).await })
    }

    fn head(&self) -> Position {
        *self.inner.head.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn subscribe(&self, after: Position) -> PgSubscription {
        PgSubscription::new(self.clone(), after)
    }
}

/// `url` with any password replaced by `***`.
fn redact(url: &str) -> String {
    if !url.contains("://") {
        // key=value form: drop a password=... pair.
        return url
            .split_whitespace()
            .map(|kv| {
                if kv.starts_with("password=") {
                    "password=***"
                } else {
                    kv
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://ann:s3cret@db:5432/ss"),
            "postgres://ann:***@db:5432/ss"
        );
        assert_eq!(
            redact("postgres://ann@/ss?host=/tmp/x"),
            "postgres://ann@/ss?host=/tmp/x"
        );
        assert_eq!(redact("host=/tmp user=ann"), "host=/tmp user=ann");
        assert_eq!(
            redact("host=db password=x user=ann"),
            "host=db password=*** user=ann"
        );
    }
}
