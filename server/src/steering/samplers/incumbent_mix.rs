//! `incumbent_mix` (RNG offset +307): `clamp(z + U(span))` with span 0.08 (`refine`, slot 0),
//! 0.28 (`challenger`, last slot) and `0.14 + 0.03 i` (`mix`) in between (§4.5).

use serde_json::Value;

use super::common::{diagnostics, jitter};
use super::{Proposal, SamplerInput};
use crate::steering::math::{clamp_vector, sum};
use crate::steering::rng::PyRandom;

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed + 307);
    let base = input.current_z;
    (0..input.candidate_count)
        .map(|index| {
            let (span, role) = if index == 0 {
                (0.08, "refine")
            } else if index + 1 == input.candidate_count {
                (0.28, "challenger")
            } else {
                (0.14 + 0.03 * index as f64, "mix")
            };
            let offset = jitter(&mut rng, span, base.len());
            let moved = base.iter().zip(&offset).map(|(c, o)| c + o).collect();
            let z = clamp_vector(moved, input.trust_radius);
            let refine = role == "refine";
            Proposal {
                predicted_score: sum(&z) + if refine { 0.03 } else { 0.0 },
                predicted_uncertainty: if refine {
                    0.08
                } else {
                    0.16 + 0.02 * index as f64
                },
                role: role.to_string(),
                z,
                diagnostics: diagnostics([("mix_span", Value::from(span))]),
            }
        })
        .collect()
}
