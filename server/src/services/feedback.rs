//! Submitting feedback: the mode must be the session's, the round must be the session's latest
//! round awaiting feedback (409 otherwise: the reference accepted stale rounds), every referenced
//! candidate must be in it; then the updater moves z, convergence is evaluated, and feedback and
//! update are recorded in one append checked against the session's version.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::history;
use super::jobs::{Completion, Failure, JobKind, NewJob};
use super::{ServiceError, ServiceResult, Services};
use crate::artifacts::content_hash;
use crate::steering::convergence::evaluate_convergence;
use crate::steering::feedback::{check_round_accepts_feedback, normalize_for_round, RoundState};
use crate::steering::kinds::FeedbackMode;
use crate::steering::updaters::{update, UpdateCandidate};
use crate::store::events::{
    CandidateDimensions, CandidateTags, DimensionValue, FeedbackSubmitted, IncumbentUpdated,
};
use crate::store::projections::jobs::JobView;
use crate::store::projections::session::{RoundStatus, SessionDetail};
use crate::store::{AppendRequest, Event, ExpectedVersion, Id, NewEvent, StreamAppend, StreamId};

/// Longest critique text accepted.
pub const MAX_CRITIQUE_CHARS: usize = 4000;
/// Longest tag or dimension name.
pub const MAX_TAG_CHARS: usize = 64;

/// The body of `POST /rounds/{id}/feedback` (the reference's `FeedbackRequest`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedbackRequest {
    pub feedback_type: String,
    #[serde(default)]
    pub payload: Value,
    #[serde(default)]
    pub critique_text: Option<String>,
    #[serde(default)]
    pub dimension_ratings: BTreeMap<String, BTreeMap<String, i64>>,
    #[serde(default)]
    pub dimension_priorities: BTreeMap<String, BTreeMap<String, i64>>,
    #[serde(default)]
    pub negative_pins: BTreeMap<String, Vec<String>>,
}

/// What feedback returns (the reference's `FeedbackResponse` plus the round and convergence).
#[derive(Debug, Clone, Serialize)]
pub struct FeedbackResponse {
    pub update_summary: Value,
    pub next_incumbent_state: Vec<f64>,
    pub session_id: Uuid,
    pub round_id: Uuid,
    pub winner_candidate_id: String,
    pub converged: bool,
    pub convergence: Value,
}

struct Prepared {
    append: StreamAppend,
    response: FeedbackResponse,
}

impl Services {
    /// Applies feedback synchronously.
    pub async fn submit_feedback(
        self: &Arc<Self>,
        round_id: Uuid,
        request: FeedbackRequest,
    ) -> ServiceResult<FeedbackResponse> {
        let session_id = self
            .session_of_round(round_id)
            .ok_or_else(|| ServiceError::not_found("round", round_id))?;
        if let Some(active) = self
            .control
            .lock()
            .ok()
            .and_then(|c| c.by_session.get(&session_id).copied())
        {
            return Err(ServiceError::conflict(format!(
                "session {session_id} has a job in progress ({active})"
            )));
        }
        let prepared = self.prepare_feedback(session_id, round_id, &request)?;
        self.store
            .append_async(AppendRequest {
                streams: vec![prepared.append],
            })
            .await?;
        Ok(prepared.response)
    }

    /// Validates feedback now (so errors are immediate) and queues its application as a job.
    pub async fn queue_feedback(
        self: &Arc<Self>,
        round_id: Uuid,
        request: FeedbackRequest,
    ) -> ServiceResult<Uuid> {
        let session_id = self
            .session_of_round(round_id)
            .ok_or_else(|| ServiceError::not_found("round", round_id))?;
        self.prepare_feedback(session_id, round_id, &request)?;
        let body = json!({"round_id": round_id, "request": request}).to_string();
        self.enqueue(
            NewJob {
                job_id: Uuid::now_v7(),
                kind: JobKind::SubmitFeedback,
                session_id: Some(session_id),
                settings_hash: content_hash(body.as_bytes()),
                settings_json: body,
            },
            Vec::new(),
        )
        .await
    }

