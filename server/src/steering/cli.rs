//! Pure functions behind `stablesteering steer …`: JSON in, JSON out, typed errors with the exit
//! code the CLI should use (2 for invalid feedback, 1 otherwise).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::steering::feedback::{
    normalize, validate_against_round, FeedbackError, FeedbackErrorKind, FeedbackMode,
};
use crate::steering::samplers::{propose, SamplerError, SamplerInput, SamplerKind};
use crate::steering::seeds::seed_token_strs;
use crate::steering::updaters::{update, UpdateCandidate, UpdateError, UpdaterKind};

/// A CLI failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SteerCliError {
    /// The request JSON is malformed or names an unknown sampler/updater.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// The request field concerned, when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The feedback failed normalization or validation (exit code 2).
    #[error("invalid feedback ({}): {}", .0.field, .0.message)]
    InvalidFeedback(FeedbackError),
    /// The sampler refused its input.
    #[error("sampler: {0}")]
    Sampler(#[from] SamplerError),
    /// The updater refused its input.
    #[error("updater: {0}")]
    Update(#[from] UpdateError),
}

impl SteerCliError {
    /// Process exit code: 2 for invalid feedback, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            SteerCliError::InvalidFeedback(_) => 2,
            _ => 1,
        }
    }

    /// The request field concerned, when known.
    pub fn field(&self) -> Option<String> {
        match self {
            SteerCliError::InvalidRequest { field, .. } => field.clone(),
            SteerCliError::InvalidFeedback(e) => Some(format!("feedback.{}", e.field)),
            SteerCliError::Sampler(e) => Some(e.field().to_string()),
            SteerCliError::Update(e) => Some(e.field().to_string()),
        }
    }
}

