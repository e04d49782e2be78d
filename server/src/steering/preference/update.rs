//! Applying a round's feedback under the `preference` strategy: refit the model on the whole
//! session, move the state to the posterior's best shown image, and record what the model now
//! believes (posterior mean and spread per axis, β weights, the recommendation, the trust region
//! and who drives the next round) in the update summary.

use serde_json::{json, Map, Value};

use super::choices::TagDirections;
use super::posterior::project;
use super::state::{norm_cap, SessionState, SteeringRound, Tuning};
use crate::steering::config::StrategyConfig;
use crate::steering::math::round6;
use crate::steering::updaters::UpdateError;

/// Version of the model whose numbers the summary records.
pub const MODEL_VERSION: u32 = 1;

/// The outcome of a `preference` update.
#[derive(Debug, Clone)]
pub struct PreferenceUpdate {
    /// The new state: z of the posterior's best shown image.
    pub next_z: Vec<f64>,
    /// The user's pick of this round.
    pub winner_candidate_id: String,
    /// The update summary (JSON object).
    pub summary: Map<String, Value>,
    /// The state after the update (for callers that show it).
    pub state: SessionState,
}

fn rounded(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| round6(*x)).collect()
}

/// Applies the feedback of the last round of `rounds` (which must carry it).
pub fn apply_preference_feedback(
    config: &StrategyConfig,
    rounds: &[SteeringRound],
    tags: &dyn TagDirections,
    tuning: Tuning,
) -> Result<PreferenceUpdate, UpdateError> {
    let last = rounds.last().ok_or(UpdateError::NoCandidates)?;
    let feedback = last.feedback.as_ref().ok_or(UpdateError::NoCandidates)?;
    let winner = last
        .winner()
        .ok_or_else(|| UpdateError::UnknownWinner {
            id: feedback.winner_candidate_id.clone(),
        })?
        .clone();
    let state = SessionState::compute(config, rounds, tags, tuning);
    let next_z = state
        .incumbent
        .as_ref()
        .map(|l| l.candidate.z.clone())
        .unwrap_or_else(|| winner.z.clone());
    let summary = summary(config, &state, &winner.id, &next_z);
    Ok(PreferenceUpdate {
        next_z,
        winner_candidate_id: winner.id,
        summary,
        state,
    })
}

/// The summary recorded in `incumbent.updated` (and shown as the belief).
pub fn summary(
    config: &StrategyConfig,
    state: &SessionState,
    winner_id: &str,
    next_z: &[f64],
) -> Map<String, Value> {
    let posterior = &state.posterior;
    let recommended = project(
        &posterior.mean(),
        &vec![0.0; state.d],
        f64::INFINITY,
        norm_cap(config),
    );
    let terms: usize = state.evidence.iter().map(|r| r.terms.len()).sum();
    let mut out = Map::new();
    out.insert("updater".into(), json!("preference"));
    out.insert("winner_candidate_id".into(), json!(winner_id));
    out.insert("method".into(), json!("ideal_point_laplace"));
    out.insert("model_version".into(), json!(MODEL_VERSION));
    out.insert(
        "incumbent_candidate_id".into(),
        json!(state.incumbent.as_ref().map(|l| l.candidate.id.clone())),
    );
    out.insert("next_z".into(), json!(rounded(next_z)));
    out.insert("recommended_z".into(), json!(rounded(&recommended)));
    out.insert(
        "posterior".into(),
        json!({
            "mean": rounded(&posterior.mean()),
            "sd": rounded(&posterior.sd()),
            "beta_weights": posterior.beta_weights().iter().map(|(b, w)| json!([b, round6(*w)])).collect::<Vec<_>>(),
        }),
    );
    out.insert("trust_radius".into(), json!(round6(state.radius)));
    out.insert("driver".into(), json!(state.driver.as_str()));
    out.insert(
        "predictive".into(),
        match state.check {
            Some(c) => json!({"model": round6(c.model), "constant": round6(c.constant), "rounds": c.rounds}),
            None => Value::Null,
        },
    );
    out.insert("rounds_used".into(), json!(state.evidence.len()));
    out.insert("terms".into(), json!(terms));
    out
}