    pub(crate) async fn execute_feedback(&self, job: &JobView) -> Result<Completion, Failure> {
        let body: Value =
            serde_json::from_str(&job.settings_json).map_err(|e| Failure::new(e.to_string()))?;
        let round_id: Uuid = body
            .get("round_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Failure::new("feedback job without a round id"))?;
        let request: FeedbackRequest =
            serde_json::from_value(body.get("request").cloned().unwrap_or(Value::Null))
                .map_err(|e| Failure::new(e.to_string()))?;
        let session_id = job
            .session_id
            .ok_or_else(|| Failure::new("feedback job without a session"))?;
        let prepared = self
            .prepare_feedback(session_id, round_id, &request)
            .map_err(|e| Failure::new(e.message))?;
        Ok(Completion {
            result: serde_json::to_value(&prepared.response).unwrap_or(Value::Null),
            extra: vec![prepared.append],
        })
    }

    fn prepare_feedback(
        &self,
        session_id: Uuid,
        round_id: Uuid,
        request: &FeedbackRequest,
    ) -> ServiceResult<Prepared> {
        history::with_session(&self.store, session_id, |detail| {
            prepare_feedback_on(detail, session_id, round_id, request)
        })
    }
}

/// Validates feedback against the session's projection and computes the update.
fn prepare_feedback_on(
    detail: &SessionDetail,
    session_id: Uuid,
    round_id: Uuid,
    request: &FeedbackRequest,
) -> ServiceResult<Prepared> {
    {
        let config = history::config_of(detail)?;
        let submitted = FeedbackMode::parse(&request.feedback_type).ok_or_else(|| {
            ServiceError::invalid(
                "feedback_type",
                format!(
                    "unknown feedback type `{}` (expected one of: {})",
                    request.feedback_type,
                    FeedbackMode::names().join(", ")
                ),
            )
        })?;
        let round = detail
            .rounds
            .iter()
            .rev()
            .find(|r| r.round_id == round_id)
            .ok_or_else(|| ServiceError::not_found("round", round_id))?;
        if round.calibration {
            return Err(ServiceError::invalid(
                "round_id",
                "this is the calibration round; submit it with /style-calibration/submit",
            ));
        }
        crate::steering::feedback::check_mode(config.feedback_mode, submitted)?;
        let latest = history::latest_round(detail).map_or(0, |r| r.index);
        check_round_accepts_feedback(RoundState {
            target_round_index: round.index,
            latest_round_index: latest,
            session_awaiting_feedback: history::awaiting_feedback(detail)
                && round.status == RoundStatus::AwaitingFeedback,
            round_has_feedback: round.feedback.is_some(),
        })?;
        let ids: Vec<String> = round
            .candidates
            .iter()
            .map(|c| c.candidate.candidate_id.0.to_string())
            .collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        if !request.payload.is_object() {
            return Err(ServiceError::invalid(
                "payload",
                "payload must be a JSON object",
            ));
        }
        let normalized =
            normalize_for_round(config.feedback_mode, submitted, &request.payload, &id_refs)?;
        let dimension_ratings =
            dimension_values(&request.dimension_ratings, &ids, "dimension_ratings", 1, 5)?;
        let dimension_priorities = dimension_values(
            &request.dimension_priorities,
            &ids,
            "dimension_priorities",
            1,
            64,
        )?;
        let negative_pins = tag_lists(&request.negative_pins, &ids, "negative_pins")?;
        if let Some(text) = &request.critique_text {
            if text.chars().count() > MAX_CRITIQUE_CHARS {
                return Err(ServiceError::invalid(
                    "critique_text",
                    format!("critique_text is longer than {MAX_CRITIQUE_CHARS} characters"),
                ));
            }
        }

        let current_z = history::current_z(detail, &config);
        let candidates: Vec<UpdateCandidate> = round
            .candidates
            .iter()
            .map(|c| UpdateCandidate {
                id: c.candidate.candidate_id.0.to_string(),
                z: c.candidate.z.clone(),
                carried_forward: history::generation_params(&c.candidate)
                    .get("carried_forward")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
            .collect();
        let outcome = update(
            config.updater,
            &current_z,
            config.trust_radius,
            &candidates,
            &normalized,
        )
        .map_err(|e| ServiceError::invalid(e.field(), e.to_string()))?;
        let mut records = history::round_records(detail);
        if let Some(last) = records
            .iter_mut()
            .rev()
            .find(|r| r.id == round_id.to_string())
        {
            last.winner_candidate_id = Some(outcome.winner_candidate_id.clone());
        }
        let report = evaluate_convergence(&config, &outcome.next_z, &records);
        let winner: Option<Uuid> = outcome.winner_candidate_id.parse().ok();
        let critique_tags = normalized
            .critique_tags
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(id, tags)| {
                Some(CandidateTags {
                    candidate_id: Id(id.parse().ok()?),
                    tags,
                })
            })
            .collect();
        let summary = serde_json::Value::Object(outcome.summary.clone());
        let convergence = serde_json::to_value(&report).unwrap_or(Value::Null);
        let events = vec![
            Event::FeedbackSubmitted(FeedbackSubmitted {
                round_id: Id(round_id),
                feedback_type: submitted.as_str().to_string(),
                raw_json: request.payload.to_string(),
                normalized_json: serde_json::to_string(&normalized).unwrap_or_default(),
                critique_text: request.critique_text.clone(),
                critique_tags,
                dimension_ratings,
                dimension_priorities,
                negative_pins,
            }),
            Event::IncumbentUpdated(IncumbentUpdated {
                round_id: Id(round_id),
                next_z: outcome.next_z.clone(),
                winner_candidate_id: winner.map(Id),
                converged: report.converged,
                rounds_to_convergence: report.rounds_to_convergence,
                update_summary_json: summary.to_string(),
                convergence_json: convergence.to_string(),
            }),
        ];
        Ok(Prepared {
            append: StreamAppend {
                stream: StreamId::Session(session_id),
                expected: ExpectedVersion::Exact(detail.version),
                events: events.into_iter().map(NewEvent::new).collect(),
            },
            response: FeedbackResponse {
                update_summary: summary,
                next_incumbent_state: outcome.next_z,
                session_id,
                round_id,
                winner_candidate_id: outcome.winner_candidate_id,
                converged: report.converged,
                convergence,
            },
        })
    }
}

fn check_candidate(id: &str, ids: &[String], field: &str) -> ServiceResult<Id> {
    if !ids.iter().any(|i| i == id) {
        return Err(ServiceError::invalid(
            field,
            format!("{field} references a candidate that is not in this round: {id}"),
        ));
    }
    id.parse()
        .map(Id)
        .map_err(|_| ServiceError::invalid(field, format!("{field}: malformed id {id}")))
}

fn check_name(name: &str, field: &str) -> ServiceResult<()> {
    if name.is_empty() || name.chars().count() > MAX_TAG_CHARS {
        return Err(ServiceError::invalid(
            field,
            format!("{field}: names must have 1 to {MAX_TAG_CHARS} characters"),
        ));
    }
    Ok(())
}

fn dimension_values(
    map: &BTreeMap<String, BTreeMap<String, i64>>,
    ids: &[String],
    field: &str,
    min: i64,
    max: i64,
) -> ServiceResult<Vec<CandidateDimensions>> {
    let mut out = Vec::new();
    for (candidate, dims) in map {
        let candidate_id = check_candidate(candidate, ids, field)?;
        let mut values = Vec::new();
        for (dimension, value) in dims {
            check_name(dimension, field)?;
            if !(min..=max).contains(value) {
                return Err(ServiceError::invalid(
                    field,
                    format!("{field}.{candidate}.{dimension} must be between {min} and {max}, got {value}"),
                ));
            }
            values.push(DimensionValue {
                dimension: dimension.clone(),
                value: *value as i32,
            });
        }
        out.push(CandidateDimensions {
            candidate_id,
            values,
        });
    }
    Ok(out)
}

fn tag_lists(
    map: &BTreeMap<String, Vec<String>>,
    ids: &[String],
    field: &str,
) -> ServiceResult<Vec<CandidateTags>> {
    let mut out = Vec::new();
    for (candidate, tags) in map {
        let candidate_id = check_candidate(candidate, ids, field)?;
        for tag in tags {
            check_name(tag, field)?;
        }
        out.push(CandidateTags {
            candidate_id,
            tags: tags.clone(),
        });
    }
    Ok(out)
}
