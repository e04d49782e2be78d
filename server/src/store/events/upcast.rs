//! Decoding of stored payloads of any supported schema version, upcasting old versions to the
//! current shape.
//!
//! To change a payload: freeze the new struct as `vN`, bump the version in the catalogue, add a
//! `(type, old version)` arm below that decodes the old struct and converts it, and commit a
//! golden fixture of the new version (the old fixture stays and keeps testing this arm).

use crate::store::codec;
use crate::store::error::DecodeError;
use crate::store::events::{v1, v2, Event, EventType};

/// Decode `bytes` stored as `version` of `ty`, upcasting to the current shape.
pub fn decode_payload(ty: EventType, version: u16, bytes: &[u8]) -> Result<Event, DecodeError> {
    if version == ty.current_version() {
        return Event::decode_current(ty, bytes);
    }
    match (ty, version) {
        (EventType::FeedbackSubmitted, 1) => {
            let old = codec::decode_exact::<v1::FeedbackSubmittedV1>(bytes).map_err(|e| {
                DecodeError::Payload {
                    event_type: ty.name(),
                    version,
                    reason: e.to_string(),
                }
            })?;
            Ok(Event::FeedbackSubmitted(feedback_v1_to_v2(old)))
        }
        _ => Err(DecodeError::UnsupportedSchemaVersion {
            event_type: ty.name(),
            version,
        }),
    }
}

/// v1 feedback had no negative pins; they upcast to "none".
pub fn feedback_v1_to_v2(old: v1::FeedbackSubmittedV1) -> v2::FeedbackSubmittedV2 {
    v2::FeedbackSubmittedV2 {
        round_id: old.round_id,
        feedback_type: old.feedback_type,
        raw_json: old.raw_json,
        normalized_json: old.normalized_json,
        critique_text: old.critique_text,
        critique_tags: old.critique_tags,
        dimension_ratings: old.dimension_ratings,
        dimension_priorities: old.dimension_priorities,
        negative_pins: Vec::new(),
    }
}
