//! The one domain step, used by the server, the `steer` CLI, the oracle benchmark and the
//! tests alike: [`next_round`] composes a session's next round and [`apply_feedback`]
//! normalises, validates and applies one round's feedback, whatever the strategy.
//!
//! `classic` runs the reference's composition and updater exactly as before (every parity
//! golden goes through the same functions); `preference` runs the Bayesian model.

use serde_json::{Map, Value};

use crate::steering::composition::{
    compose_round, ComposedRound, CompositionError, RoundRecord, SessionView,
};
use crate::steering::config::StrategyConfig;
use crate::steering::convergence::{evaluate_convergence, ConvergenceReport};
use crate::steering::feedback::{normalize_for_round, FeedbackError, NormalizedFeedback};
use crate::steering::kinds::{FeedbackMode, Strategy};
use crate::steering::preference::{
    apply_preference_feedback, compose_preference_round, PreferenceView, SteeringRound,
    TagDirections, Tuning,
};
use crate::steering::updaters::{update, UpdateCandidate, UpdateError};

/// A session as the domain reads it.
pub struct History<'a> {
    /// Session id (seed derivations).
    pub session_id: &'a str,
    /// Root of the preference strategy's random draws (the session's seed token).
    pub session_seed: u64,
    /// The frozen config.
    pub config: &'a StrategyConfig,
    /// The rounds in order. `classic` reads the steering rounds (index ≥ 1) and, when applying
    /// feedback, the last one; `preference` reads every round with its feedback (calibration
    /// included as approvals).
    pub rounds: &'a [SteeringRound],
    /// `classic`: the steering state z.
    pub current_z: &'a [f64],
    /// Rounds generated so far (the next round gets `current_round + 1`).
    pub current_round: u32,
    /// `classic`: the last round's winner, carried into the next round.
    pub incumbent_candidate_id: Option<&'a str>,
    /// Shared-seed renewals so far.
    pub seed_epoch: u32,
    /// The seed new candidates of a `shared` round render with
    /// ([`crate::steering::preference::shared_render_seed`] or the latest renewal's).
    pub shared_seed: u32,
    /// Directional critique tags in z, from the basis.
    pub tags: &'a dyn TagDirections,
    /// Ablation switches of the preference strategy (the product uses the default).
    pub tuning: Tuning,
}

/// Why a step could not be taken.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepError {
    /// The feedback is malformed or does not fit the round.
    #[error(transparent)]
    Feedback(#[from] FeedbackError),
    /// The update refused its input.
    #[error(transparent)]
    Update(#[from] UpdateError),
    /// The round could not be composed.
    #[error(transparent)]
    Composition(#[from] CompositionError),
    /// Feedback was applied to a session without a round.
    #[error("the session has no round to apply feedback to")]
    NoRound,
}

impl StepError {
    /// The request field concerned.
    pub fn field(&self) -> String {
        match self {
            StepError::Feedback(e) => e.field.clone(),
            StepError::Update(e) => e.field().to_string(),
            StepError::Composition(_) => "config".into(),
            StepError::NoRound => "round_id".into(),
        }
    }
}

fn records(rounds: &[SteeringRound]) -> Vec<RoundRecord> {
    rounds
        .iter()
        .filter(|r| r.record.round_index > 0 || r.record.id.starts_with("fork-of-"))
        .map(|r| r.record.clone())
        .collect()
}

/// Composes the next round.
pub fn next_round(h: &History<'_>) -> Result<ComposedRound, CompositionError> {
    match h.config.strategy {
        Strategy::Classic => {
            let records = records(h.rounds);
            compose_round(&SessionView {
                session_id: h.session_id,
                config: h.config,
                current_z: h.current_z,
                current_round: h.current_round,
                incumbent_candidate_id: h.incumbent_candidate_id,
                rounds: &records,
            })
        }
        Strategy::Preference => compose_preference_round(&PreferenceView {
            session_id: h.session_id,
            session_seed: h.session_seed,
            config: h.config,
            rounds: h.rounds,
            round_index: h.current_round + 1,
            seed_epoch: h.seed_epoch,
            shared_seed: h.shared_seed,
            tags: h.tags,
            tuning: h.tuning,
        }),
    }
}

/// What applying one round's feedback produced.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackOutcome {
    /// The normalized feedback (recorded as `normalized_json`).
    pub normalized: NormalizedFeedback,
    /// The new steering state.
    pub next_z: Vec<f64>,
    /// The user's pick.
    pub winner_candidate_id: String,
    /// The update summary.
    pub summary: Map<String, Value>,
    /// Convergence after the update.
    pub convergence: ConvergenceReport,
}

/// Normalises `payload` against the last round of `h` (the one awaiting feedback), checks it
/// and applies it with the session's strategy.
pub fn apply_feedback(
    h: &History<'_>,
    submitted: FeedbackMode,
    payload: &Value,
) -> Result<FeedbackOutcome, StepError> {
    let last = h.rounds.last().ok_or(StepError::NoRound)?;
    let ids: Vec<&str> = last
        .record
        .candidates
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let normalized = normalize_for_round(h.config.feedback_mode, submitted, payload, &ids)?;
    let (next_z, winner, summary) = match h.config.strategy {
        Strategy::Classic => {
            let candidates: Vec<UpdateCandidate> = last
                .record
                .candidates
                .iter()
                .map(|c| UpdateCandidate {
                    id: c.id.clone(),
                    z: c.z.clone(),
                    carried_forward: c
                        .generation_params
                        .get("carried_forward")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                })
                .collect();
            let outcome = update(
                h.config.updater,
                h.current_z,
                h.config.trust_radius,
                &candidates,
                &normalized,
            )?;
            (outcome.next_z, outcome.winner_candidate_id, outcome.summary)
        }
        Strategy::Preference => {
            let mut rounds = h.rounds.to_vec();
            if let Some(round) = rounds.last_mut() {
                round.feedback = Some(normalized.clone());
                round.record.winner_candidate_id = Some(normalized.winner_candidate_id.clone());
            }
            let outcome = apply_preference_feedback(h.config, &rounds, h.tags, h.tuning)?;
            (outcome.next_z, outcome.winner_candidate_id, outcome.summary)
        }
    };
    let mut completed = records(h.rounds);
    if let Some(round) = completed.last_mut() {
        round.winner_candidate_id = Some(winner.clone());
    }
    let convergence = evaluate_convergence(h.config, &next_z, &completed);
    Ok(FeedbackOutcome {
        normalized,
        next_z,
        winner_candidate_id: winner,
        summary,
        convergence,
    })
}
