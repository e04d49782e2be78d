//! The log the server runs on: [`LogStore`] is what services, handlers and the CLI hold.
//!
//! `Sled` is the embedded default (one process, one data dir); `Postgres` is a shared database
//! with projections fed by a subscription (`pg.rs`), chosen with `serve --store postgres://…`.
//! Both answer the same questions (projections, appends that are visible when they return,
//! stream reads, time travel); a fork (`store::fork`) and the exports are written against
//! either. What only the sled log can do yet — purge by rewriting records, backup, garbage
//! collection — is reached through [`LogStore::as_sled`], and its callers answer a clear error
//! on PostgreSQL.

pub mod pg;

use std::path::Path;

use uuid::Uuid;

pub use pg::HostedPg;

use crate::store::backend::{AppendOutcome, AppendRequest};
use crate::store::envelope::Envelope;
use crate::store::error::{Result, StoreError};
use crate::store::ids::StreamId;
use crate::store::postgres::leases::Fence;
use crate::store::postgres::PgStore;
use crate::store::projections::{AsOf, JobView, Projections, SessionDetail, SessionSummary};
use crate::store::sled::store::SledStore;

/// The server's event log.
#[derive(Clone)]
pub enum LogStore {
    Sled(SledStore),
    Postgres(HostedPg),
}

impl From<SledStore> for LogStore {
    fn from(s: SledStore) -> Self {
        LogStore::Sled(s)
    }
}

impl From<HostedPg> for LogStore {
    fn from(p: HostedPg) -> Self {
        LogStore::Postgres(p)
    }
}

impl LogStore {
    /// Run `f` with read access to the projections.
    pub fn with_projections<R>(&self, f: impl FnOnce(&Projections) -> R) -> R {
        match self {
            LogStore::Sled(s) => s.with_projections(f),
            LogStore::Postgres(p) => p.with_projections(f),
        }
    }

    /// Append; resolves once durable and applied to the projections.
    pub async fn append_async(&self, req: AppendRequest) -> Result<AppendOutcome> {
        match self {
            LogStore::Sled(s) => s.append_async(req).await,
            LogStore::Postgres(p) => p.append_async(req).await,
        }
    }

    /// Append a job's events under `fence` (PostgreSQL: recorded only while the fence holds).
    /// The sled log has no fences to check: one process holds it and runs every job itself.
    pub async fn append_fenced_async(
        &self,
        req: AppendRequest,
        fence: Option<Fence>,
    ) -> Result<AppendOutcome> {
        match self {
            LogStore::Sled(s) => s.append_async(req).await,
            LogStore::Postgres(p) => p.append_under(req, fence).await,
        }
    }

    /// The shared job queue (PostgreSQL), where jobs are claimed and leased; `None` on sled,
    /// whose server queues its jobs in memory.
    pub fn shared_queue(&self) -> Option<&PgStore> {
        match self {
            LogStore::Sled(_) => None,
            LogStore::Postgres(p) => Some(p.pg()),
        }
    }

    /// Append from a blocking thread (never from an async worker).
    pub fn append_blocking(&self, req: AppendRequest) -> Result<AppendOutcome> {
        match self {
            LogStore::Sled(s) => s.append_blocking(req),
            LogStore::Postgres(p) => p.append_blocking(req),
        }
    }

    /// Number of events in the log (sled: the head sequence; PostgreSQL: events applied here).
    pub fn head_seq(&self) -> u64 {
        match self {
            LogStore::Sled(s) => s.head_seq(),
            LogStore::Postgres(p) => p.head_seq(),
        }
    }

    /// The local data directory (artifacts, frontend traces; the sled log too on sled).
    pub fn data_dir(&self) -> &Path {
        match self {
            LogStore::Sled(s) => s.data_dir(),
            LogStore::Postgres(p) => p.data_dir(),
        }
    }

    /// An unresolved storage failure, for health checks.
    pub fn failure(&self) -> Option<String> {
        match self {
            LogStore::Sled(s) => s.failure(),
            LogStore::Postgres(p) => p.failure(),
        }
    }

    /// Current version of a stream (0 if it does not exist).
    pub fn version_of(&self, stream: &StreamId) -> u64 {
        match self {
            LogStore::Sled(s) => s.version_of(stream),
            LogStore::Postgres(p) => p.version_of(stream),
        }
    }

    /// Up to `limit` events of `stream` from `from_version` (1-based).
    pub fn stream_events(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<Envelope>> {
        match self {
            LogStore::Sled(s) => s.stream_events(stream, from_version, limit),
            LogStore::Postgres(p) => p.stream_events(stream, from_version, limit),
        }
    }

    /// Time travel: a session as of a point of its history.
    pub fn session_at(&self, id: Uuid, as_of: AsOf) -> Result<SessionDetail> {
        match self {
            LogStore::Sled(s) => s.session_at(id, as_of),
            LogStore::Postgres(p) => p.session_at(id, as_of),
        }
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

    /// The sled log, for what only it can do yet.
    pub fn as_sled(&self) -> Option<&SledStore> {
        match self {
            LogStore::Sled(s) => Some(s),
            LogStore::Postgres(_) => None,
        }
    }

    /// The sled log, or an error naming `what` is not available on PostgreSQL yet.
    pub fn require_sled(&self, what: &str) -> Result<&SledStore> {
        self.as_sled().ok_or_else(|| {
            StoreError::InvalidRequest(format!(
                "{what} is not available with the PostgreSQL store yet (it works on the \
                 embedded sled store)"
            ))
        })
    }

    /// The backend and where it is (no password), for `/api/health`.
    pub fn describe(&self) -> String {
        match self {
            LogStore::Sled(_) => "sled 0.34.7".into(),
            LogStore::Postgres(p) => format!("postgresql ({})", p.location()),
        }
    }

    /// Which backend, for health and logs.
    pub fn backend(&self) -> &'static str {
        match self {
            LogStore::Sled(_) => "sled",
            LogStore::Postgres(_) => "postgres",
        }
    }

    /// Stop appending and close (sled: drain the writer, write the manifest).
    pub fn close(self) {
        match self {
            LogStore::Sled(s) => s.close(),
            LogStore::Postgres(p) => p.close(),
        }
    }
}
