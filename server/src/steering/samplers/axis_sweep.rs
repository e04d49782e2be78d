//! `axis_sweep` (RNG offset +211): `clamp(z ± m e_{i mod d} + U(0.025))`, sign + when
//! `(i // d)` is even, `m = 0.18 + 0.04 (i // 2d)`; roles `axis_positive` / `axis_negative` (§4.4).

use serde_json::Value;

use super::common::{diagnostics, dims, jitter};
use super::{Proposal, SamplerInput};
use crate::steering::math::{clamp_vector, sum};
use crate::steering::rng::PyRandom;

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed + 211);
    let base = input.current_z;
    let dimensions = dims(base);
    (0..input.candidate_count)
        .map(|index| {
            let axis = index % dimensions;
            let sign = if (index / dimensions).is_multiple_of(2) {
                1.0
            } else {
                -1.0
            };
            let magnitude = 0.18 + 0.04 * (index / (dimensions * 2)) as f64;
            let mut offset = vec![0.0; base.len()];
            offset[axis] = sign * magnitude;
            let noise = jitter(&mut rng, 0.025, base.len());
            let moved = base
                .iter()
                .zip(&offset)
                .zip(&noise)
                .map(|((c, d), j)| c + d + j)
                .collect();
            let z = clamp_vector(moved, input.trust_radius);
            let role = if sign > 0.0 {
                "axis_positive"
            } else {
                "axis_negative"
            };
            Proposal {
                predicted_score: sum(&z),
                predicted_uncertainty: 0.1 + 0.02 * index as f64,
                role: role.to_string(),
                z,
                diagnostics: diagnostics([("axis_index", Value::from(axis))]),
            }
        })
        .collect()
}
