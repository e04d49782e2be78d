//! `line_search` (RNG offset +509): probes along the incumbent direction (`forward_probe` +0.16,
//! `far_forward` +0.30, `backtrack` −0.14) and a lateral direction (`lateral_probe` +0.22,
//! `counter_lateral` −0.22), plus U(0.025) (§4.7). Fallback base `normalize(1, 0.35)`, κ = 0.4.

use serde_json::Value;

use super::common::{
    diagnostics, dims, incumbent_direction, jitter, lateral_direction, offset_point,
};
use super::{Proposal, SamplerInput};
use crate::steering::math::{round4, sum};
use crate::steering::rng::PyRandom;

const PATTERNS: [(f64, &str); 5] = [
    (0.16, "forward_probe"),
    (0.3, "far_forward"),
    (-0.14, "backtrack"),
    (0.22, "lateral_probe"),
    (0.22, "counter_lateral"),
];

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed + 509);
    let dimensions = dims(input.current_z);
    let base = incumbent_direction(input.current_z, dimensions, 1e-6, &[1.0, 0.35]);
    let lateral = lateral_direction(&base, -0.4);
    let counter: Vec<f64> = lateral.iter().map(|v| -v).collect();
    (0..input.candidate_count)
        .map(|index| {
            let (scale, role) = PATTERNS[index % PATTERNS.len()];
            let direction = match role {
                "lateral_probe" => &lateral,
                "counter_lateral" => &counter,
                _ => &base,
            };
            let noise = jitter(&mut rng, 0.025, dimensions);
            let z = offset_point(
                input.current_z,
                1.0,
                direction,
                scale,
                &noise,
                input.trust_radius,
            );
            Proposal {
                predicted_score: sum(&z),
                predicted_uncertainty: 0.1 + 0.025 * index as f64,
                role: role.to_string(),
                z,
                diagnostics: diagnostics([("line_scale", Value::from(round4(scale)))]),
            }
        })
        .collect()
}
