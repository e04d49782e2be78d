//! Frozen schema-version-2 payloads (only the types that changed since v1).
//!
//! FROZEN, like `v1.rs`: never edit a struct here once released; add a `v3.rs` instead.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::store::events::v1::{CandidateDimensionsV1, CandidateTagsV1};
use crate::store::ids::Id;

/// Feedback v2: v1 plus the per-candidate negative pins of the reference data model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct FeedbackSubmittedV2 {
    pub round_id: Id,
    pub feedback_type: String,
    pub raw_json: String,
    pub normalized_json: String,
    pub critique_text: Option<String>,
    pub critique_tags: Vec<CandidateTagsV1>,
    pub dimension_ratings: Vec<CandidateDimensionsV1>,
    pub dimension_priorities: Vec<CandidateDimensionsV1>,
    #[serde(default)]
    pub negative_pins: Vec<CandidateTagsV1>,
}
