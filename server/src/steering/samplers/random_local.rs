//! `random_local` (RNG offset +0): one close `exploit` probe, then `explore` probes along
//! structured directions at about 0.9 R (§4.1). The exploit jitter is drawn first.

use serde_json::Value;

use super::common::{diagnostics, dims, jitter, offset_point, spread_direction, SpreadRule};
use super::{Proposal, SamplerInput};
use crate::steering::math::{clamp_vector, norm, sum};
use crate::steering::rng::PyRandom;

const EXPLORE_RULE: SpreadRule = SpreadRule {
    weights: [0.45, 0.22, 0.16],
    secondary_negative: |i| i % 3 == 1,
    tertiary_negative: |i| i % 4 >= 2,
};

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed);
    let z0 = input.current_z;
    let r = input.trust_radius;
    let dimensions = dims(z0);
    let exploit_radius = (r * 0.28).min(0.18);
    let explore_radius = (r * 0.9).max(0.28).min(r);
    let mut out = Vec::with_capacity(input.candidate_count);
    for index in 0..input.candidate_count {
        let (role, z, role_radius) = if index == 0 {
            let offset = jitter(&mut rng, 0.12, z0.len());
            let moved = z0.iter().zip(&offset).map(|(c, o)| c + o).collect();
            (
                "exploit",
                clamp_vector(moved, exploit_radius),
                exploit_radius,
            )
        } else {
            let direction = spread_direction(index - 1, dimensions, &EXPLORE_RULE);
            let noise = jitter(&mut rng, 0.08, z0.len());
            let target_radius = explore_radius
                .min((explore_radius * (0.82 + 0.06 * ((index - 1) % 3) as f64)).max(0.24));
            let mut z = offset_point(z0, 1.0, &direction, target_radius, &noise, r);
            let length = norm(&z);
            let minimum_radius = (r * 0.58).max(0.22).min(r);
            if 0.0 < length && length < minimum_radius {
                let factor = minimum_radius / length;
                z = clamp_vector(z.into_iter().map(|v| v * factor).collect(), r);
            }
            ("explore", z, explore_radius)
        };
        out.push(Proposal {
            predicted_score: sum(&z),
            predicted_uncertainty: (0.3 - 0.03 * index as f64).max(0.05),
            role: role.to_string(),
            z,
            diagnostics: diagnostics([("proposal_role_radius", Value::from(role_radius))]),
        });
    }
    out
}
