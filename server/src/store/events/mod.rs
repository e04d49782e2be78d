//! The event catalogue of the whole product.
//!
//! Every event has a frozen type code (stored in the envelope), a stable dotted name (used in
//! JSON exports) and a current schema version. Payloads are the store's own frozen structs
//! (`v1.rs`, `v2.rs`), independent of the steering code's types. Records written with an older
//! schema version are upcast to the current shape when read (`upcast.rs`).
//!
//! | code | name | current version | stream |
//! |---:|---|---:|---|
//! | 1 | experiment.created | 1 | experiment |
//! | 2 | session.created | 1 | session |
//! | 3 | session.forked | 1 | session (the parent) |
//! | 4 | calibration.generated | 1 | session |
//! | 5 | calibration.submitted | 1 | session |
//! | 6 | round.requested | 1 | session |
//! | 7 | candidates.proposed | 1 | session |
//! | 8 | candidate.rendered | 1 | session or generations |
//! | 9 | round.ready | 1 | session |
//! | 10 | round.failed | 1 | session |
//! | 11 | feedback.submitted | 2 | session |
//! | 12 | incumbent.updated | 1 | session |
//! | 13 | session.deleted | 1 | session |
//! | 14..18 | job.queued / started / finished / failed / cancelled | 1 | jobs |
//! | 19 | basis.computed | 1 | session |
//! | 20 | seed.renewed | 1 | session |
//! | 21 | request.completed | 1 | requests |
//! | 22 | a1111.options_set | 1 | generations |
//! | 23 | event.redacted | 1 | any (written over a purged session's records) |
//! | 24 | session.purged | 1 | session |
//! | 25 | token.created | 1 | access |
//! | 26 | token.revoked | 1 | access |
//! | 27 | session.owned | 1 | session |
//! | 28 | password.set | 1 | access |

pub mod upcast;
pub mod v1;
pub mod v2;
mod validate;

use serde::{Deserialize, Serialize};

pub use validate::{valid_user_name, validate_event};

use crate::store::codec;
use crate::store::error::DecodeError;

pub use v1::{
    CandidateDimensionsV1 as CandidateDimensions, CandidateTagsV1 as CandidateTags,
    CandidateV1 as Candidate, DimensionValueV1 as DimensionValue, ForkOriginV1 as ForkOrigin,
    TimingV1 as Timing, TrajectoryPointV1 as TrajectoryPoint,
};

/// Current payload shapes (aliases of the newest frozen version of each type).
pub type ExperimentCreated = v1::ExperimentCreatedV1;
pub type SessionCreated = v1::SessionCreatedV1;
pub type SessionForked = v1::SessionForkedV1;
pub type CalibrationGenerated = v1::CalibrationGeneratedV1;
pub type CalibrationSubmitted = v1::CalibrationSubmittedV1;
pub type RoundRequested = v1::RoundRequestedV1;
pub type CandidatesProposed = v1::CandidatesProposedV1;
pub type CandidateRendered = v1::CandidateRenderedV1;
pub type RoundReady = v1::RoundReadyV1;
pub type RoundFailed = v1::RoundFailedV1;
pub type FeedbackSubmitted = v2::FeedbackSubmittedV2;
pub type IncumbentUpdated = v1::IncumbentUpdatedV1;
pub type SessionDeleted = v1::SessionDeletedV1;
pub type JobQueued = v1::JobQueuedV1;
pub type JobStarted = v1::JobStartedV1;
pub type JobFinished = v1::JobFinishedV1;
pub type JobFailed = v1::JobFailedV1;
pub type JobCancelled = v1::JobCancelledV1;
pub type BasisComputed = v1::BasisComputedV1;
pub type SeedRenewed = v1::SeedRenewedV1;
pub type RequestCompleted = v1::RequestCompletedV1;
/// Current `a1111.options_set` payload.
pub type A1111OptionsSet = v1::A1111OptionsSetV1;
/// Current `event.redacted` payload.
pub type EventRedacted = v1::EventRedactedV1;
/// Current `session.purged` payload.
pub type SessionPurged = v1::SessionPurgedV1;
/// Current `token.created` payload.
pub type TokenCreated = v1::TokenCreatedV1;
/// Current `token.revoked` payload.
pub type TokenRevoked = v1::TokenRevokedV1;
/// Current `session.owned` payload.
pub type SessionOwned = v1::SessionOwnedV1;
/// Current `password.set` payload.
pub type PasswordSet = v1::PasswordSetV1;

