//! The single writer thread with group commit.
//!
//! Handlers send commands over a bounded channel (a full channel is `StoreError::Busy`). The
//! writer takes one command, drains whatever else is queued (up to `max_group_events`), checks
//! event ids and expected versions against committed state plus the group's own pending
//! writes, writes everything with one atomic `apply_batch`, then `flush()`es sled and
//! `sync_all()`s `<sled>/db` (and any new blob file) on its own handles. Only then does it
//! update the projections, publish the new durable head to subscribers and reply. Sequence
//! order therefore equals commit order.
//!
//! On a storage error the whole group fails, in-memory state is left untouched and the writer
//! marks itself poisoned; the next command first reopens sled (sled's error sticks until a
//! reopen) and reconciles: events of the failed group that did reach the disk are adopted
//! (their retries then return the original positions), a log shorter than what was
//! acknowledged stops the store.

mod plan;
mod recover;

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use uuid::Uuid;

use crate::store::append::PreparedAppend;
use crate::store::backend::AppendOutcome;
use crate::store::envelope::Envelope;
use crate::store::error::{Result, StoreError};
use crate::store::ids::StreamId;
use crate::store::sled::keys;
use crate::store::sled::manifest;
use crate::store::sled::open::SledSettings;
use crate::store::sled::store::Shared;
use crate::store::util;

/// A reply channel for an append.
pub(crate) type Reply = oneshot::Sender<Result<AppendOutcome>>;

/// What the writer thread accepts.
pub(crate) enum Command {
    Append {
        req: PreparedAppend,
        reply: Reply,
    },
    /// Append already-positioned envelopes (import/restore into a store, in order).
    Import {
        envelopes: Vec<Envelope>,
        reply: oneshot::Sender<Result<u64>>,
    },
}

impl Command {
    fn len(&self) -> usize {
        match self {
            Command::Append { req, .. } => req.len,
            Command::Import { envelopes, .. } => envelopes.len(),
        }
    }

    fn fail(self, err: StoreError) {
        match self {
            Command::Append { reply, .. } => {
                let _ = reply.send(Err(err));
            }
            Command::Import { reply, .. } => {
                let _ = reply.send(Err(err));
            }
        }
    }
}

/// Writer tuning.
#[derive(Debug, Clone)]
pub(crate) struct WriterSettings {
    pub max_group_events: usize,
    pub min_free_bytes: u64,
    pub manifest_interval: Duration,
    pub sled: SledSettings,
}

/// Where an event id already lives.
#[derive(Debug, Clone, Copy)]
pub(super) struct Located {
    seq: u64,
    stream: StreamId,
    version: u64,
}

pub(super) enum Planned {
    Append(Reply, Result<AppendOutcome>),
    Import(oneshot::Sender<Result<u64>>, Result<u64>),
}

#[derive(Default)]
pub(super) struct GroupPlan {
    batch: sled::Batch,
    bytes: u64,
    heads: HashMap<StreamId, u64>,
    ids: HashMap<Uuid, (Located, usize)>,
    envelopes: Vec<Envelope>,
}

/// State owned by the writer thread.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    db: Option<sled::Db>,
    db_file: Option<File>,
    head: u64,
    heads: HashMap<StreamId, u64>,
    poisoned: Option<String>,
    fatal: Option<String>,
    blobs_synced: HashSet<OsString>,
    manifest_hw: u64,
    last_manifest: Instant,
    last_recorded_us: i64,
    settings: WriterSettings,
}

pub(super) fn sled_err(shared: &Shared, e: impl std::fmt::Display) -> StoreError {
    StoreError::storage(&shared.data_dir, e)
}

