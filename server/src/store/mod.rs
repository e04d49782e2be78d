//! The event-sourced core: an append-only log, the projections folded from it, time travel,
//! branching, exports and backup. Three parts:
//!
//! * **The event schema** — what the log holds, whatever engine stores it: `events/` (the
//!   catalogue, frozen payload versions, upcasting), `envelope.rs`, `codec.rs` (the CRC'd
//!   record), `ids.rs`; and the contract every engine meets, `backend.rs` ([`EventStore`]).
//! * **The log engines** — `sled/` (the embedded default: writer thread, open/verify, manifest,
//!   subscriptions, artifact collection) and `postgres/` (a shared database with the job queue);
//!   `hosted/` is the server's [`LogStore`] over either, with live projections.
//! * **Developer tools** — `devtools/` (the store benchmark, the torture child, the synthetic
//!   workload and the backend-neutral conformance suite).
//!
//! Start with [`SledStore::open`] or [`LogStore`]; append with the [`EventStore`] trait or
//! [`LogStore::append_async`]; read projections with [`LogStore::with_projections`] and
//! [`LogStore::session_at`]; fork with [`fork::fork_session`]. `docs/ARCHITECTURE.md` of the
//! product describes the guarantees.

pub mod append;
pub mod artifact_refs;
pub mod backend;
pub mod backup;
pub mod cli;
pub mod codec;
pub mod devtools;
pub mod envelope;
pub mod error;
pub mod events;
pub mod export;
pub mod fork;
pub mod hosted;
pub mod ids;
pub mod postgres;
pub mod projections;
pub mod purge;
pub(crate) mod replay_cache;
pub mod sled;
pub mod util;

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
pub use postgres::PgStore;
pub use projections::{AsOf, Projections, SessionDetail, SessionSummary};
pub use sled::open::{rewrite_manifest, verify_data_dir, StoreOptions, VerifyReport};
pub use sled::store::SledStore;
pub use sled::subscribe::Subscription;
