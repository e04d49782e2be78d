//! `two_scale_cover` (RNG offset +883): a greedy cover of a 40-direction pool; even slots are
//! `near_cover_probe` at `clip(0.34 R, 0.12, R)` (jitter 0.016), odd slots `far_cover_probe` at
//! `clip(0.78 R, 0.26, R)` (jitter 0.028) (§4.11). All pool vectors are drawn before any jitter.

use serde_json::Value;

use super::common::{
    diagnostics, dims, direction_pool, greedy_cover, jitter, offset_point, rounded_list,
};
use super::{Proposal, SamplerInput};
use crate::steering::math::{round4, sum};
use crate::steering::rng::PyRandom;

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed + 883);
    let dimensions = dims(input.current_z);
    let r = input.trust_radius;
    let short_radius = (r * 0.34).max(0.12).min(r);
    let long_radius = (r * 0.78).max(0.26).min(r);
    let pool = direction_pool(&mut rng, 40, dimensions);
    let selected = greedy_cover(&pool, input.candidate_count);
    selected
        .iter()
        .enumerate()
        .map(|(index, direction)| {
            let use_short = index.is_multiple_of(2);
            let (radius, role, span) = if use_short {
                (short_radius, "near_cover_probe", 0.016)
            } else {
                (long_radius, "far_cover_probe", 0.028)
            };
            let noise = jitter(&mut rng, span, dimensions);
            let z = offset_point(input.current_z, 1.0, direction, radius, &noise, r);
            Proposal {
                predicted_score: sum(&z) - 0.004 * index as f64,
                predicted_uncertainty: 0.14 + 0.028 * index as f64,
                role: role.to_string(),
                z,
                diagnostics: diagnostics([
                    ("short_radius", Value::from(round4(short_radius))),
                    ("long_radius", Value::from(round4(long_radius))),
                    ("probe_radius", Value::from(round4(radius))),
                    ("cover_direction", rounded_list(direction)),
                ]),
            }
        })
        .collect()
}
