//! `quality_diversity_mix` (RNG offset +991): "emitters" — refine, forward, lateral ±, counter
//! and far-cover directions from a greedy cover of `max(2, n // 2)` out of 28 (§4.12). Role names
//! of the extra far directions start at `qd_far_cover_3` (the reference's off-by-one, kept).

use serde_json::Value;

use super::common::{
    diagnostics, dims, direction_pool, greedy_cover, incumbent_direction, jitter,
    lateral_direction, offset_point, rounded_list,
};
use super::{Proposal, SamplerInput};
use crate::steering::math::{round4, sum};
use crate::steering::rng::PyRandom;

pub(super) fn propose(input: &SamplerInput<'_>, seed: u128) -> Vec<Proposal> {
    let mut rng = PyRandom::new(seed + 991);
    let dimensions = dims(input.current_z);
    let r = input.trust_radius;
    let base = incumbent_direction(input.current_z, dimensions, 1e-8, &[1.0, 0.35]);
    let lateral = lateral_direction(&base, -0.45);
    let pool = direction_pool(&mut rng, 28, dimensions);
    let far_directions = greedy_cover(&pool, (input.candidate_count / 2).max(2));

    let medium = (r * 0.42).max(0.16).min(r);
    let far = (r * 0.82).max(0.28).min(r);
    let counter = (r * 0.3).max(0.12).min(r);

    let mut patterns: Vec<(String, Vec<f64>, f64)> = vec![
        ("qd_refine".into(), base.clone(), medium * 0.62),
        ("qd_forward".into(), base.clone(), medium),
        ("qd_lateral_plus".into(), lateral.clone(), medium),
        ("qd_far_cover_1".into(), far_directions[0].clone(), far),
        (
            "qd_lateral_minus".into(),
            lateral.iter().map(|v| -v).collect(),
            medium,
        ),
        (
            "qd_counter".into(),
            base.iter().map(|v| -v).collect(),
            counter,
        ),
    ];
    for (offset, direction) in far_directions.iter().enumerate().skip(1) {
        // Python: enumerate(far_directions[1:], start=2) and the name uses index + 1.
        patterns.push((
            format!("qd_far_cover_{}", offset + 2),
            direction.clone(),
            far,
        ));
    }

    (0..input.candidate_count)
        .map(|index| {
            let (role, direction, radius) = &patterns[index % patterns.len()];
            let span = if role.contains("refine") {
                0.014
            } else if !role.contains("far_cover") {
                0.024
            } else {
                0.03
            };
            let noise = jitter(&mut rng, span, dimensions);
            let z = offset_point(input.current_z, 1.0, direction, *radius, &noise, r);
            Proposal {
                predicted_score: sum(&z)
                    + if role.contains("far_cover") {
                        0.01
                    } else {
                        0.0
                    },
                predicted_uncertainty: 0.16 + 0.02 * index as f64,
                role: role.clone(),
                z,
                diagnostics: diagnostics([
                    ("qd_radius", Value::from(round4(*radius))),
                    ("qd_direction", rounded_list(direction)),
                    ("qd_emitter_role", Value::from(role.clone())),
                ]),
            }
        })
        .collect()
}
