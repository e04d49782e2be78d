//! `restart_bridge_mix` (RNG offset +1223): refinement, bridge and partial-restart patterns
//! `clamp(retain z + radius dir + U(j))` over a greedy cover of `max(2, n // 2)` out of 24
//! directions (§4.13). The only sampler that shrinks z toward the origin.

use serde_json::Value;

use super::common::{
    diagnostics, dims, direction_pool, greedy_cover, incumbent_direction, jitter,
    lateral_direction, offset_point, rounded_list,
};
use super::{Proposal, SamplerInput};
use crate::steering::math::{round4, sum};
use crate::steering::rng::PyRandom;

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed + 1223);
    let dimensions = dims(input.current_z);
    let r = input.trust_radius;
    let base = incumbent_direction(input.current_z, dimensions, 1e-8, &[1.0, 0.3]);
    let lateral = lateral_direction(&base, 0.4);
    let pool = direction_pool(&mut rng, 24, dimensions);
    let far_cover = greedy_cover(&pool, (input.candidate_count / 2).max(2));

    let refine_radius = (r * 0.28).max(0.12).min(r);
    let bridge_radius = (r * 0.56).max(0.22).min(r);
    let restart_radius = (r * 0.82).max(0.3).min(r);

    let mut patterns: Vec<(String, Vec<f64>, f64, f64)> = vec![
        ("bridge_refine".into(), base.clone(), refine_radius, 1.0),
        ("bridge_forward".into(), base.clone(), bridge_radius, 1.0),
        (
            "partial_restart".into(),
            far_cover[0].clone(),
            restart_radius,
            0.38,
        ),
        ("lateral_restart".into(), lateral, restart_radius, 0.46),
        (
            "counter_reset".into(),
            base.iter().map(|v| -v).collect(),
            bridge_radius,
            0.18,
        ),
    ];
    for (offset, direction) in far_cover.iter().enumerate().skip(1) {
        patterns.push((
            format!("restart_cover_{}", offset + 2),
            direction.clone(),
            restart_radius,
            0.32,
        ));
    }

    (0..input.candidate_count)
        .map(|index| {
            let (role, direction, radius, retain) = &patterns[index % patterns.len()];
            let span = if role.contains("refine") {
                0.012
            } else if role.contains("bridge") {
                0.022
            } else {
                0.03
            };
            let noise = jitter(&mut rng, span, dimensions);
            let z = offset_point(input.current_z, *retain, direction, *radius, &noise, r);
            Proposal {
                predicted_score: sum(&z) + if role.contains("restart") { 0.012 } else { 0.0 },
                predicted_uncertainty: 0.18 + 0.024 * index as f64,
                role: role.clone(),
                z,
                diagnostics: diagnostics([
                    ("bridge_radius", Value::from(round4(*radius))),
                    ("retain_fraction", Value::from(round4(*retain))),
                    ("bridge_direction", rounded_list(direction)),
                ]),
            }
        })
        .collect()
}
