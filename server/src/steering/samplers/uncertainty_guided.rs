//! `uncertainty_guided` (RNG offset +101): `clamp(z + U(0.1 + 0.08 i))`; the jitter span grows
//! with the slot; the last slot is `validation`, the others `explore` (§4.3). No uncertainty model.

use serde_json::Map;

use super::common::jitter;
use super::{Proposal, SamplerInput};
use crate::steering::math::{clamp_vector, sum};
use crate::steering::rng::PyRandom;

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed + 101);
    let z0 = input.current_z;
    (0..input.candidate_count)
        .map(|index| {
            let span = 0.1 + 0.08 * index as f64;
            let offset = jitter(&mut rng, span, z0.len());
            let moved = z0.iter().zip(&offset).map(|(c, o)| c + o).collect();
            let z = clamp_vector(moved, input.trust_radius);
            let role = if index + 1 == input.candidate_count {
                "validation"
            } else {
                "explore"
            };
            Proposal {
                predicted_score: sum(&z) - 0.02 * index as f64,
                predicted_uncertainty: 0.15 + 0.06 * index as f64,
                role: role.to_string(),
                z,
                diagnostics: Map::new(),
            }
        })
        .collect()
}
