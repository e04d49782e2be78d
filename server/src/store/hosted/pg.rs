//! The server's view of a PostgreSQL log: the projections the services read, kept in memory
//! and fed by a subscription, so every server on one database converges on the same state.
//!
//! Opening replays the whole log into the projections before anything is served. After that a
//! task applies each delivered batch in commit order. An append returns only once the
//! projections include it (read-your-writes, like sled, whose writer applies before it
//! acknowledges), or fails after [`APPLY_WAIT`] with a retryable error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

use crate::store::backend::{
    AppendOutcome, AppendRequest, EventStore, EventSubscription, Position,
};
use crate::store::envelope::Envelope;
use crate::store::error::{Result, StoreError};
use crate::store::ids::StreamId;
use crate::store::postgres::leases::Fence;
use crate::store::postgres::PgStore;
use crate::store::projections::{AsOf, Projections, SessionDetail};
use crate::store::util::block_on;

/// Longest an append waits for its events to reach the projections.
const APPLY_WAIT: Duration = Duration::from_secs(10);

/// Events per page while replaying at open and per delivered batch.
const PAGE: usize = 5_000;

/// A PostgreSQL log with live projections.
#[derive(Clone)]
pub struct HostedPg {
    inner: Arc<Inner>,
}

struct Inner {
    pg: PgStore,
    data_dir: PathBuf,
    state: RwLock<Applied>,
    applied: watch::Sender<Position>,
    failure: Mutex<Option<String>>,
}

impl Drop for Inner {
    /// Ends the follower (its subscription sees the store closed) and with it the runtime.
    fn drop(&mut self) {
        self.pg.close();
    }
}

/// Everything folded from the log so far.
#[derive(Default)]
struct Applied {
    projections: Projections,
    heads: HashMap<StreamId, u64>,
    events: u64,
}

impl Applied {
    fn apply(&mut self, env: Envelope) {
        self.heads.insert(env.stream, env.stream_version);
        self.events += 1;
        self.projections.apply(env);
    }
}

impl HostedPg {
    /// Connect (with the store's own runtime), replay the log and start following it.
    /// Blocks; call from a blocking thread.
    pub fn open_blocking(url: &str, data_dir: &Path) -> Result<HostedPg> {
        Self::follow(PgStore::open_blocking(url)?, data_dir)
    }

    /// Replay the log of an opened store (made by [`PgStore::open_blocking`]) and follow it.
    pub fn follow(pg: PgStore, data_dir: &Path) -> Result<HostedPg> {
        let mut state = Applied::default();
        let mut at = Position::START;
        loop {
            let page = block_on(pg.read_all(at, PAGE))?;
            if page.events.is_empty() {
                break;
            }
            at = page.next;
            for env in page.events {
                state.apply(env);
            }
        }
        tracing::info!(events = state.events, database = %pg.location(), "PostgreSQL log replayed");
        let (applied, _) = watch::channel(at);
        let hosted = HostedPg {
            inner: Arc::new(Inner {
                pg,
                data_dir: data_dir.to_path_buf(),
                state: RwLock::new(state),
                applied,
                failure: Mutex::new(None),
            }),
        };
        let follower = Arc::downgrade(&hosted.inner);
        hosted.inner.pg.runtime().spawn(follow(follower, at));
        Ok(hosted)
    }

    /// Run `f` with read access to the projections.
    pub fn with_projections<R>(&self, f: impl FnOnce(&Projections) -> R) -> R {
        f(&self.read().projections)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Applied> {
        self.inner.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Append; resolves once durable and visible in the projections.
    pub async fn append_async(&self, req: AppendRequest) -> Result<AppendOutcome> {
        self.append_under(req, None).await
    }

    /// Append under a job's fence (`store::postgres::leases`), or none.
    pub async fn append_under(
        &self,
        req: AppendRequest,
        fence: Option<Fence>,
    ) -> Result<AppendOutcome> {
        let outcome = match fence {
            Some(f) => self.inner.pg.append_fenced(req, f).await?,
            None => self.inner.pg.append(req).await?,
        };
        let mut applied = self.inner.applied.subscribe();
        let wait = self.inner.pg.runtime().spawn(async move {
            tokio::time::timeout(APPLY_WAIT, applied.wait_for(|p| *p >= outcome.position))
                .await
                .map(|r| r.is_ok())
                .unwrap_or(false)
        });
        match wait.await {
            Ok(true) => Ok(outcome),
            _ => Err(StoreError::Database {
                detail: format!(
                    "the append is durable but did not reach this server's projections within \
                     {APPLY_WAIT:?}; reload"
                ),
            }),
        }
    }

    /// [`HostedPg::append_async`] for blocking threads.
    pub fn append_blocking(&self, req: AppendRequest) -> Result<AppendOutcome> {
        block_on(self.append_async(req))
    }

    /// Events applied so far (the log's length as this server knows it).
    pub fn head_seq(&self) -> u64 {
        self.read().events
    }

    /// The local data directory (artifacts, traces).
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Why following the log is failing right now, if it is.
    pub fn failure(&self) -> Option<String> {
        self.inner
            .failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Current version of a stream as applied here.
    pub fn version_of(&self, stream: &StreamId) -> u64 {
        self.read().heads.get(stream).copied().unwrap_or(0)
    }

    /// Up to `limit` events of `stream` from `from_version`. Blocks on one query.
    pub fn stream_events(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>> {
        block_on(self.inner.pg.read_stream(*stream, from_version, limit))
    }

    /// Time travel. Blocks on at most one query (none when the round is in the cached prefix).
    pub fn session_at(&self, id: Uuid, as_of: AsOf) -> Result<SessionDetail> {
        block_on(self.inner.pg.session_at(id, as_of))
    }

    /// The PostgreSQL log itself (its job queue, notes and change cues).
    pub fn pg(&self) -> &PgStore {
        &self.inner.pg
    }

    /// The database, without its password.
    pub fn location(&self) -> &str {
        self.inner.pg.location()
    }

    /// Stop appending; the follower ends with the store.
    pub fn close(&self) {
        self.inner.pg.close();
    }
}

/// Apply every event after `from` as it commits, until the store is gone or closed.
async fn follow(inner: std::sync::Weak<Inner>, from: Position) {
    let Some(pg) = inner.upgrade().map(|i| i.pg.clone()) else {
        return;
    };
    let mut sub = pg.subscribe(from);
    drop(pg);
    loop {
        let batch = sub.next_batch(PAGE).await;
        let Some(inner) = inner.upgrade() else { return };
        match batch {
            Ok(events) => {
                {
                    let mut state = inner.state.write().unwrap_or_else(|e| e.into_inner());
                    for env in events {
                        state.apply(env);
                    }
                }
                *inner.failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
                inner.applied.send_replace(sub.position());
            }
            Err(StoreError::Closed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "following the PostgreSQL log failed; retrying");
                *inner.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                drop(inner);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
