//! `compose_round`: the orchestrator's round generation without I/O — pinned baseline (round 1)
//! or carried-forward incumbent (later rounds), sampler proposals (stagnation escape, first-round
//! widening) filling the other slots, renumbering and seed assignment.

use serde_json::{Map, Value};

use super::stagnation::stagnation_boost;
use super::types::{
    ComposedCandidate, ComposedRound, CompositionError, SessionView, StagnationEscape,
};
use super::widening::widen_first_round;
use crate::steering::kinds::SeedPolicy;
use crate::steering::math::round4;
use crate::steering::samplers::{propose, SamplerInput};
use crate::steering::seeds::{candidate_seed, round_seed, sampler_seed};

/// Composes the next round of `view`'s session.
pub fn compose_round(view: &SessionView<'_>) -> Result<ComposedRound, CompositionError> {
    let config = view.config;
    let dimension = config.steering_dimension as usize;
    if view.current_z.len() != dimension {
        return Err(CompositionError::DimensionMismatch {
            expected: dimension,
            got: view.current_z.len(),
        });
    }
    let round_index = view.current_round + 1;
    let pinned = carried_forward(view).or_else(|| baseline(view));
    let seed = sampler_seed(view.session_id, round_index);
    let (streak, boosted) = stagnation_boost(config, view.current_round, view.rounds);
    let input = SamplerInput {
        current_z: view.current_z,
        current_round: view.current_round,
        candidate_count: config.candidate_count as usize,
        trust_radius: boosted.unwrap_or(config.trust_radius),
    };
    let mut proposals = propose(config.sampler, &input, u64::from(seed))?;
    if let Some(radius) = boosted {
        for proposal in &mut proposals {
            let params = &mut proposal.diagnostics;
            params.insert("stagnation_escape_active".into(), Value::from(true));
            params.insert("stagnation_streak".into(), Value::from(streak));
            params.insert(
                "stagnation_boosted_trust_radius".into(),
                Value::from(round4(radius)),
            );
        }
    }
    if view.current_round == 0 {
        widen_first_round(&mut proposals, config.trust_radius, dimension);
    }

    let mut candidates: Vec<ComposedCandidate> = pinned.into_iter().collect();
    let remaining = (config.candidate_count as usize).saturating_sub(candidates.len());
    for proposal in proposals.into_iter().take(remaining) {
        let mut params = Map::new();
        params.insert("image_size".into(), Value::from(config.image_size.clone()));
        params.extend(proposal.diagnostics);
        candidates.push(ComposedCandidate {
            candidate_index: 0,
            z: proposal.z,
            role: proposal.role,
            seed: u64::from(seed),
            carried_forward: false,
            image_ref: None,
            predicted_score: Some(proposal.predicted_score),
            predicted_uncertainty: Some(proposal.predicted_uncertainty),
            generation_params: params,
        });
    }
    for (index, candidate) in candidates.iter_mut().enumerate() {
        candidate.candidate_index = index;
    }
    assign_seeds(
        view.session_id,
        round_index,
        config.seed_policy,
        &mut candidates,
    );
    Ok(ComposedRound {
        round_index,
        incumbent_z: view.current_z.to_vec(),
        trust_radius: config.trust_radius,
        seed_policy: config.seed_policy,
        sampler_seed: seed,
        stagnation: boosted.map(|boosted_trust_radius| StagnationEscape {
            streak,
            boosted_trust_radius,
        }),
        candidates,
    })
}

/// The previous winner, cloned with its z, seed and image (round 2 onwards).
fn carried_forward(view: &SessionView<'_>) -> Option<ComposedCandidate> {
    let incumbent = view.incumbent_candidate_id?;
    if view.current_round == 0 {
        return None;
    }
    let previous = view.rounds.last()?;
    let winner = previous.candidates.iter().find(|c| c.id == incumbent)?;
    let mut params = winner.generation_params.clone();
    params.insert("carried_forward".into(), Value::from(true));
    params.insert(
        "carried_forward_candidate_id".into(),
        Value::from(winner.id.clone()),
    );
    params.insert(
        "carried_forward_round_id".into(),
        Value::from(previous.id.clone()),
    );
    Some(ComposedCandidate {
        candidate_index: 0,
        z: winner.z.clone(),
        role: "incumbent".into(),
        seed: winner.seed,
        carried_forward: true,
        image_ref: winner.image_ref.clone(),
        predicted_score: winner.predicted_score,
        predicted_uncertainty: winner.predicted_uncertainty,
        generation_params: params,
    })
}

/// The unsteered prompt (z = 0) pinned in round 1.
fn baseline(view: &SessionView<'_>) -> Option<ComposedCandidate> {
    if view.current_round != 0 {
        return None;
    }
    let mut params = Map::new();
    params.insert(
        "image_size".into(),
        Value::from(view.config.image_size.clone()),
    );
    params.insert("baseline_prompt".into(), Value::from(true));
    params.insert("steering_applied".into(), Value::from(false));
    Some(ComposedCandidate {
        candidate_index: 0,
        z: vec![0.0; view.current_z.len()],
        role: "baseline_prompt".into(),
        seed: 0,
        carried_forward: false,
        image_ref: None,
        predicted_score: Some(0.0),
        predicted_uncertainty: Some(0.05),
        generation_params: params,
    })
}

/// Seeds per policy; a carried-forward candidate keeps its seed (`seed_preserved`).
fn assign_seeds(
    session_id: &str,
    round_index: u32,
    policy: SeedPolicy,
    candidates: &mut [ComposedCandidate],
) {
    let shared = round_seed(session_id, round_index);
    for candidate in candidates {
        let params = &mut candidate.generation_params;
        params.insert("seed_policy".into(), Value::from(policy.as_str()));
        if candidate.carried_forward {
            params.insert("seed_group".into(), Value::from("carried_forward"));
            params.insert("seed_preserved".into(), Value::from(true));
            continue;
        }
        let (seed, group) = candidate_seed(
            policy,
            session_id,
            round_index,
            candidate.candidate_index,
            &candidate.role,
        );
        candidate.seed = u64::from(seed);
        params.insert("seed_group".into(), Value::from(group));
        params.insert("round_seed".into(), Value::from(shared));
    }
}
