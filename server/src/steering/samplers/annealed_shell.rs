//! `annealed_shell` (RNG offset +613): shell probes whose radius `clip(R (0.95 − 0.42 p), 0.2, R)`
//! and jitter `0.04 − 0.018 p` shrink with progress `p = clip(round, 0, 8) / 8` (§4.9).

use serde_json::Value;

use super::common::{
    diagnostics, dims, jitter, offset_point, rounded_list, spread_direction, SpreadRule,
};
use super::{Proposal, SamplerInput};
use crate::steering::math::{round4, sum};
use crate::steering::rng::PyRandom;

const ANNEALED_RULE: SpreadRule = SpreadRule {
    weights: [0.58, 0.26, 0.15],
    secondary_negative: |i| i % 3 == 1,
    tertiary_negative: |i| i % 4 >= 2,
};

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed + 613);
    let dimensions = dims(input.current_z);
    let progress = f64::from(input.current_round.min(8)) / 8.0;
    let r = input.trust_radius;
    let shell_fraction = 0.95 - 0.42 * progress;
    let shell_radius = (r * shell_fraction).max(0.2).min(r);
    let jitter_scale = 0.04 - 0.018 * progress;
    (0..input.candidate_count)
        .map(|index| {
            let direction = spread_direction(index, dimensions, &ANNEALED_RULE);
            let noise = jitter(&mut rng, jitter_scale, dimensions);
            let z = offset_point(input.current_z, 1.0, &direction, shell_radius, &noise, r);
            let role = if index.is_multiple_of(2) {
                "annealed_probe"
            } else {
                "annealed_counterprobe"
            };
            Proposal {
                predicted_score: sum(&z) - 0.008 * index as f64,
                predicted_uncertainty: (0.2 - 0.08 * progress + 0.01 * index as f64).max(0.05),
                role: role.to_string(),
                z,
                diagnostics: diagnostics([
                    ("annealed_progress", Value::from(round4(progress))),
                    ("shell_radius", Value::from(round4(shell_radius))),
                    ("jitter_scale", Value::from(round4(jitter_scale))),
                    ("spread_direction", rounded_list(&direction)),
                ]),
            }
        })
        .collect()
}
