//! One simulated session through the domain step ([`next_round`] and [`apply_feedback`], the
//! same calls the server makes, with `classic` configs), with a `SimulatedUser` in place of a
//! person and no rendering.

use std::time::Instant;

use serde_json::Value;

use super::user::SimulatedUser;
use crate::steering::composition::{ComposedRound, RoundCandidate, RoundRecord};
use crate::steering::config::StrategyConfig;
use crate::steering::kinds::Strategy as StepStrategy;
use crate::steering::preference::{NoTagDirections, SteeringRound, Tuning};
use crate::steering::step::{apply_feedback, next_round, History};
use crate::steering::updaters::UpdaterKind;

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

/// A composed round as stored: candidate ids `r{round}c{slot}` (unique per session) and an
/// image reference for every candidate (the carried-forward one keeps its own), awaiting
/// feedback.
pub fn stored_round(composed: ComposedRound) -> RoundRecord {
    let round_index = composed.round_index;
    let candidates = composed
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
    RoundRecord {
        id: format!("round{round_index}"),
        round_index,
        incumbent_z: composed.incumbent_z,
        candidates,
        winner_candidate_id: None,
    }
}

/// The domain's view of a `classic` session: `rounds` (the last one awaiting feedback when
/// applying it), the state z, rounds generated so far and the carried incumbent.
pub fn classic_history<'a>(
    session_id: &'a str,
    config: &'a StrategyConfig,
    rounds: &'a [SteeringRound],
    current_z: &'a [f64],
    current_round: u32,
    incumbent_candidate_id: Option<&'a str>,
) -> History<'a> {
    History {
        session_id,
        session_seed: 0,
        config,
        rounds,
        current_z,
        current_round,
        incumbent_candidate_id,
        seed_epoch: 0,
        shared_seed: 0,
        tags: &NoTagDirections,
        tuning: Tuning::default(),
    }
}

/// `config` as a `classic` config whose updater is `strategy`'s (`NoUpdate` keeps the
/// config's; its result is ignored).
fn classic_config(config: &StrategyConfig, strategy: Strategy) -> StrategyConfig {
    StrategyConfig {
        strategy: StepStrategy::Classic,
        updater: match strategy {
            Strategy::Updater(kind) => kind,
            Strategy::NoUpdate => config.updater,
        },
        ..config.clone()
    }
}

/// The round's `(id, z)` pairs, as the simulated user reads them.
fn shown(record: &RoundRecord) -> Vec<(String, Vec<f64>)> {
    record
        .candidates
        .iter()
        .map(|c| (c.id.clone(), c.z.clone()))
        .collect()
}

/// Runs `rounds` rounds of `config` (its updater is ignored; `strategy` decides) for `user`,
/// through the domain step with a `classic` config.
pub fn run_session(
    session_id: &str,
    config: &StrategyConfig,
    strategy: Strategy,
    user: &mut SimulatedUser,
    rounds: u32,
) -> Result<SessionTrace, String> {
    let config = classic_config(config, strategy);
    let dimension = config.steering_dimension as usize;
    let mut current_z = vec![0.0; dimension];
    let mut history: Vec<SteeringRound> = Vec::with_capacity(rounds as usize);
    let mut incumbent: Option<String> = None;
    let mut best = f64::INFINITY;
    let mut trace = SessionTrace {
        dimension,
        start_distance: user.distance(&current_z),
        best_so_far: Vec::new(),
        state_distance: Vec::new(),
        cpu_us: Vec::new(),
    };
    for round in 0..rounds {
        let started = Instant::now();
        let composed = next_round(&classic_history(
            session_id,
            &config,
            &history,
            &current_z,
            round,
            incumbent.as_deref(),
        ))
        .map_err(|e| e.to_string())?;
        let compose_time = started.elapsed();
        let record = stored_round(composed);
        let payload: Value = user.feedback(config.feedback_mode, &shown(&record));
        for candidate in &record.candidates {
            best = best.min(user.distance(&candidate.z));
        }
        history.push(SteeringRound {
            record,
            feedback: None,
        });

        let started = Instant::now();
        let outcome = apply_feedback(
            &classic_history(
                session_id,
                &config,
                &history,
                &current_z,
                round + 1,
                incumbent.as_deref(),
            ),
            config.feedback_mode,
            &payload,
        )
        .map_err(|e| e.to_string())?;
        let update_time = started.elapsed();
        trace
            .cpu_us
            .push((compose_time + update_time).as_secs_f64() * 1e6);

        trace.best_so_far.push(best);
        if strategy != Strategy::NoUpdate {
            current_z = outcome.next_z;
        }
        trace.state_distance.push(user.distance(&current_z));
        let winner = outcome.winner_candidate_id;
        if let Some(last) = history.last_mut() {
            last.record.winner_candidate_id = Some(winner.clone());
            last.feedback = Some(outcome.normalized);
        }
        incumbent = Some(winner);
    }
    Ok(trace)
}
