//! One simulated session: the same `compose_round`, `normalize_for_round` and `update` the
//! server uses, with a `SimulatedUser` in place of a person and no rendering.

use std::time::Instant;

use serde_json::Value;

use super::user::SimulatedUser;
use crate::steering::composition::{compose_round, RoundCandidate, RoundRecord, SessionView};
use crate::steering::config::StrategyConfig;
use crate::steering::feedback::normalize_for_round;
use crate::steering::updaters::{update, UpdateCandidate, UpdaterKind};

/// How the state moves after feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// One of the 12 updaters.
    Updater(UpdaterKind),
    /// Baseline: z never moves (resampling around the prompt; the best image is still carried).
    NoUpdate,
}

/// What one session produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionTrace {
    /// Steering dimension of the session.
    pub dimension: usize,
    /// ‖t‖: distance of the unsteered prompt.
    pub start_distance: f64,
    /// Best distance among all candidates shown up to each round.
    pub best_so_far: Vec<f64>,
    /// ‖z − t‖ of the state after each round's update.
    pub state_distance: Vec<f64>,
    /// CPU time of propose (composition) + normalize + update per round, in µs.
    pub cpu_us: Vec<f64>,
}

/// Runs `rounds` rounds of `config` (its updater is ignored; `strategy` decides) for `user`.
pub fn run_session(
    session_id: &str,
    config: &StrategyConfig,
    strategy: Strategy,
    user: &mut SimulatedUser,
    rounds: u32,
) -> Result<SessionTrace, String> {
    let dimension = config.steering_dimension as usize;
    let mut current_z = vec![0.0; dimension];
    let mut history: Vec<RoundRecord> = Vec::with_capacity(rounds as usize);
    let mut incumbent: Option<String> = None;
    let start_distance = user.distance(&current_z);
    let mut best = f64::INFINITY;
    let mut trace = SessionTrace {
        dimension,
        start_distance,
        best_so_far: Vec::new(),
        state_distance: Vec::new(),
        cpu_us: Vec::new(),
    };
    for round in 0..rounds {
        let started = Instant::now();
        let view = SessionView {
            session_id,
            config,
            current_z: &current_z,
            current_round: round,
            incumbent_candidate_id: incumbent.as_deref(),
            rounds: &history,
        };
        let composed = compose_round(&view).map_err(|e| e.to_string())?;
        let compose_time = started.elapsed();

        let round_index = composed.round_index;
        let candidates: Vec<RoundCandidate> = composed
            .candidates
            .into_iter()
            .map(|c| {
                let id = format!("r{round_index}c{}", c.candidate_index);
                let image_ref = c.image_ref.or_else(|| Some(format!("img/{id}")));
                RoundCandidate {
                    id,
                    candidate_index: c.candidate_index,
                    z: c.z,
                    role: c.role,
                    seed: c.seed,
                    image_ref,
                    predicted_score: c.predicted_score,
                    predicted_uncertainty: c.predicted_uncertainty,
                    generation_params: c.generation_params,
                }
            })
            .collect();
        let shown: Vec<(String, Vec<f64>)> = candidates
            .iter()
            .map(|c| (c.id.clone(), c.z.clone()))
            .collect();
        let payload: Value = user.feedback(config.feedback_mode, &shown);

        let started = Instant::now();
        let ids: Vec<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
        let normalized =
            normalize_for_round(config.feedback_mode, config.feedback_mode, &payload, &ids)
                .map_err(|e| e.to_string())?;
        let (next_z, winner) = match strategy {
            Strategy::Updater(kind) => {
                let update_candidates: Vec<UpdateCandidate> = candidates
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
                    kind,
                    &current_z,
                    config.trust_radius,
                    &update_candidates,
                    &normalized,
                )
                .map_err(|e| e.to_string())?;
                (outcome.next_z, outcome.winner_candidate_id)
            }
            Strategy::NoUpdate => (current_z.clone(), normalized.winner_candidate_id.clone()),
        };
        let update_time = started.elapsed();
        trace
            .cpu_us
            .push((compose_time + update_time).as_secs_f64() * 1e6);

        for candidate in &candidates {
            best = best.min(user.distance(&candidate.z));
        }
        trace.best_so_far.push(best);
        let incumbent_z = std::mem::replace(&mut current_z, next_z);
        trace.state_distance.push(user.distance(&current_z));
        history.push(RoundRecord {
            id: format!("round{round_index}"),
            round_index,
            incumbent_z,
            candidates,
            winner_candidate_id: Some(winner.clone()),
        });
        incumbent = Some(winner);
    }
    Ok(trace)
}
