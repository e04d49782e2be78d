//! Frozen schema-version-1 payloads.
//!
//! FROZEN: these structs are the on-disk format of every v1 record (bincode 2, standard
//! config: little endian, varint integers; fields in declaration order). Never reorder, retype,
//! add or remove a field here: add a `vN` struct, bump the type's current version in
//! `events/mod.rs` and write an upcaster in `events/upcast.rs`. The golden fixtures in
//! `tests/golden/` fail when this file drifts.
//!
//! Free-form structures (configs, generation settings, feedback payloads, update summaries,
//! convergence reports) are stored as canonical JSON text so their Rust types can evolve
//! without touching the log format.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::store::ids::Id;

/// One proposed candidate (also used for calibration candidates and fork snapshots).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct CandidateV1 {
    pub candidate_id: Id,
    pub index: u32,
    pub z: Vec<f64>,
    pub role: String,
    pub seed: u32,
    pub seed_group: u32,
    /// Per-candidate generation settings, JSON text.
    pub generation_json: String,
}

/// One named timing of a render, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct TimingV1 {
    pub name: String,
    pub ms: f64,
}

/// Tags attached to one candidate (critique tags, negative pins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct CandidateTagsV1 {
    pub candidate_id: Id,
    pub tags: Vec<String>,
}

/// One dimension's integer value (a rating or a priority).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct DimensionValueV1 {
    pub dimension: String,
    pub value: i32,
}

/// Dimension values given to one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct CandidateDimensionsV1 {
    pub candidate_id: Id,
    pub values: Vec<DimensionValueV1>,
}

/// One point of the incumbent trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct TrajectoryPointV1 {
    pub round_index: u32,
    pub z: Vec<f64>,
    pub winner_candidate_id: Option<Id>,
}

