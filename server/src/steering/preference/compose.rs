//! One `preference` round: the incumbent pinned in slot 0 (the prompt itself in round 1, the
//! chosen seed after seed casting), then the acquisition's (or the ES fallback's) candidates,
//! all rendered with the session's shared seed so a comparison isolates z.

use serde_json::{Map, Value};

use super::choices::TagDirections;
use super::proposals::{evolution_strategy, propose, Proposal, ProposalInput};
use super::state::{
    norm_cap, Driver, Located, SessionState, SteeringRound, Tuning, SEED_CAST_ROLE,
};
use crate::steering::composition::{ComposedCandidate, ComposedRound, CompositionError};
use crate::steering::config::StrategyConfig;
use crate::steering::kinds::SeedPolicy;
use crate::steering::math::round6;
use crate::steering::rng::PyRandom;
use crate::steering::seeds::{candidate_seed, seed_token, shared_seed};

/// What composing a preference round reads.
pub struct PreferenceView<'a> {
    /// Session id (seed policies other than `shared` derive seeds from it).
    pub session_id: &'a str,
    /// The session's seed token: the root of every random draw of the strategy.
    pub session_seed: u64,
    /// The frozen config.
    pub config: &'a StrategyConfig,
    /// Every earlier round in order (calibration included), each with its feedback.
    pub rounds: &'a [SteeringRound],
    /// Index of the round to compose.
    pub round_index: u32,
    /// Shared-seed renewals so far ("new seed"), for the seed group label.
    pub seed_epoch: u32,
    /// The seed every new candidate renders with under the `shared` policy.
    pub shared_seed: u32,
    /// Directional critique tags in z, from the basis.
    pub tags: &'a dyn TagDirections,
    /// Ablation switches (default in the product).
    pub tuning: Tuning,
}

/// The seed every new candidate of a `shared` round renders with: the seed of the current
/// epoch, where epoch 0 is the seed cast in round 1 when there was casting.
pub fn shared_render_seed(session_id: &str, rounds: &[SteeringRound], epoch: u32) -> u32 {
    if epoch > 0 {
        return shared_seed(session_id, epoch);
    }
    rounds
        .iter()
        .find(|r| r.is_casting())
        .and_then(|r| r.winner())
        .map(|w| w.seed as u32)
        .unwrap_or_else(|| shared_seed(session_id, 0))
}

/// The random stream of one round: `seed_token(session_seed, round_index, "preference")`.
pub fn round_rng(session_seed: u64, round_index: u32) -> (u32, PyRandom) {
    let seed = seed_token(&[&session_seed, &round_index, &"preference"]);
    (seed, PyRandom::new(u128::from(seed)))
}

fn base_params(config: &StrategyConfig, state: Option<&SessionState>) -> Map<String, Value> {
    let mut params = Map::new();
    params.insert("image_size".into(), Value::from(config.image_size.clone()));
    params.insert("strategy".into(), Value::from("preference"));
    if let Some(state) = state {
        params.insert("driver".into(), Value::from(state.driver.as_str()));
        params.insert("trust_radius".into(), Value::from(round6(state.radius)));
    }
    params
}

fn candidate(z: Vec<f64>, role: &str, params: Map<String, Value>) -> ComposedCandidate {
    ComposedCandidate {
        candidate_index: 0,
        z,
        role: role.to_string(),
        seed: 0,
        carried_forward: false,
        image_ref: None,
        predicted_score: None,
        predicted_uncertainty: None,
        generation_params: params,
    }
}

/// Composes the next `preference` round.
pub fn compose_preference_round(
    view: &PreferenceView<'_>,
) -> Result<ComposedRound, CompositionError> {
    let config = view.config;
    let d = config.steering_dimension as usize;
    for c in view.rounds.iter().flat_map(|r| r.record.candidates.iter()) {
        if c.z.len() != d {
            return Err(CompositionError::DimensionMismatch {
                expected: d,
                got: c.z.len(),
            });
        }
    }
    let (rng_seed, mut rng) = round_rng(view.session_seed, view.round_index);
    let steering_rounds = view
        .rounds
        .iter()
        .filter(|r| r.record.round_index > 0)
        .count();
    if config.seed_casting > 0 && steering_rounds == 0 {
        return Ok(casting_round(view, rng_seed));
    }
    let state = SessionState::compute(config, view.rounds, view.tags, view.tuning);
    let round_seed = view.shared_seed;
    let pinned = pinned_slot(view, &state, round_seed);
    let count = (config.candidate_count as usize).saturating_sub(1);
    let input = ProposalInput {
        posterior: &state.posterior,
        incumbent: &pinned.z,
        radius: state.radius,
        cap: norm_cap(config),
        count,
    };
    let proposals: Vec<Proposal> = match state.driver {
        Driver::Model => propose(&input, config.acquisition, &mut rng),
        Driver::EvolutionStrategy => evolution_strategy(&input, &mut rng),
    };
    let mut candidates = vec![pinned];
    for p in proposals {
        let mut params = base_params(config, Some(&state));
        params.insert(
            "acquisition".into(),
            Value::from(config.acquisition.as_str()),
        );
        params.insert("acquisition_gain".into(), Value::from(round6(p.gain)));
        candidates.push(candidate(p.z, p.role, params));
    }
    for (index, c) in candidates.iter_mut().enumerate() {
        c.candidate_index = index;
        c.predicted_score = Some(round6(state.posterior.expected_score(&c.z)));
        c.predicted_uncertainty = Some(round6(state.posterior.score_sd(&c.z)));
    }
    assign_seeds(view, round_seed, &mut candidates);
    Ok(ComposedRound {
        round_index: view.round_index,
        incumbent_z: candidates[0].z.clone(),
        trust_radius: state.radius,
        seed_policy: config.seed_policy,
        sampler_seed: rng_seed,
        stagnation: None,
        candidates,
    })
}