impl Writer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        db: sled::Db,
        head: u64,
        heads: HashMap<StreamId, u64>,
        manifest_hw: u64,
        last_recorded_us: i64,
        settings: WriterSettings,
    ) -> Result<Self> {
        let db_path = shared.sled_dir.join("db");
        let db_file = File::open(&db_path).map_err(|e| StoreError::io(&db_path, e))?;
        Ok(Writer {
            shared,
            db: Some(db),
            db_file: Some(db_file),
            head,
            heads,
            poisoned: None,
            fatal: None,
            blobs_synced: HashSet::new(),
            manifest_hw,
            last_manifest: Instant::now(),
            last_recorded_us,
            settings,
        })
    }

    /// The thread body: group commits until every sender is gone.
    pub(crate) fn run(mut self, rx: Receiver<Command>) {
        while let Ok(first) = rx.recv() {
            let mut n = first.len();
            let mut group = vec![first];
            while n < self.settings.max_group_events {
                match rx.try_recv() {
                    Ok(c) => {
                        n += c.len();
                        group.push(c);
                    }
                    Err(_) => break,
                }
            }
            self.commit_group(group);
            self.maybe_write_manifest(false);
        }
        self.maybe_write_manifest(true);
        if let Some(db) = self.db.take() {
            if self.poisoned.is_none() {
                if let Err(e) = db.flush() {
                    tracing::warn!(error = %e, "final sled flush failed");
                }
            }
        }
    }

    fn maybe_write_manifest(&mut self, force: bool) {
        if self.poisoned.is_some() || self.fatal.is_some() || self.head == self.manifest_hw {
            return;
        }
        if !force && self.last_manifest.elapsed() < self.settings.manifest_interval {
            return;
        }
        match manifest::write(&self.shared.data_dir, self.head) {
            Ok(()) => {
                self.manifest_hw = self.head;
                self.last_manifest = Instant::now();
            }
            Err(e) => tracing::warn!(error = %e, "could not update the high-water manifest"),
        }
    }

    fn commit_group(&mut self, group: Vec<Command>) {
        if let Some(reason) = &self.fatal {
            let reason = reason.clone();
            for c in group {
                c.fail(StoreError::Refused {
                    data_dir: self.shared.data_dir.clone(),
                    first_bad: Some(self.head),
                    reason: reason.clone(),
                });
            }
            return;
        }
        if self.poisoned.is_some() {
            if let Err(e) = self.recover() {
                for c in group {
                    c.fail(e.for_group(&self.shared.data_dir));
                }
                return;
            }
        }
        let mut plan = GroupPlan::default();
        let mut planned = Vec::with_capacity(group.len());
        for cmd in group {
            match cmd {
                Command::Append { req, reply } => {
                    let r = self.plan_append(&mut plan, req);
                    planned.push(Planned::Append(reply, r));
                }
                Command::Import { envelopes, reply } => {
                    let r = self.plan_import(&mut plan, envelopes);
                    planned.push(Planned::Import(reply, r));
                }
            }
        }
        if !plan.envelopes.is_empty() {
            if let Err(e) = self.check_space(plan.bytes) {
                // Refused before touching sled: nothing to reopen, reads unaffected.
                for p in planned {
                    let err = e.for_group(&self.shared.data_dir);
                    match p {
                        Planned::Append(reply, _) => {
                            let _ = reply.send(Err(err));
                        }
                        Planned::Import(reply, _) => {
                            let _ = reply.send(Err(err));
                        }
                    }
                }
                return;
            }
            if let Err(e) = self.write(&mut plan) {
                let detail = e.to_string();
                tracing::error!(error = %detail, data_dir = %self.shared.data_dir.display(),
                    "group commit failed; the store will reopen before the next write");
                self.poisoned = Some(detail.clone());
                *util::write(&self.shared.failure) = Some(detail.clone());
                for p in planned {
                    let err = e.for_group(&self.shared.data_dir);
                    match p {
                        Planned::Append(reply, _) => {
                            let _ = reply.send(Err(err));
                        }
                        Planned::Import(reply, _) => {
                            let _ = reply.send(Err(err));
                        }
                    }
                }
                return;
            }
            self.publish(plan.heads, plan.envelopes);
        }
        for p in planned {
            match p {
                Planned::Append(reply, r) => {
                    let _ = reply.send(r);
                }
                Planned::Import(reply, r) => {
                    let _ = reply.send(r);
                }
            }
        }
    }

    /// After a durable commit: update memory, projections and subscribers.
    fn publish(&mut self, heads: HashMap<StreamId, u64>, envelopes: Vec<Envelope>) {
        let Some(last) = envelopes.last() else {
            return;
        };
        self.head = last.seq;
        self.last_recorded_us = self.last_recorded_us.max(last.recorded_at_us);
        {
            let mut p = util::write(&self.shared.projections);
            for env in envelopes {
                p.apply(env);
            }
        }
        {
            let mut sh = util::write(&self.shared.stream_heads);
            for (s, v) in &heads {
                sh.insert(*s, *v);
            }
        }
        self.heads.extend(heads);
        self.shared
            .durable
            .store(self.head, std::sync::atomic::Ordering::Release);
        self.shared.head_tx.send_replace(self.head);
        self.shared
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Refuse a group that would eat into the free-space reserve: sled's own ENOSPC error
    /// sticks until a reopen (and breaks reads meanwhile), so we stop before reaching it.
    fn check_space(&self, group_bytes: u64) -> Result<()> {
        let reserve = self.settings.min_free_bytes;
        if reserve == 0 {
            return Ok(());
        }
        let avail =
            fs2::available_space(&self.shared.sled_dir).map_err(|e| sled_err(&self.shared, e))?;
        let need = reserve.saturating_add(group_bytes.saturating_mul(4));
        if avail < need {
            return Err(StoreError::DiskFull {
                data_dir: self.shared.data_dir.clone(),
                detail: format!(
                    "no space left on device: {avail} bytes free, below the {reserve}-byte reserve plus this group"
                ),
            });
        }
        Ok(())
    }

    fn write(&mut self, plan: &mut GroupPlan) -> Result<()> {
        let db = self
            .db
            .as_ref()
            .ok_or_else(|| sled_err(&self.shared, "database not open"))?;
        let last = plan.envelopes.last().map(|e| e.seq).unwrap_or(self.head);
        for (s, v) in &plan.heads {
            plan.batch
                .insert(keys::stream_head(s), &keys::u64_value(*v));
        }
        plan.batch.insert(keys::HEAD_KEY, &keys::u64_value(last));
        db.apply_batch(std::mem::take(&mut plan.batch))
            .map_err(|e| sled_err(&self.shared, e))?;
        db.flush().map_err(|e| sled_err(&self.shared, e))?;
        if let Some(f) = &self.db_file {
            f.sync_all().map_err(|e| sled_err(&self.shared, e))?;
        }
        self.sync_new_blobs()
    }

    /// sled writes large nodes to `blobs/` without fsync; make them durable too.
    fn sync_new_blobs(&mut self) -> Result<()> {
        let dir = self.shared.sled_dir.join("blobs");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(sled_err(&self.shared, e)),
        };
        let mut current = HashSet::new();
        let mut synced_any = false;
        for entry in entries {
            let entry = entry.map_err(|e| sled_err(&self.shared, e))?;
            let name = entry.file_name();
            if !self.blobs_synced.contains(&name) {
                let p: PathBuf = entry.path();
                match File::open(&p) {
                    Ok(f) => f.sync_all().map_err(|e| sled_err(&self.shared, e))?,
                    // sled may garbage-collect a blob between listing and opening.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(sled_err(&self.shared, e)),
                }
                synced_any = true;
            }
            current.insert(name);
        }
        if synced_any {
            manifest::sync_dir(&dir)?;
        }
        self.blobs_synced = current;
        Ok(())
    }
}