/// Where a forked session comes from, with the parent's steering state at the fork point so
/// the child stream is self-contained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct ForkOriginV1 {
    pub parent_session_id: Id,
    pub parent_round: u32,
    /// The parent's stream version at the fork point (end of `parent_round`).
    pub parent_version: u64,
    pub current_round: u32,
    pub current_z: Vec<f64>,
    /// The parent's incumbent candidate at the fork point (carried forward by the next round).
    pub incumbent: Option<CandidateV1>,
    pub incumbent_artifact_hash: Option<String>,
    pub converged: bool,
    pub rounds_to_convergence: Option<u32>,
    pub trajectory: Vec<TrajectoryPointV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct ExperimentCreatedV1 {
    pub experiment_id: Id,
    pub name: String,
    pub description: String,
    pub config_json: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct SessionCreatedV1 {
    pub session_id: Id,
    pub experiment_id: Option<Id>,
    pub prompt: String,
    pub negative_prompt: String,
    /// The full immutable session config snapshot, canonical JSON text.
    pub config_json: String,
    pub model_ref: String,
    pub parent: Option<ForkOriginV1>,
}

/// Appended to the parent's stream when a child is forked from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct SessionForkedV1 {
    pub child_session_id: Id,
    pub round: u32,
    pub parent_version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct CalibrationGeneratedV1 {
    pub round_id: Id,
    pub candidates: Vec<CandidateV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct CalibrationSubmittedV1 {
    pub round_id: Id,
    pub selected_candidate_ids: Vec<Id>,
    pub resulting_z: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct RoundRequestedV1 {
    pub round_id: Id,
    pub round_index: u32,
    pub job_id: Option<Id>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct CandidatesProposedV1 {
    pub round_id: Id,
    pub round_index: u32,
    pub incumbent_z: Vec<f64>,
    pub trust_radius: f64,
    pub seed_policy: String,
    pub candidates: Vec<CandidateV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct CandidateRenderedV1 {
    pub round_id: Id,
    pub candidate_id: Id,
    /// Content hash of the artifact (artifacts are addressed by hash only).
    pub artifact_hash: String,
    pub width: u32,
    pub height: u32,
    pub timings: Vec<TimingV1>,
    pub device: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct RoundReadyV1 {
    pub round_id: Id,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct RoundFailedV1 {
    pub round_id: Id,
    pub reason: String,
}

/// Feedback as first specified; superseded by `FeedbackSubmittedV2` (adds negative pins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct FeedbackSubmittedV1 {
    pub round_id: Id,
    pub feedback_type: String,
    pub raw_json: String,
    pub normalized_json: String,
    pub critique_text: Option<String>,
    pub critique_tags: Vec<CandidateTagsV1>,
    pub dimension_ratings: Vec<CandidateDimensionsV1>,
    pub dimension_priorities: Vec<CandidateDimensionsV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct IncumbentUpdatedV1 {
    pub round_id: Id,
    pub next_z: Vec<f64>,
    pub winner_candidate_id: Option<Id>,
    pub converged: bool,
    pub rounds_to_convergence: Option<u32>,
    pub update_summary_json: String,
    pub convergence_json: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct SessionDeletedV1 {
    pub reason: String,
}

/// The first successful answer to a request sent with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct RequestCompletedV1 {
    pub key: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The JSON body answered.
    pub body_json: String,
}

/// What a purged event was; its payload is gone. Written over the original record (same seq,
/// stream, version, id and time) when a deleted session is purged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct EventRedactedV1 {
    /// The original event's type code.
    pub original_type: u16,
    /// The session whose purge redacted it.
    pub purged_session: Id,
}

/// A deleted session was purged: its events were redacted and its images and traces removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct SessionPurgedV1 {
    pub events_redacted: u64,
    pub artifacts_removed: u64,
    pub bytes_removed: u64,
}

/// An API token was created. Only the BLAKE2b-256 of its secret is kept: the secret is shown
/// once, to whoever created it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct TokenCreatedV1 {
    pub token_id: Id,
    /// Whose token it is: the sessions it creates are theirs (`[A-Za-z0-9._-]`, 1..=64).
    pub user: String,
    /// Admins see and manage every user's sessions and tokens.
    pub admin: bool,
    /// What it is for (≤ 100 characters).
    pub label: String,
    /// Lowercase hex BLAKE2b-256 of the secret.
    pub secret_hash: String,
}

/// The user a session belongs to (appended with `session.created` when auth is on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct SessionOwnedV1 {
    pub user: String,
}

/// A user's password was set (`--auth accounts`): the PHC string of its Argon2id hash, never the
/// password itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct PasswordSetV1 {
    pub user: String,
    pub admin: bool,
    pub password_phc: String,
}

/// An API token was revoked; it no longer authenticates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct TokenRevokedV1 {
    pub token_id: Id,
}

/// Options posted to `/sdapi/v1/options` (A1111's `shared.opts`): the keys set, as a JSON
/// object (nulls and the checkpoint name left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct A1111OptionsSetV1 {
    pub options_json: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct JobQueuedV1 {
    pub job_id: Id,
    pub kind: String,
    pub session_id: Option<Id>,
    pub settings_hash: String,
    pub settings_json: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct JobStartedV1 {
    pub job_id: Id,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct JobFinishedV1 {
    pub job_id: Id,
    pub result_json: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct JobFailedV1 {
    pub job_id: Id,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct JobCancelledV1 {
    pub job_id: Id,
    pub reason: String,
}

/// The session's steering basis as the runner computed it from its recipe (wave 2). The axes
/// themselves are not stored (they are large and recomputable from the recipe); the summary the
/// steering domain and the UI read is: axis labels, the scale, each modifier's coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct BasisComputedV1 {
    /// BLAKE2b-256 of `recipe_json`.
    pub recipe_hash: String,
    /// The recipe, canonical JSON text.
    pub recipe_json: String,
    /// Labels, scale and modifier coordinates, canonical JSON text.
    pub summary_json: String,
    /// The device whose text encoder computed it.
    pub device: String,
}

/// The user asked for a new shared seed ("new seed", wave 2): rounds after it render with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct SeedRenewedV1 {
    /// 1 for the first renewal, then 2, ...
    pub epoch: u32,
    /// The new seed.
    pub seed: u32,
    /// The round counter when it was asked for.
    pub after_round: u32,
}
