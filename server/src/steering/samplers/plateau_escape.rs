//! `plateau_escape` (RNG offset +907): forward, lateral and counter probes whose radii grow with
//! the round factor `f = clip(current_round, 0, 8)` (§4.8). Fallback base `(1, 0.45, −0.2)`,
//! κ = 0.55.

use serde_json::Value;

use super::common::{
    diagnostics, dims, incumbent_direction, jitter, lateral_direction, offset_point, rounded_list,
};
use super::{Proposal, SamplerInput};
use crate::steering::math::{round4, sum};
use crate::steering::rng::PyRandom;

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed + 907);
    let dimensions = dims(input.current_z);
    let base = incumbent_direction(input.current_z, dimensions, 1e-6, &[1.0, 0.45, -0.2]);
    let lateral = lateral_direction(&base, 0.55);
    let round_factor = input.current_round.min(8);
    let f = f64::from(round_factor);
    let r = input.trust_radius;
    let escape_radius = r.min(0.34f64.max(r * (0.62 + 0.08 * f)));
    let forward_radius = r.min(0.22f64.max(r * (0.38 + 0.04 * f)));
    let counter_radius = (r * 0.78).min(0.24f64.max(r * (0.44 + 0.03 * f)));
    let neg_lateral: Vec<f64> = lateral.iter().map(|v| -v).collect();
    let neg_base: Vec<f64> = base.iter().map(|v| -v).collect();
    let patterns: [(&str, f64, &Vec<f64>); 5] = [
        ("forward_escape", escape_radius, &base),
        ("lateral_plus", escape_radius, &lateral),
        ("lateral_minus", escape_radius, &neg_lateral),
        ("counter_probe", counter_radius, &neg_base),
        ("forward_refine", forward_radius, &base),
    ];
    (0..input.candidate_count)
        .map(|index| {
            let (role, radius, direction) = patterns[index % patterns.len()];
            let span = if role.contains("refine") { 0.02 } else { 0.028 };
            let noise = jitter(&mut rng, span, dimensions);
            let z = offset_point(input.current_z, 1.0, direction, radius, &noise, r);
            Proposal {
                predicted_score: sum(&z) - 0.015 * index as f64,
                predicted_uncertainty: 0.14 + 0.025 * index as f64,
                role: role.to_string(),
                z,
                diagnostics: diagnostics([
                    ("escape_radius", Value::from(round4(radius))),
                    ("round_factor", Value::from(round_factor)),
                    ("direction", rounded_list(direction)),
                ]),
            }
        })
        .collect()
}