/// Round 1 with seed casting: the plain prompt under `seed_casting` different seeds.
fn casting_round(view: &PreferenceView<'_>, rng_seed: u32) -> ComposedRound {
    let config = view.config;
    let d = config.steering_dimension as usize;
    let candidates = (0..config.seed_casting as usize)
        .map(|index| {
            let mut params = base_params(config, None);
            params.insert("baseline_prompt".into(), Value::from(true));
            params.insert("seed_group".into(), Value::from(format!("cast:{index}")));
            let mut c = candidate(vec![0.0; d], SEED_CAST_ROLE, params);
            c.candidate_index = index;
            c.seed = u64::from(seed_token(&[&view.session_seed, &index, &"cast"]));
            c.predicted_score = Some(0.0);
            c.predicted_uncertainty = Some(0.0);
            c
        })
        .collect();
    ComposedRound {
        round_index: view.round_index,
        incumbent_z: vec![0.0; d],
        trust_radius: config.trust_radius,
        seed_policy: config.seed_policy,
        sampler_seed: rng_seed,
        stagnation: None,
        candidates,
    }
}

/// Slot 0: the incumbent (reusing its image when it was rendered with this round's seed), or
/// the plain prompt before any feedback.
fn pinned_slot(
    view: &PreferenceView<'_>,
    state: &SessionState,
    round_seed: u32,
) -> ComposedCandidate {
    let config = view.config;
    let d = config.steering_dimension as usize;
    let Some(Located {
        round,
        candidate: inc,
    }) = &state.incumbent
    else {
        let mut params = base_params(config, Some(state));
        params.insert("baseline_prompt".into(), Value::from(true));
        params.insert("steering_applied".into(), Value::from(false));
        return candidate(vec![0.0; d], "baseline_prompt", params);
    };
    let mut params = base_params(config, Some(state));
    params.insert("incumbent_candidate_id".into(), Value::from(inc.id.clone()));
    let same_seed = config.seed_policy != SeedPolicy::Shared || inc.seed == u64::from(round_seed);
    let mut c = candidate(inc.z.clone(), "incumbent", params);
    if same_seed && inc.image_ref.is_some() {
        c.carried_forward = true;
        c.seed = inc.seed;
        c.image_ref = inc.image_ref.clone();
        let params = &mut c.generation_params;
        params.insert("carried_forward".into(), Value::from(true));
        params.insert(
            "carried_forward_candidate_id".into(),
            Value::from(inc.id.clone()),
        );
        params.insert(
            "carried_forward_round_id".into(),
            Value::from(view.rounds[*round].record.id.clone()),
        );
    }
    c
}

/// Seeds: the shared seed for every new candidate, or the configured policy's.
fn assign_seeds(view: &PreferenceView<'_>, round_seed: u32, candidates: &mut [ComposedCandidate]) {
    let policy = view.config.seed_policy;
    for c in candidates {
        let params = &mut c.generation_params;
        params.insert("seed_policy".into(), Value::from(policy.as_str()));
        if c.carried_forward {
            params.insert("seed_group".into(), Value::from("carried_forward"));
            params.insert("seed_preserved".into(), Value::from(true));
            continue;
        }
        let (seed, group) = match policy {
            SeedPolicy::Shared => (round_seed, format!("shared:{}", view.seed_epoch)),
            other => candidate_seed(
                other,
                view.session_id,
                view.round_index,
                c.candidate_index,
                &c.role,
            ),
        };
        c.seed = u64::from(seed);
        params.insert("seed_group".into(), Value::from(group));
    }
}