macro_rules! catalogue {
    ($( $variant:ident => ($code:literal, $name:literal, $ver:literal, $payload:ty) ),* $(,)?) => {
        /// The type of an event; `code()` is frozen on disk, `name()` is used in exports.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType { $($variant),* }

        impl EventType {
            /// Every event type, in code order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            /// The frozen on-disk code.
            pub fn code(self) -> u16 {
                match self { $(EventType::$variant => $code),* }
            }

            /// The stable dotted name.
            pub fn name(self) -> &'static str {
                match self { $(EventType::$variant => $name),* }
            }

            /// The schema version new records of this type are written with.
            pub fn current_version(self) -> u16 {
                match self { $(EventType::$variant => $ver),* }
            }

            /// Look up a frozen code.
            pub fn from_code(code: u16) -> Option<Self> {
                match code { $($code => Some(EventType::$variant),)* _ => None }
            }

            /// Look up a dotted name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(EventType::$variant),)* _ => None }
            }
        }

        /// An event payload in its current shape.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", content = "payload")]
        pub enum Event {
            $( #[serde(rename = $name)] $variant($payload), )*
        }

        impl Event {
            /// The event's type.
            pub fn event_type(&self) -> EventType {
                match self { $(Event::$variant(_) => EventType::$variant),* }
            }

            /// Encode the payload with the current schema version.
            pub fn encode_payload(&self) -> Result<Vec<u8>, bincode::error::EncodeError> {
                match self { $(Event::$variant(p) => codec::encode(p)),* }
            }

            /// Decode a payload stored with the current schema version of `ty`.
            pub(crate) fn decode_current(ty: EventType, bytes: &[u8]) -> Result<Event, DecodeError> {
                match ty {
                    $(EventType::$variant => codec::decode_exact::<$payload>(bytes)
                        .map(Event::$variant)
                        .map_err(|e| DecodeError::Payload {
                            event_type: $name,
                            version: $ver,
                            reason: e.to_string(),
                        }),)*
                }
            }
        }
    };
}

catalogue! {
    ExperimentCreated => (1, "experiment.created", 1, ExperimentCreated),
    SessionCreated => (2, "session.created", 1, SessionCreated),
    SessionForked => (3, "session.forked", 1, SessionForked),
    CalibrationGenerated => (4, "calibration.generated", 1, CalibrationGenerated),
    CalibrationSubmitted => (5, "calibration.submitted", 1, CalibrationSubmitted),
    RoundRequested => (6, "round.requested", 1, RoundRequested),
    CandidatesProposed => (7, "candidates.proposed", 1, CandidatesProposed),
    CandidateRendered => (8, "candidate.rendered", 1, CandidateRendered),
    RoundReady => (9, "round.ready", 1, RoundReady),
    RoundFailed => (10, "round.failed", 1, RoundFailed),
    FeedbackSubmitted => (11, "feedback.submitted", 2, FeedbackSubmitted),
    IncumbentUpdated => (12, "incumbent.updated", 1, IncumbentUpdated),
    SessionDeleted => (13, "session.deleted", 1, SessionDeleted),
    JobQueued => (14, "job.queued", 1, JobQueued),
    JobStarted => (15, "job.started", 1, JobStarted),
    JobFinished => (16, "job.finished", 1, JobFinished),
    JobFailed => (17, "job.failed", 1, JobFailed),
    JobCancelled => (18, "job.cancelled", 1, JobCancelled),
    BasisComputed => (19, "basis.computed", 1, BasisComputed),
    SeedRenewed => (20, "seed.renewed", 1, SeedRenewed),
    RequestCompleted => (21, "request.completed", 1, RequestCompleted),
    A1111OptionsSet => (22, "a1111.options_set", 1, A1111OptionsSet),
    EventRedacted => (23, "event.redacted", 1, EventRedacted),
    SessionPurged => (24, "session.purged", 1, SessionPurged),
    TokenCreated => (25, "token.created", 1, TokenCreated),
    TokenRevoked => (26, "token.revoked", 1, TokenRevoked),
    SessionOwned => (27, "session.owned", 1, SessionOwned),
    PasswordSet => (28, "password.set", 1, PasswordSet),
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Event {
    /// The round id this event refers to, for session events that belong to a round.
    pub fn round_id(&self) -> Option<crate::store::ids::Id> {
        match self {
            Event::CalibrationGenerated(e) => Some(e.round_id),
            Event::CalibrationSubmitted(e) => Some(e.round_id),
            Event::RoundRequested(e) => Some(e.round_id),
            Event::CandidatesProposed(e) => Some(e.round_id),
            Event::CandidateRendered(e) => Some(e.round_id),
            Event::RoundReady(e) => Some(e.round_id),
            Event::RoundFailed(e) => Some(e.round_id),
            Event::FeedbackSubmitted(e) => Some(e.round_id),
            Event::IncumbentUpdated(e) => Some(e.round_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_round_trip() {
        let mut codes = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for &t in EventType::ALL {
            assert!(codes.insert(t.code()));
            assert!(names.insert(t.name()));
            assert_eq!(EventType::from_code(t.code()), Some(t));
            assert_eq!(EventType::from_name(t.name()), Some(t));
        }
        assert_eq!(EventType::ALL.len(), 28);
    }
}
