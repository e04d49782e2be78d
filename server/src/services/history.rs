//! Reading a session's history from its projection in the shapes the steering domain takes:
//! the frozen config, the effective round counter and the completed rounds as `RoundRecord`s
//! (failed rounds left out; a fork's inherited incumbent included so the next round carries it).

use serde_json::{Map, Value};
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::steering::composition::{RoundCandidate, RoundRecord};
use crate::steering::config::StrategyConfig;
use crate::store::events::Candidate;
use crate::store::projections::session::{RoundStatus, RoundView, SessionDetail, SessionStatus};

/// RFC 3339 UTC text of a microsecond timestamp.
pub fn iso(us: i64) -> String {
    crate::store::util::rfc3339_us(us)
}

/// The session's frozen config.
pub fn config_of(detail: &SessionDetail) -> ServiceResult<StrategyConfig> {
    let value: Value = serde_json::from_str(&detail.config_json)
        .map_err(|e| ServiceError::internal(format!("stored config is unreadable: {e}")))?;
    StrategyConfig::from_json(&value)
        .map_err(|e| ServiceError::internal(format!("stored config is invalid: {e}")))
}

/// `current_z`, zeros until the first update.
pub fn current_z(detail: &SessionDetail, config: &StrategyConfig) -> Vec<f64> {
    if detail.current_z.is_empty() {
        vec![0.0; config.steering_dimension as usize]
    } else {
        detail.current_z.clone()
    }
}

/// Rounds that count: not calibration, not failed.
pub fn live_rounds(detail: &SessionDetail) -> impl Iterator<Item = &RoundView> {
    detail
        .rounds
        .iter()
        .filter(|r| !r.calibration && !matches!(r.status, RoundStatus::Failed(_)))
}

/// The index of the last round that counts (a fork starts at its fork round).
pub fn effective_round(detail: &SessionDetail) -> u32 {
    let own = live_rounds(detail).map(|r| r.index).max();
    let inherited = detail.lineage.parent.as_ref().map(|p| p.round);
    own.or(inherited).unwrap_or(0)
}

/// The latest round that counts.
pub fn latest_round(detail: &SessionDetail) -> Option<&RoundView> {
    live_rounds(detail).last()
}

/// Whether the session is waiting for feedback on its latest round.
pub fn awaiting_feedback(detail: &SessionDetail) -> bool {
    detail.status == SessionStatus::AwaitingFeedback
}

/// Parsed `generation_json` of a stored candidate.
pub fn generation_params(c: &Candidate) -> Map<String, Value> {
    match serde_json::from_str(&c.generation_json) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// A stored candidate in the domain's shape, with its image reference.
pub fn round_candidate(c: &Candidate, artifact: Option<&str>) -> RoundCandidate {
    let mut params = generation_params(c);
    let predicted_score = params.remove("predicted_score").and_then(|v| v.as_f64());
    let predicted_uncertainty = params
        .remove("predicted_uncertainty")
        .and_then(|v| v.as_f64());
    let stored_ref = params
        .remove("image_ref")
        .and_then(|v| v.as_str().map(str::to_string));
    RoundCandidate {
        id: c.candidate_id.0.to_string(),
        candidate_index: c.index as usize,
        z: c.z.clone(),
        role: c.role.clone(),
        seed: u64::from(c.seed),
        image_ref: artifact.map(str::to_string).or(stored_ref),
        predicted_score,
        predicted_uncertainty,
        generation_params: params,
    }
}

/// A stored candidate without its generation parameters (its image from its render).
pub(crate) fn light_candidate(c: &Candidate, artifact: Option<&str>) -> RoundCandidate {
    RoundCandidate {
        id: c.candidate_id.0.to_string(),
        candidate_index: c.index as usize,
        z: c.z.clone(),
        role: c.role.clone(),
        seed: u64::from(c.seed),
        image_ref: artifact.map(str::to_string),
        predicted_score: None,
        predicted_uncertainty: None,
        generation_params: Map::new(),
    }
}

/// The session's history as the steering domain reads it.
pub fn round_records(detail: &SessionDetail) -> Vec<RoundRecord> {
    let mut records = Vec::new();
    if let (Some(inc), Some(parent)) = (&detail.inherited_incumbent, &detail.lineage.parent) {
        records.push(RoundRecord {
            id: format!("fork-of-{}", parent.session_id),
            round_index: parent.round,
            incumbent_z: detail.current_z.clone(),
            // Its image was rendered in the parent; the carried copy reuses it.
            candidates: vec![round_candidate(
                inc,
                detail.inherited_incumbent_artifact.as_deref(),
            )],
            winner_candidate_id: Some(inc.candidate_id.0.to_string()),
        });
    }
    let live: Vec<&RoundView> = live_rounds(detail).collect();
    let newest = live.len().saturating_sub(1);
    for (position, round) in live.into_iter().enumerate() {
        // Only the newest round's candidates need their generation parameters (the carried
        // incumbent copies them); older rounds are read for z, winners and image keys only, so
        // skipping their JSON keeps composing a round flat in the length of the history.
        let full = position == newest;
        records.push(RoundRecord {
            id: round.round_id.to_string(),
            round_index: round.index,
            incumbent_z: round.incumbent_z.clone(),
            candidates: round
                .candidates
                .iter()
                .map(|c| {
                    let artifact = c.render.as_ref().map(|r| r.artifact_hash.as_str());
                    if full {
                        round_candidate(&c.candidate, artifact)
                    } else {
                        light_candidate(&c.candidate, artifact)
                    }
                })
                .collect(),
            winner_candidate_id: round
                .update
                .as_ref()
                .and_then(|u| u.update.winner_candidate_id.map(|w| w.0.to_string())),
        });
    }
    records
}

/// Runs `f` on a live session's projection without copying it (the hot paths must not clone a
/// 300-round history per request), or answers 404. `f` runs under the projections' read lock:
/// it must not append or wait.
pub fn with_session<R>(
    store: &crate::store::LogStore,
    session_id: Uuid,
    f: impl FnOnce(&SessionDetail) -> ServiceResult<R>,
) -> ServiceResult<R> {
    store.with_projections(|p| match p.sessions.get(&session_id) {
        Some(d) if !d.deleted && super::principal::may_see(d.owner.as_deref()) => f(d),
        _ => Err(ServiceError::not_found("session", session_id)),
    })
}

/// Loads a live session or answers 404.
pub fn require_session(
    store: &crate::store::LogStore,
    session_id: Uuid,
) -> ServiceResult<SessionDetail> {
    match store.session(session_id) {
        Some(d) if !d.deleted && super::principal::may_see(d.owner.as_deref()) => Ok(d),
        _ => Err(ServiceError::not_found("session", session_id)),
    }
}
