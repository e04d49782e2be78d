//! Submitting feedback: the mode must be the session's, the round must be the session's latest
//! round awaiting feedback (409 otherwise: the reference accepted stale rounds), every referenced
//! candidate must be in it; then the updater moves z, convergence is evaluated, and feedback and
//! update are recorded in one append checked against the session's version.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::history;
use super::jobs::{Completion, Failure, JobKind, NewJob};
use super::steering_inputs::{steering_inputs, SteeringInputs};
use super::{ServiceError, ServiceResult, Services};
use crate::artifacts::content_hash;
use crate::steering::feedback::{check_round_accepts_feedback, RoundState};
use crate::steering::kinds::FeedbackMode;
use crate::steering::step::{apply_feedback, StepError};
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
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FeedbackRequest {
    /// The session's feedback mode.
    #[schemars(schema_with = "crate::http::openapi::feedback_modes")]
    pub feedback_type: String,
    #[serde(default)]
    pub payload: Value,
    #[serde(default)]
    #[schemars(length(max = 4000))]
    pub critique_text: Option<String>,
    #[serde(default)]
    pub dimension_ratings: BTreeMap<String, BTreeMap<String, i64>>,
    #[serde(default)]
    pub dimension_priorities: BTreeMap<String, BTreeMap<String, i64>>,
    #[serde(default)]
    pub negative_pins: BTreeMap<String, Vec<String>>,
}

/// What feedback returns (the reference's `FeedbackResponse` plus the round and convergence).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FeedbackResponse {
    pub update_summary: Value,
    pub next_incumbent_state: Vec<f64>,
    pub session_id: Uuid,
    pub round_id: Uuid,
    pub winner_candidate_id: String,
    pub converged: bool,
    pub convergence: Value,
}

/// Feedback checked and applied, ready to append: the payload of an async feedback job, so the
/// update is computed once, when the request is accepted, and the job only records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreparedFeedback {
    /// The session.
    pub session_id: Uuid,
    /// The session stream's version the update was computed at.
    pub expected_version: u64,
    /// `feedback.submitted` and `incumbent.updated`.
    pub events: Vec<Event>,
    /// What the request answers.
    pub response: FeedbackResponse,
}

impl PreparedFeedback {
    fn append(&self) -> StreamAppend {
        StreamAppend {
            stream: StreamId::Session(self.session_id),
            expected: ExpectedVersion::Exact(self.expected_version),
            events: self.events.iter().cloned().map(NewEvent::new).collect(),
        }
    }
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
        if let Some(active) = self.active_job(session_id) {
            return Err(ServiceError::conflict(format!(
                "session {session_id} has a job in progress ({active})"
            )));
        }
        let prepared = self.prepare_feedback(session_id, round_id, &request)?;
        self.store
            .append_async(AppendRequest {
                streams: vec![prepared.append()],
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
        let prepared = self.prepare_feedback(session_id, round_id, &request)?;
        let body = serde_json::to_string(&prepared)
            .map_err(|e| ServiceError::internal(format!("feedback job payload: {e}")))?;
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

    /// Records a feedback job's update, computed when the job was queued.
    pub(crate) async fn execute_feedback(&self, job: &JobView) -> Result<Completion, Failure> {
        let prepared: PreparedFeedback = match serde_json::from_str(&job.settings_json) {
            Ok(p) => p,
            Err(_) => self.legacy_feedback_job(job)?,
        };
        Ok(Completion {
            result: serde_json::to_value(&prepared.response).unwrap_or(Value::Null),
            extra: vec![prepared.append()],
        })
    }

    /// A feedback job queued before jobs carried their computed update (`{round_id, request}`):
    /// it is computed now.
    fn legacy_feedback_job(&self, job: &JobView) -> Result<PreparedFeedback, Failure> {
        #[derive(Deserialize)]
        struct Legacy {
            round_id: Uuid,
            request: FeedbackRequest,
        }
        let legacy: Legacy = serde_json::from_str(&job.settings_json)
            .map_err(|e| Failure::new(format!("unreadable feedback job: {e}")))?;
        let session_id = job
            .session_id
            .ok_or_else(|| Failure::new("feedback job without a session"))?;
        self.prepare_feedback(session_id, legacy.round_id, &legacy.request)
            .map_err(|e| Failure::new(e.message))
    }

    fn prepare_feedback(
        &self,
        session_id: Uuid,
        round_id: Uuid,
        request: &FeedbackRequest,
    ) -> ServiceResult<PreparedFeedback> {
        let inputs = steering_inputs(&self.store, session_id)?;
        history::with_session(&self.store, session_id, |detail| {
            prepare_feedback_on(detail, &inputs, round_id, request)
        })
    }
}

/// Validates feedback against the session's projection and computes the update with the
/// steering domain's one feedback step.
fn prepare_feedback_on(
    detail: &SessionDetail,
    inputs: &SteeringInputs,
    round_id: Uuid,
    request: &FeedbackRequest,
) -> ServiceResult<PreparedFeedback> {
    let session_id = detail.session_id;
    if detail.version != inputs.version {
        return Err(ServiceError::conflict(
            "the session changed while the feedback was being applied; try again",
        ));
    }
    let config = &inputs.config;
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
    if !request.payload.is_object() {
        return Err(ServiceError::invalid(
            "payload",
            "payload must be a JSON object",
        ));
    }
    if inputs.rounds.last().map(|r| r.record.id.as_str()) != Some(round_id.to_string().as_str()) {
        return Err(ServiceError::conflict(
            "this round is not the session's round awaiting feedback",
        ));
    }
    let outcome =
        apply_feedback(&inputs.history(), submitted, &request.payload).map_err(step_error)?;
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
    let report = &outcome.convergence;
    let winner: Option<Uuid> = outcome.winner_candidate_id.parse().ok();
    let critique_tags = outcome
        .normalized
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
    let summary = Value::Object(outcome.summary.clone());
    let convergence = serde_json::to_value(report).unwrap_or(Value::Null);
    let events = vec![
        Event::FeedbackSubmitted(FeedbackSubmitted {
            round_id: Id(round_id),
            feedback_type: submitted.as_str().to_string(),
            raw_json: request.payload.to_string(),
            normalized_json: serde_json::to_string(&outcome.normalized).unwrap_or_default(),
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
    Ok(PreparedFeedback {
        session_id,
        expected_version: detail.version,
        events,
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

/// A domain step's refusal as a request error naming the field.
fn step_error(e: StepError) -> ServiceError {
    match e {
        StepError::Feedback(f) => f.into(),
        other => ServiceError::invalid(&other.field(), other.to_string()),
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
