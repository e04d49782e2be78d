//! `stablesteering steer next`: a whole session as JSON in, the next round out, through exactly
//! the server's domain step ([`crate::steering::step`]), so any harness can drive sessions:
//!
//! in:  `{"config": {…yaml keys…}, "seed": N, "history": [{"candidates": [{"id", "z"}],
//!       "feedback": {"feedback_type", "payload"}}, …]}`
//! out: `{"round_index", "candidates": [{"id", "z", "role"}], "recommended_z"}`
//!
//! A missing `strategy` in `config` means `preference`, as for a new session. Candidates may
//! also carry the `role` and `seed` the previous output gave them (seed casting reads them).
//! Every error names its field; the CLI exits with code 2.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::steering::composition::{RoundCandidate, RoundRecord};
use crate::steering::config::StrategyConfig;
use crate::steering::feedback::FeedbackMode;
use crate::steering::preference::{shared_render_seed, NoTagDirections, SteeringRound, Tuning};
use crate::steering::step::{apply_feedback, next_round, History};

/// Most rounds a request may carry.
pub const MAX_ROUNDS: usize = 500;
/// Most candidates per round.
pub const MAX_CANDIDATES: usize = 64;

/// A refused request: the field and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct NextError {
    /// The request field concerned (`history[2].feedback.payload.ranking`, …).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> NextError {
    NextError {
        field: field.into(),
        message: message.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default)]
    config: Map<String, Value>,
    seed: u64,
    #[serde(default)]
    history: Vec<HistoryRound>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryRound {
    candidates: Vec<HistoryCandidate>,
    feedback: FeedbackBody,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryCandidate {
    id: String,
    z: Vec<f64>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    feedback_type: String,
    payload: Value,
}

#[derive(Serialize)]
struct NextCandidate {
    id: String,
    z: Vec<f64>,
    role: String,
}

#[derive(Serialize)]
struct Response {
    round_index: u32,
    candidates: Vec<NextCandidate>,
    recommended_z: Vec<f64>,
}

fn record(index: usize, round: &HistoryRound, d: usize) -> Result<RoundRecord, NextError> {
    let field = |rest: &str| format!("history[{index}].{rest}");
    if round.candidates.is_empty() || round.candidates.len() > MAX_CANDIDATES {
        return Err(err(
            field("candidates"),
            format!("a round needs 1 to {MAX_CANDIDATES} candidates"),
        ));
    }
    let mut candidates = Vec::with_capacity(round.candidates.len());
    for (k, c) in round.candidates.iter().enumerate() {
        if c.z.len() != d || c.z.iter().any(|v| !v.is_finite()) {
            return Err(err(
                field(&format!("candidates[{k}].z")),
                format!("z must have {d} finite numbers (steering_dimension)"),
            ));
        }
        if c.id.is_empty() || round.candidates[..k].iter().any(|o| o.id == c.id) {
            return Err(err(
                field(&format!("candidates[{k}].id")),
                "ids must be non-empty and unique within a round",
            ));
        }
        candidates.push(RoundCandidate {
            id: c.id.clone(),
            candidate_index: k,
            z: c.z.clone(),
            role: c.role.clone().unwrap_or_else(|| "candidate".into()),
            seed: c.seed.unwrap_or(0),
            image_ref: Some(c.id.clone()),
            predicted_score: None,
            predicted_uncertainty: None,
            generation_params: Map::new(),
        });
    }
    Ok(RoundRecord {
        id: format!("round{}", index + 1),
        round_index: index as u32 + 1,
        incumbent_z: candidates[0].z.clone(),
        candidates,
        winner_candidate_id: None,
    })
}

/// Runs `steer next` on a JSON request.
pub fn next_json(input: &str) -> Result<String, NextError> {
    let request: Request =
        serde_json::from_str(input).map_err(|e| err("request", e.to_string()))?;
    let config = StrategyConfig::from_map_new(&request.config).map_err(|e| {
        err(
            format!("config.{}", e.field.clone().unwrap_or_default()),
            e.message,
        )
    })?;
    if request.history.len() > MAX_ROUNDS {
        return Err(err("history", format!("at most {MAX_ROUNDS} rounds")));
    }
    let d = config.steering_dimension as usize;
    let session_id = format!("steer-{}", request.seed);
    let mut rounds: Vec<SteeringRound> = Vec::with_capacity(request.history.len());
    let mut current_z = vec![0.0; d];
    let mut incumbent: Option<String> = None;
    let mut recommended = vec![0.0; d];
    for (index, round) in request.history.iter().enumerate() {
        rounds.push(SteeringRound {
            record: record(index, round, d)?,
            feedback: None,
        });
        let mode = FeedbackMode::parse(&round.feedback.feedback_type).ok_or_else(|| {
            err(
                format!("history[{index}].feedback.feedback_type"),
                format!("expected one of: {}", FeedbackMode::names().join(", ")),
            )
        })?;
        let history = history(
            &session_id,
            request.seed,
            &config,
            &rounds,
            &current_z,
            index as u32,
            incumbent.as_deref(),
        );
        let outcome = apply_feedback(&history, mode, &round.feedback.payload).map_err(|e| {
            err(
                format!("history[{index}].feedback.{}", e.field()),
                e.to_string(),
            )
        })?;
        recommended = outcome
            .summary
            .get("recommended_z")
            .map(|v| serde_json::from_value(v.clone()).unwrap_or_else(|_| outcome.next_z.clone()))
            .unwrap_or_else(|| outcome.next_z.clone());
        if let Some(last) = rounds.last_mut() {
            last.record.winner_candidate_id = Some(outcome.winner_candidate_id.clone());
            last.feedback = Some(outcome.normalized);
        }
        current_z = outcome.next_z;
        incumbent = Some(outcome.winner_candidate_id);
    }
    let current_round = rounds.len() as u32;
    let history = history(
        &session_id,
        request.seed,
        &config,
        &rounds,
        &current_z,
        current_round,
        incumbent.as_deref(),
    );
    let composed = next_round(&history).map_err(|e| err("history", e.to_string()))?;
    let response = Response {
        round_index: composed.round_index,
        candidates: composed
            .candidates
            .into_iter()
            .map(|c| NextCandidate {
                id: format!("r{}c{}", composed.round_index, c.candidate_index),
                z: c.z,
                role: c.role,
            })
            .collect(),
        recommended_z: recommended,
    };
    serde_json::to_string(&response).map_err(|e| err("response", e.to_string()))
}

#[allow(clippy::too_many_arguments)]
fn history<'a>(
    session_id: &'a str,
    seed: u64,
    config: &'a StrategyConfig,
    rounds: &'a [SteeringRound],
    current_z: &'a [f64],
    current_round: u32,
    incumbent: Option<&'a str>,
) -> History<'a> {
    History {
        session_id,
        session_seed: seed,
        config,
        rounds,
        current_z,
        current_round,
        incumbent_candidate_id: incumbent,
        seed_epoch: 0,
        shared_seed: shared_render_seed(session_id, rounds, 0),
        tags: &NoTagDirections,
        tuning: Tuning::default(),
    }
}
