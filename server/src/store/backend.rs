//! The backend-neutral store interface: request/response types and the [`EventStore`] trait.
//!
//! Positions are opaque ([`Position`]): the sled backend uses the global sequence number, a
//! PostgreSQL backend can use `(xid8, seq)`. Consumers only compare positions, store them as
//! tokens and hand them back. The conformance suite in `conformance.rs` runs against any
//! implementation.

use std::future::Future;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::envelope::Envelope;
use crate::store::error::Result;
use crate::store::events::Event;
use crate::store::ids::StreamId;

/// An opaque, totally ordered position in the global log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    major: u64,
    minor: u64,
}

impl Position {
    /// Before the first event.
    pub const START: Position = Position { major: 0, minor: 0 };

    /// Build a position from backend-specific parts (sled: `(0, seq)`).
    pub fn from_parts(major: u64, minor: u64) -> Self {
        Position { major, minor }
    }

    /// The backend-specific parts.
    pub fn parts(&self) -> (u64, u64) {
        (self.major, self.minor)
    }

    /// A string token for clients (e.g. an SSE `Last-Event-ID`).
    pub fn to_token(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// Parse a token made by [`Position::to_token`].
    pub fn from_token(token: &str) -> Option<Self> {
        let (a, b) = token.split_once('.')?;
        Some(Position {
            major: a.parse().ok()?,
            minor: b.parse().ok()?,
        })
    }
}

/// Optimistic concurrency check for one stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must be at exactly this version (0 = the stream does not exist yet).
    Exact(u64),
}

impl ExpectedVersion {
    /// The stream must not exist yet.
    pub const NO_STREAM: ExpectedVersion = ExpectedVersion::Exact(0);
}

/// An event to append, with its caller-chosen id (the idempotency key).
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event: Event,
}

impl NewEvent {
    /// An event with a fresh v7 id.
    pub fn new(event: Event) -> Self {
        NewEvent {
            event_id: Uuid::now_v7(),
            event,
        }
    }

    /// An event with a given id (a retried command reuses its id).
    pub fn with_id(event_id: Uuid, event: Event) -> Self {
        NewEvent { event_id, event }
    }
}

/// Events for one stream within an append.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamAppend {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// An atomic append to one or more streams: all events commit together or none do.
#[derive(Clone, Debug, PartialEq)]
pub struct AppendRequest {
    pub streams: Vec<StreamAppend>,
}

impl AppendRequest {
    /// Append `events` to a single stream.
    pub fn single(stream: StreamId, expected: ExpectedVersion, events: Vec<NewEvent>) -> Self {
        AppendRequest {
            streams: vec![StreamAppend {
                stream,
                expected,
                events,
            }],
        }
    }

    /// Number of events in the request.
    pub fn len(&self) -> usize {
        self.streams.iter().map(|s| s.events.len()).sum()
    }

    /// True when the request holds no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where one stream's events landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamOutcome {
    pub stream: StreamId,
    pub first_version: u64,
    pub last_version: u64,
}

/// The result of an acknowledged (durable) append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendOutcome {
    pub streams: Vec<StreamOutcome>,
    /// Global sequence numbers of the first and last event of the request.
    pub first_seq: u64,
    pub last_seq: u64,
    /// Position of the last event (resume a subscription from here to skip this append).
    pub position: Position,
    /// True when every event id was already recorded: nothing new was written and these are
    /// the original positions.
    pub duplicate: bool,
}

impl AppendOutcome {
    /// The last version of `stream` written by this append.
    pub fn version_of(&self, stream: &StreamId) -> Option<u64> {
        self.streams
            .iter()
            .find(|s| &s.stream == stream)
            .map(|s| s.last_version)
    }
}

/// A page of the global log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogPage {
    pub events: Vec<Envelope>,
    /// Position after the last returned event (pass it back to continue).
    pub next: Position,
}

/// A durable, append-only event log.
pub trait EventStore: Send + Sync {
    /// The subscription type.
    type Subscription: EventSubscription;

    /// Append atomically; resolves once the events are durable (or are duplicates of durable
    /// events). Conflicts, busy queues and storage failures are typed errors.
    fn append(&self, req: AppendRequest) -> impl Future<Output = Result<AppendOutcome>> + Send;

    /// Events of one stream with version >= `from_version` (1-based), at most `limit`.
    fn read_stream(
        &self,
        stream: StreamId,
        from_version: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Envelope>>> + Send;

    /// Events of the whole log after `after`, in commit order, at most `limit`.
    fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> impl Future<Output = Result<LogPage>> + Send;

    /// Current version of a stream (0 when it does not exist).
    fn stream_version(&self, stream: StreamId) -> impl Future<Output = Result<u64>> + Send;

    /// Position of the last durable event.
    fn head(&self) -> Position;

    /// Every event after `after`, in commit order, without gaps.
    fn subscribe(&self, after: Position) -> Self::Subscription;
}

/// A resumable feed of the log.
pub trait EventSubscription: Send {
    /// Wait for and return the next events (at most `max`, at least one). Returns
    /// `Err(StoreError::Closed)` once the store is closed and everything was delivered.
    fn next_batch(&mut self, max: usize) -> impl Future<Output = Result<Vec<Envelope>>> + Send;

    /// Position after the last delivered event; subscribe from it to resume.
    fn position(&self) -> Position;
}
