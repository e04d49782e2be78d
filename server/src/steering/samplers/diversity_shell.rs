//! `diversity_shell` (RNG offset +401): `clamp(z + r dir_i + U(0.035))` with
//! `r = clip(0.92 R, 0.28, R)` and structured directions (0.62 / 0.28 / 0.18); roles alternate
//! `shell_probe` / `shell_counterprobe` (§4.6).

use serde_json::Value;

use super::common::{
    diagnostics, dims, jitter, offset_point, rounded_list, spread_direction, SpreadRule,
};
use super::{Proposal, SamplerInput};
use crate::steering::math::{round4, sum};
use crate::steering::rng::PyRandom;

const SHELL_RULE: SpreadRule = SpreadRule {
    weights: [0.62, 0.28, 0.18],
    secondary_negative: |i| i % 4 == 1 || i % 4 == 2,
    tertiary_negative: |i| i % 3 == 2,
};

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed + 401);
    let dimensions = dims(input.current_z);
    let r = input.trust_radius;
    let shell_radius = (r * 0.92).max(0.28).min(r);
    (0..input.candidate_count)
        .map(|index| {
            let direction = spread_direction(index, dimensions, &SHELL_RULE);
            let noise = jitter(&mut rng, 0.035, dimensions);
            let z = offset_point(input.current_z, 1.0, &direction, shell_radius, &noise, r);
            let role = if index.is_multiple_of(2) {
                "shell_probe"
            } else {
                "shell_counterprobe"
            };
            Proposal {
                predicted_score: sum(&z) - 0.01 * index as f64,
                predicted_uncertainty: 0.18 + 0.03 * index as f64,
                role: role.to_string(),
                z,
                diagnostics: diagnostics([
                    ("shell_radius", Value::from(round4(shell_radius))),
                    ("spread_direction", rounded_list(&direction)),
                ]),
            }
        })
        .collect()
}
