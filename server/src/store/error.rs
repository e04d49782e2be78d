//! Typed errors of the event store.
//!
//! `StoreError` is what every public operation returns. The HTTP layer maps the variants:
//! `Conflict` -> 409 (with `current`), `Busy` -> 503, `DiskFull` -> 507, `Refused`/`Corrupt`
//! -> 500 with the message, `Invalid*`/`UnknownSession`/`RoundNotFound` -> 4xx.

use std::path::PathBuf;

use uuid::Uuid;

use crate::store::ids::StreamId;

/// Why a stored record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record is empty")]
    Empty,
    #[error("record is {len} bytes, above the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("record is {len} bytes, shorter than its 5-byte header")]
    TooShort { len: usize },
    #[error("unknown record format byte {0}")]
    UnknownFormat(u8),
    #[error("CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Crc { stored: u32, computed: u32 },
    #[error("malformed envelope: {0}")]
    Envelope(String),
    #[error("{trailing} trailing bytes after the {what}")]
    TrailingBytes { what: &'static str, trailing: usize },
    #[error("unknown event type code {0}")]
    UnknownEventType(u16),
    #[error("event type {event_type} has no schema version {version}")]
    UnsupportedSchemaVersion {
        event_type: &'static str,
        version: u16,
    },
    #[error("malformed {event_type} v{version} payload: {reason}")]
    Payload {
        event_type: &'static str,
        version: u16,
        reason: String,
    },
    #[error("unknown stream kind {0}")]
    UnknownStreamKind(u8),
}

/// An event rejected before it reached the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEvent {
    #[error("{event_type} cannot be appended to stream {stream}")]
    WrongStream {
        event_type: &'static str,
        stream: String,
    },
    #[error("field `{field}` holds a non-finite number")]
    NonFinite { field: &'static str },
    #[error("field `{field}` is not valid JSON text: {reason}")]
    NotJson { field: &'static str, reason: String },
    #[error("encoded payload is {len} bytes, above the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("field `{field}`: {reason}")]
    Field { field: &'static str, reason: String },
}

/// Every error the store can return.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Optimistic concurrency: the stream is not at the expected version.
    #[error("stream {stream}: expected version {expected}, current version is {current}")]
    Conflict {
        stream: StreamId,
        expected: u64,
        current: u64,
    },
    /// The writer's bounded queue is full; retry later (HTTP 503).
    #[error("event store is busy: the write queue ({capacity} commands) is full")]
    Busy { capacity: usize },
    /// The disk is full; the group failed, nothing was acknowledged (HTTP 507).
    #[error("event store at {data_dir}: no space left on device ({detail})")]
    DiskFull { data_dir: PathBuf, detail: String },
    /// Any other I/O or sled failure during a commit; the outcome of the failed group is unknown
    /// until the store reopens, so retry with the same event ids.
    #[error("event store at {data_dir}: storage error: {detail}")]
    Storage { data_dir: PathBuf, detail: String },
    /// Start-up or verification found damage; the store refuses to serve.
    #[error(
        "refusing to serve the event store at {data_dir}: {reason}{}. Restore a backup \
         (`stablesteering store restore`) or inspect with `stablesteering store verify`.",
        first_bad.map(|s| format!(" (first bad position: seq {s})")).unwrap_or_default()
    )]
    Refused {
        data_dir: PathBuf,
        first_bad: Option<u64>,
        reason: String,
    },
    /// A record read after start-up failed to decode.
    #[error("corrupt record at seq {seq}: {source}")]
    Corrupt { seq: u64, source: DecodeError },
    #[error("invalid event #{index} ({event_id}): {source}")]
    InvalidEvent {
        index: usize,
        event_id: Uuid,
        source: InvalidEvent,
    },
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The event id was already used for a different event.
    #[error(
        "event id {event_id} already recorded at seq {seq} with a different payload or stream"
    )]
    EventIdReused { event_id: Uuid, seq: u64 },
    /// Some but not all of a request's event ids are already recorded.
    #[error("request mixes {existing} already recorded event ids with new ones")]
    PartialDuplicate { existing: usize },
    #[error("unknown session {0}")]
    UnknownSession(Uuid),
    #[error("session {session} has no round {round}")]
    RoundNotFound { session: Uuid, round: u32 },
    #[error("the event store is closed")]
    Closed,
    /// The PostgreSQL backend could not run a statement (connection lost, server shutting down,
    /// serialization failure). Like `Storage`, the outcome is unknown: retry with the same ids.
    #[error("PostgreSQL: {detail}")]
    Database { detail: String },
    /// A worker's append about a job it no longer holds (its lease ran out and another worker
    /// took the job, or the job ended): nothing was recorded, and retrying cannot help.
    #[error("job {job_id}: the lease is lost, nothing recorded: {why}")]
    LeaseLost { job_id: Uuid, why: String },
    /// The PostgreSQL backend refuses to start (unreachable, schema newer than this binary).
    #[error("refusing to use the PostgreSQL event store: {reason}")]
    DatabaseRefused { reason: String },
    #[error("import: {0}")]
    Import(String),
    #[error("export: {0}")]
    Export(String),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl StoreError {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    /// Classify a storage failure: ENOSPC becomes `DiskFull`, anything else `Storage`.
    pub fn storage(data_dir: &std::path::Path, detail: impl std::fmt::Display) -> Self {
        let detail = detail.to_string();
        let lower = detail.to_ascii_lowercase();
        if lower.contains("no space left") || lower.contains("os error 28") {
            StoreError::DiskFull {
                data_dir: data_dir.to_path_buf(),
                detail,
            }
        } else {
            StoreError::Storage {
                data_dir: data_dir.to_path_buf(),
                detail,
            }
        }
    }

    /// A copy of a storage-level error, for failing every command of a group with it.
    pub(crate) fn for_group(&self, data_dir: &std::path::Path) -> StoreError {
        match self {
            StoreError::DiskFull { data_dir, detail } => StoreError::DiskFull {
                data_dir: data_dir.clone(),
                detail: detail.clone(),
            },
            StoreError::Storage { data_dir, detail } => StoreError::Storage {
                data_dir: data_dir.clone(),
                detail: detail.clone(),
            },
            StoreError::Refused {
                data_dir,
                first_bad,
                reason,
            } => StoreError::Refused {
                data_dir: data_dir.clone(),
                first_bad: *first_bad,
                reason: reason.clone(),
            },
            other => StoreError::storage(data_dir, other),
        }
    }

    /// True for errors that mean "try again later" rather than "this request is wrong".
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Busy { .. }
                | StoreError::DiskFull { .. }
                | StoreError::Storage { .. }
                | StoreError::Database { .. }
        )
    }
}

/// Shorthand used across the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
