//! The sled-backed event store handle: appends (through the writer), bounded reads of the log
//! and of single streams, projections, time travel and subscriptions.
//!
//! Reads never see past the durable head: records of a group that is being committed (or that
//! failed) are invisible until the writer has flushed and fsynced them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use crate::store::append::prepare;
use crate::store::backend::{AppendOutcome, AppendRequest, EventStore, LogPage, Position};
use crate::store::envelope::{self, Envelope};
use crate::store::error::{DecodeError, Result, StoreError};
use crate::store::ids::StreamId;
use crate::store::projections::time_travel::SessionFolder;
use crate::store::projections::{AsOf, JobView, Projections, SessionDetail, SessionSummary};
use crate::store::replay_cache::ReplayCache;
use crate::store::sled::keys;
use crate::store::sled::scan;
use crate::store::sled::subscribe::Subscription;
use crate::store::sled::writer::Command;
use crate::store::util::{self, block_on};

/// State shared by the handle, the writer thread and subscriptions.
pub(crate) struct Shared {
    pub data_dir: PathBuf,
    pub sled_dir: PathBuf,
    /// Read handle; `None` while the writer reopens sled or after close.
    pub db: RwLock<Option<sled::Db>>,
    /// Last durable (acknowledgeable) sequence number.
    pub durable: AtomicU64,
    pub head_tx: watch::Sender<u64>,
    pub projections: RwLock<Projections>,
    pub stream_heads: RwLock<HashMap<StreamId, u64>>,
    pub closed: AtomicBool,
    /// The writer's last storage failure, while it is unresolved.
    pub failure: RwLock<Option<String>>,
    /// Number of durable group commits so far (statistics).
    pub commits: AtomicU64,
    /// Decoded session streams for time travel.
    pub replay_cache: Mutex<ReplayCache>,
}

impl Shared {
    pub(crate) fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    pub(crate) fn db(&self) -> Result<sled::Db> {
        if let Some(db) = util::read(&self.db).as_ref() {
            return Ok(db.clone());
        }
        if self.closed.load(Ordering::Acquire) {
            Err(StoreError::Closed)
        } else {
            Err(StoreError::Storage {
                data_dir: self.data_dir.clone(),
                detail: "the database is being reopened after a storage error".into(),
            })
        }
    }

    pub(crate) fn storage(&self, e: sled::Error) -> StoreError {
        StoreError::storage(&self.data_dir, e)
    }

    /// The record at `seq` (which must be durable).
    pub(crate) fn record(&self, db: &sled::Db, seq: u64) -> Result<Envelope> {
        let bytes = db
            .get(keys::event(seq))
            .map_err(|e| self.storage(e))?
            .ok_or(StoreError::Corrupt {
                seq,
                source: DecodeError::Envelope("record missing below the durable head".into()),
            })?;
        envelope::decode_record(&bytes).map_err(|source| StoreError::Corrupt { seq, source })
    }