fn bad_request(field: Option<&str>, message: impl Into<String>) -> SteerCliError {
    SteerCliError::InvalidRequest {
        field: field.map(str::to_string),
        message: message.into(),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(input: &str) -> Result<T, SteerCliError> {
    serde_json::from_str(input).map_err(|e| bad_request(None, e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposeRequest {
    sampler: String,
    current_z: Vec<f64>,
    round_index: u32,
    candidate_count: usize,
    trust_radius: f64,
    seed: u64,
}

#[derive(Serialize)]
struct ProposedCandidate<'a> {
    z: &'a [f64],
    role: &'a str,
}

/// `steer propose`: the sampler's raw proposals, with the request seed used directly.
/// `round_index` is the session's `current_round` as the sampler sees it.
pub fn propose_json(input: &str) -> Result<String, SteerCliError> {
    let request: ProposeRequest = parse(input)?;
    let kind = SamplerKind::parse(&request.sampler).ok_or_else(|| {
        bad_request(
            Some("sampler"),
            format!(
                "unknown sampler '{}'; valid: {}",
                request.sampler,
                SamplerKind::names().join(", ")
            ),
        )
    })?;
    let proposals = propose(
        kind,
        &SamplerInput {
            current_z: &request.current_z,
            current_round: request.round_index,
            candidate_count: request.candidate_count,
            trust_radius: request.trust_radius,
        },
        request.seed,
    )?;
    let candidates: Vec<ProposedCandidate<'_>> = proposals
        .iter()
        .map(|p| ProposedCandidate {
            z: &p.z,
            role: &p.role,
        })
        .collect();
    let mut out = Map::new();
    out.insert(
        "candidates".into(),
        serde_json::to_value(candidates).unwrap_or_default(),
    );
    Ok(Value::Object(out).to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    feedback_type: String,
    payload: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    updater: String,
    current_z: Vec<f64>,
    trust_radius: f64,
    candidates: Vec<UpdateCandidate>,
    feedback: FeedbackBody,
}

/// `steer update`: normalization, round-membership validation and one update.
pub fn update_json(input: &str) -> Result<String, SteerCliError> {
    let request: UpdateRequest = parse(input)?;
    let kind = UpdaterKind::parse(&request.updater).ok_or_else(|| {
        bad_request(
            Some("updater"),
            format!(
                "unknown updater '{}'; valid: {}",
                request.updater,
                UpdaterKind::names().join(", ")
            ),
        )
    })?;
    let mode = FeedbackMode::parse(&request.feedback.feedback_type).ok_or_else(|| {
        SteerCliError::InvalidFeedback(FeedbackError {
            kind: FeedbackErrorKind::Invalid,
            field: "feedback_type".into(),
            message: format!(
                "unknown feedback_type '{}'; valid: {}",
                request.feedback.feedback_type,
                FeedbackMode::names().join(", ")
            ),
        })
    })?;
    let normalized =
        normalize(mode, &request.feedback.payload).map_err(SteerCliError::InvalidFeedback)?;
    let ids: Vec<&str> = request.candidates.iter().map(|c| c.id.as_str()).collect();
    validate_against_round(&normalized, &ids).map_err(SteerCliError::InvalidFeedback)?;
    let outcome = update(
        kind,
        &request.current_z,
        request.trust_radius,
        &request.candidates,
        &normalized,
    )?;
    Ok(serde_json::to_string(&outcome).unwrap_or_default())
}

/// `steer seed-token PART...`.
pub fn seed_token_cli(parts: &[String]) -> u32 {
    seed_token_strs(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propose_prints_raw_candidates() {
        let out = propose_json(
            r#"{"sampler":"exploit_orthogonal","current_z":[0,0,0,0,0],"round_index":0,"candidate_count":5,"trust_radius":0.55,"seed":12345}"#,
        );
        let value: Value = serde_json::from_str(&out.unwrap_or_default()).unwrap_or_default();
        let candidates = value["candidates"].as_array().cloned().unwrap_or_default();
        assert_eq!(candidates.len(), 5);
        assert_eq!(candidates[3]["role"], "mirror");
        let first = candidates[0]["z"][0].as_f64().unwrap_or_default();
        assert!((first - 0.170688).abs() < 1e-6);
        assert_eq!(candidates[0].as_object().map(|o| o.len()), Some(2));
    }

    #[test]
    fn update_round_trips_and_invalid_feedback_exits_2() {
        let request = r#"{"updater":"bradley_terry_preference","current_z":[0,0],"trust_radius":0.8,
            "candidates":[{"id":"c1","z":[0.6,0],"carried_forward":false},{"id":"c2","z":[0.22,0.48]},{"id":"c3","z":[-0.5,-0.1]}],
            "feedback":{"feedback_type":"scalar_rating","payload":{"ratings":{"c1":5,"c2":4,"c3":1}}}}"#;
        let value: Value =
            serde_json::from_str(&update_json(request).unwrap_or_default()).unwrap_or_default();
        assert_eq!(value["winner_candidate_id"], "c1");
        assert!((value["next_z"][0].as_f64().unwrap_or_default() - 0.316634).abs() < 1e-6);
        assert_eq!(value["summary"]["method"], "bradley_terry_softmax_center");

        let bad = request.replace("\"c3\":1", "\"c3\":9");
        let err = update_json(&bad).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(err.field().as_deref(), Some("feedback.payload.ratings.c3"));
        let foreign = request.replace("\"c3\":1", "\"zz\":1");
        assert_eq!(update_json(&foreign).unwrap_err().exit_code(), 2);
        let mode = request.replace("scalar_rating", "stars");
        assert_eq!(update_json(&mode).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn malformed_requests_exit_1_with_the_field() {
        let err = propose_json(r#"{"sampler":"nope","current_z":[0],"round_index":0,"candidate_count":1,"trust_radius":0.5,"seed":1}"#).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(err.field().as_deref(), Some("sampler"));
        assert!(err.to_string().contains("spherical_cover"));
        let err = propose_json(r#"{"sampler":"random_local","current_z":[],"round_index":0,"candidate_count":1,"trust_radius":0.5,"seed":1}"#).unwrap_err();
        assert_eq!(err.field().as_deref(), Some("current_z"));
        let err = propose_json(r#"{"sampler":"random_local","extra":1}"#).unwrap_err();
        assert!(matches!(err, SteerCliError::InvalidRequest { .. }));
        assert_eq!(
            seed_token_cli(&["ses_test".into(), "1".into(), "sampler".into()]),
            1301792348
        );
    }
}
