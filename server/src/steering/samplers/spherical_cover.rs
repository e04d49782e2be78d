//! `spherical_cover` (RNG offset +719): a pool of 32 random directions (uniform in the cube, then
//! normalized), a greedy angular cover starting from `pool[0]`, and
//! `clamp(z + r dir + U(0.018))` with `r = clip(0.9 R, 0.24, R)`; role `cover_probe` (§4.10).
//! Returns fewer than n proposals when n > 32. Also drives the style calibration round.

use serde_json::Value;

use super::common::{
    diagnostics, dims, direction_pool, greedy_cover, jitter, offset_point, rounded_list,
};
use super::{Proposal, SamplerInput};
use crate::steering::math::{round4, sum};
use crate::steering::rng::PyRandom;

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed + 719);
    let dimensions = dims(input.current_z);
    let r = input.trust_radius;
    let radius = (r * 0.9).max(0.24).min(r);
    let pool = direction_pool(&mut rng, 32, dimensions);
    let selected = greedy_cover(&pool, input.candidate_count);
    selected
        .iter()
        .enumerate()
        .map(|(index, direction)| {
            let noise = jitter(&mut rng, 0.018, dimensions);
            let z = offset_point(input.current_z, 1.0, direction, radius, &noise, r);
            Proposal {
                predicted_score: sum(&z) - 0.006 * index as f64,
                predicted_uncertainty: 0.22 + 0.008 * index as f64,
                role: "cover_probe".to_string(),
                z,
                diagnostics: diagnostics([
                    ("cover_radius", Value::from(round4(radius))),
                    ("cover_direction", rounded_list(direction)),
                ]),
            }
        })
        .collect()
}
