//! The event-sourced core: a durable append-only log on sled, projections, time travel,
//! branching, exports, backup and the store benchmark.
//!
//! Start with [`SledStore::open`]; append with [`SledStore::append_blocking`] /
//! [`SledStore::append_async`] (or the backend-neutral [`EventStore`] trait); read projections
//! with [`SledStore::sessions`], [`SledStore::session`], [`SledStore::session_at`]; fork with
//! [`SledStore::fork_session`]; subscribe with [`SledStore::subscribe_after`].
//! `docs/ARCHITECTURE.md` of the product describes the guarantees.

pub mod append;
pub mod artifact_refs;
pub mod backend;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod codec;
pub mod conformance;
pub mod envelope;
pub mod error;
pub mod events;
pub mod export;
pub mod fork;
pub mod gc;
pub mod hosted;
pub mod ids;
pub mod keys;
pub mod manifest;
pub mod open;
pub mod postgres;
pub mod projections;
pub mod purge;
pub(crate) mod replay_cache;
pub mod scan;
pub mod sled_store;
pub mod subscribe;
pub mod torture;
pub mod util;
pub mod verify;
pub mod workload;
pub(crate) mod writer;

pub use backend::{
    AppendOutcome, AppendRequest, EventStore, EventSubscription, ExpectedVersion, LogPage,
    NewEvent, Position, StreamAppend, StreamOutcome,
};
pub use envelope::Envelope;
pub use error::{DecodeError, InvalidEvent, StoreError};
pub use events::{Event, EventType};
pub use fork::{ForkOutcome, ForkRequest};
pub use hosted::{HostedPg, LogStore};
pub use ids::{Id, StreamId};
pub use open::{rewrite_manifest, verify_data_dir, StoreOptions, VerifyReport};
pub use postgres::PgStore;
pub use projections::{AsOf, Projections, SessionDetail, SessionSummary};
pub use sled_store::SledStore;
pub use subscribe::Subscription;