    /// Up to `limit` durable events with seq > `after`.
    pub(crate) fn read_after(&self, after: u64, limit: usize) -> Result<Vec<Envelope>> {
        let durable = self.durable();
        if after >= durable || limit == 0 {
            return Ok(Vec::new());
        }
        let db = self.db()?;
        let mut out = Vec::with_capacity(limit.min((durable - after) as usize));
        for item in db.range(keys::event(after + 1)..=keys::event(durable)) {
            let (k, v) = item.map_err(|e| self.storage(e))?;
            let seq = keys::parse_event(&k).unwrap_or(0);
            let env = envelope::decode_record(&v)
                .map_err(|source| StoreError::Corrupt { seq, source })?;
            if env.seq != seq || env.seq != after + 1 + out.len() as u64 {
                return Err(StoreError::Corrupt {
                    seq,
                    source: DecodeError::Envelope(format!("gap or mismatch at seq {seq}")),
                });
            }
            out.push(env);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Up to `limit` durable records (verbatim bytes, CRC-checked) with seq > `after`.
    pub(crate) fn read_raw_after(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let durable = self.durable();
        if after >= durable || limit == 0 {
            return Ok(Vec::new());
        }
        let db = self.db()?;
        let mut out = Vec::new();
        for item in db.range(keys::event(after + 1)..=keys::event(durable)) {
            let (k, v) = item.map_err(|e| self.storage(e))?;
            let seq = keys::parse_event(&k).unwrap_or(0);
            let (h, _) = envelope::decode_header(&v)
                .map_err(|source| StoreError::Corrupt { seq, source })?;
            if h.seq != seq || seq != after + 1 + out.len() as u64 {
                return Err(StoreError::Corrupt {
                    seq,
                    source: DecodeError::Envelope(format!("gap or mismatch at seq {seq}")),
                });
            }
            out.push((seq, v.to_vec()));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Visit the durable events of `stream` from `from_version`, in order, until `f` says stop.
    pub(crate) fn visit_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        mut f: impl FnMut(Envelope) -> bool,
    ) -> Result<()> {
        let durable = self.durable();
        let db = self.db()?;
        let start = keys::stream_version(stream, from_version.max(1));
        let end = keys::stream_version(stream, u64::MAX);
        for item in db.range(start..=end) {
            let (_, v) = item.map_err(|e| self.storage(e))?;
            let seq = keys::parse_u64(&v).ok_or(StoreError::Corrupt {
                seq: 0,
                source: DecodeError::Envelope(format!("bad stream index value in {stream}")),
            })?;
            if seq > durable {
                break;
            }
            let env = self.record(&db, seq)?;
            if !f(env) {
                break;
            }
        }
        Ok(())
    }
}

struct Inner {
    shared: Arc<Shared>,
    tx: RwLock<Option<SyncSender<Command>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    capacity: usize,
}

impl Inner {
    fn shutdown(&self) {
        util::write(&self.tx).take();
        let handle = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            if h.join().is_err() {
                tracing::error!("the event-store writer thread panicked");
            }
        }
        self.shared.closed.store(true, Ordering::Release);
        util::write(&self.shared.db).take();
        self.shared.head_tx.send_modify(|_| {});
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A handle to an open store. Cheap to clone; the store closes when the last clone is dropped
/// or [`SledStore::close`] is called.
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

impl SledStore {
    pub(crate) fn from_parts(
        shared: Arc<Shared>,
        tx: SyncSender<Command>,
        writer: JoinHandle<()>,
        capacity: usize,
    ) -> Self {
        SledStore {
            inner: Arc::new(Inner {
                shared,
                tx: RwLock::new(Some(tx)),
                writer: Mutex::new(Some(writer)),
                capacity,
            }),
        }
    }

    /// Number of group commits since the store was opened (statistics).
    pub fn commit_count(&self) -> u64 {
        self.inner.shared.commits.load(Ordering::Relaxed)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.shared.data_dir
    }

    fn send(&self, cmd: Command) -> Result<()> {
        let guard = util::read(&self.inner.tx);
        let tx = guard.as_ref().ok_or(StoreError::Closed)?;
        tx.try_send(cmd).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::Busy {
                capacity: self.inner.capacity,
            },
            TrySendError::Disconnected(_) => StoreError::Closed,
        })
    }

    /// Validate and enqueue an append; the receiver resolves once it is durable.
    pub fn submit(&self, req: AppendRequest) -> Result<oneshot::Receiver<Result<AppendOutcome>>> {
        let req = prepare(req)?;
        let (reply, rx) = oneshot::channel();
        self.send(Command::Append { req, reply })?;
        Ok(rx)
    }

    /// Append and wait (async). Resolves after flush + fsync.
    pub async fn append_async(&self, req: AppendRequest) -> Result<AppendOutcome> {
        let rx = self.submit(req)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Append and block the current thread until durable. Not for use on async worker threads.
    pub fn append_blocking(&self, req: AppendRequest) -> Result<AppendOutcome> {
        let rx = self.submit(req)?;
        block_on(rx).map_err(|_| StoreError::Closed)?
    }

    /// Import already-positioned envelopes (seq must continue the head). Used by JSONL import
    /// and restore; blocks until durable and returns the new head.
    pub fn import_blocking(&self, envelopes: Vec<Envelope>) -> Result<u64> {
        if envelopes.is_empty() {
            return Ok(self.head_seq());
        }
        let (reply, rx) = oneshot::channel();
        self.send(Command::Import { envelopes, reply })?;
        block_on(rx).map_err(|_| StoreError::Closed)?
    }

    /// Sequence number of the last durable event.
    pub fn head_seq(&self) -> u64 {
        self.inner.shared.durable()
    }

    /// The writer's unresolved storage failure, if any (for health checks).
    pub fn failure(&self) -> Option<String> {
        util::read(&self.inner.shared.failure).clone()
    }

    /// Current version of a stream (0 if it does not exist).
    pub fn version_of(&self, stream: &StreamId) -> u64 {
        util::read(&self.inner.shared.stream_heads)
            .get(stream)
            .copied()
            .unwrap_or(0)
    }

    /// The durable event at `seq`.
    pub fn event_at(&self, seq: u64) -> Result<Option<Envelope>> {
        if seq == 0 || seq > self.head_seq() {
            return Ok(None);
        }
        let db = self.inner.shared.db()?;
        self.inner.shared.record(&db, seq).map(Some)
    }

    /// Up to `limit` events after `after_seq`, in commit order.
    pub fn log_events(&self, after_seq: u64, limit: usize) -> Result<Vec<Envelope>> {
        self.inner.shared.read_after(after_seq, limit)
    }

    /// Up to `limit` records after `after_seq`, verbatim (CRC-checked), in commit order.
    pub fn raw_records(&self, after_seq: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        self.inner.shared.read_raw_after(after_seq, limit)
    }

    /// Up to `limit` events of `stream` from `from_version` (1-based).
    pub fn stream_events(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        self.inner.shared.visit_stream(stream, from_version, |e| {
            out.push(e);
            out.len() < limit
        })?;
        Ok(out)
    }

    /// Run `f` with read access to the projections.
    pub fn with_projections<R>(&self, f: impl FnOnce(&Projections) -> R) -> R {
        f(&util::read(&self.inner.shared.projections))
    }

    /// A copy of all projections.
    pub fn projections_snapshot(&self) -> Projections {
        self.with_projections(|p| p.clone())
    }

    /// The sessions list (newest activity first).
    pub fn sessions(&self, include_deleted: bool) -> Vec<SessionSummary> {
        self.with_projections(|p| p.sessions_list(include_deleted))
    }

    /// The live detail of one session.
    pub fn session(&self, id: Uuid) -> Option<SessionDetail> {
        self.with_projections(|p| p.sessions.get(&id).cloned())
    }

    /// One job.
    pub fn job(&self, id: Uuid) -> Option<JobView> {
        self.with_projections(|p| p.jobs.get(&id).cloned())
    }

    /// Time travel: a session's state as of a point of its history, folded from its events
    /// (served from the replay cache when the session's stream was decoded before).
    pub fn session_at(&self, id: Uuid, as_of: AsOf) -> Result<SessionDetail> {
        let shared = &self.inner.shared;
        let cached = shared
            .replay_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id);
        let mut events = cached.unwrap_or_default();
        let have = events.len() as u64;
        if have < self.version_of(&StreamId::Session(id)) {
            let mut fresh = Vec::new();
            shared.visit_stream(&StreamId::Session(id), have + 1, |e| {
                fresh.push(e);
                true
            })?;
            if !fresh.is_empty() {
                Arc::make_mut(&mut events).extend(fresh);
                shared
                    .replay_cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .put(id, events.clone());
            }
        }
        let mut folder = SessionFolder::new(id, as_of);
        for e in events.iter() {
            if !folder.push(e.clone()) {
                break;
            }
        }
        folder.finish()
    }

    /// Time travel straight from the log, bypassing the replay cache (stops reading early).
    pub fn session_at_uncached(&self, id: Uuid, as_of: AsOf) -> Result<SessionDetail> {
        let mut folder = SessionFolder::new(id, as_of);
        self.inner
            .shared
            .visit_stream(&StreamId::Session(id), 1, |e| folder.push(e))?;
        folder.finish()
    }

    /// Writes `records` over the committed records at their seqs, durably, then lets `edit`
    /// update the projections. Only redaction uses it (`purge.rs`): each new record keeps its
    /// seq, stream, version, id and time, so the indexes and stream heads stay true.
    pub(crate) fn overwrite_records(
        &self,
        records: Vec<(u64, Vec<u8>)>,
        edit: impl FnOnce(&mut Projections),
    ) -> Result<()> {
        let shared = &self.inner.shared;
        let db = shared.db()?;
        let mut batch = sled::Batch::default();
        for (seq, bytes) in records {
            if seq == 0 || seq > self.head_seq() {
                return Err(StoreError::Corrupt {
                    seq,
                    source: DecodeError::Envelope("overwrite beyond the durable head".into()),
                });
            }
            batch.insert(&keys::event(seq), bytes);
        }
        db.apply_batch(batch).map_err(|e| shared.storage(e))?;
        db.flush().map_err(|e| shared.storage(e))?;
        self.clear_replay_cache();
        edit(&mut util::write(&shared.projections));
        Ok(())
    }

    /// Empty the replay cache.
    pub fn clear_replay_cache(&self) {
        self.inner
            .shared
            .replay_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Rebuild every projection from seq 1 up to the durable head (does not replace the live
    /// ones). Decoding runs on several threads, applying in sequence order.
    pub fn rebuild_projections(&self) -> Result<Projections> {
        let head = self.head_seq();
        let db = self.inner.shared.db()?;
        let mut p = Projections::default();
        scan::for_each_decoded(&db, 1, head, scan::default_threads(head), |e, _| p.apply(e))
            .map_err(|e| StoreError::Corrupt {
                seq: e.seq,
                source: DecodeError::Envelope(e.reason),
            })?;
        Ok(p)
    }

    /// Subscribe to every event after `after_seq`.
    pub fn subscribe_after(&self, after_seq: u64) -> Subscription {
        Subscription::new(self.inner.shared.clone(), after_seq)
    }

    /// Stop the writer (after it drains its queue), write the manifest and close sled.
    pub fn close(self) {
        self.inner.shutdown();
    }
}

impl EventStore for SledStore {
    type Subscription = Subscription;

    fn append(
        &self,
        req: AppendRequest,
    ) -> impl std::future::Future<Output = Result<AppendOutcome>> + Send {
        let rx = self.submit(req);
        async move { rx?.await.map_err(|_| StoreError::Closed)? }
    }

    fn read_stream(
        &self,
        stream: StreamId,
        from_version: u64,
        limit: usize,
    ) -> impl std::future::Future<Output = Result<Vec<Envelope>>> + Send {
        let r = self.stream_events(&stream, from_version, limit);
        async move { r }
    }

    fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> impl std::future::Future<Output = Result<LogPage>> + Send {
        let after_seq = after.parts().1;
        let r = self.log_events(after_seq, limit).map(|events| {
            let next = events
                .last()
                .map(|e| Position::from_parts(0, e.seq))
                .unwrap_or(after);
            LogPage { events, next }
        });
        async move { r }
    }

    fn stream_version(
        &self,
        stream: StreamId,
    ) -> impl std::future::Future<Output = Result<u64>> + Send {
        let v = self.version_of(&stream);
        async move { Ok(v) }
    }

    fn head(&self) -> Position {
        Position::from_parts(0, self.head_seq())
    }

    fn subscribe(&self, after: Position) -> Subscription {
        self.subscribe_after(after.parts().1)
    }
}
