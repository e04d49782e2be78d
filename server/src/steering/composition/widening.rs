//! First-round widening (§3.6): when round 1 is generated, `exploit` proposals are pulled in to
//! `clip(0.35 R, 0.12, 0.24)` and every other proposal becomes `clamp(0.35 z + B s_i, B)`
//! (`B = clip(1.55 R, 0.34, 0.72)`), scaled up to at least `clip(0.95 R, 0.24, B)`.

use serde_json::Value;

use crate::steering::math::{clamp_vector, norm, py_round};
use crate::steering::samplers::Proposal;

fn spread_direction(index: usize, dimensions: usize) -> Vec<f64> {
    let mut vector = vec![0.0; dimensions];
    vector[index % dimensions] = if index.is_multiple_of(2) { 1.0 } else { -1.0 };
    if dimensions > 1 {
        vector[(index + 1) % dimensions] += if index % 3 == 1 { -0.55 } else { 0.55 };
    }
    if dimensions > 2 {
        vector[(index + 2) % dimensions] += if index % 4 >= 2 { -0.3 } else { 0.3 };
    }
    if dimensions > 3 {
        vector[(index + 3) % dimensions] += if index.is_multiple_of(2) { 0.22 } else { -0.22 };
    }
    let length = norm(&vector);
    if length == 0.0 {
        vector[0] = 1.0;
        return vector;
    }
    vector.into_iter().map(|v| v / length).collect()
}

/// Widens round-1 proposals in place. `dimension` is the session's z length.
pub fn widen_first_round(proposals: &mut [Proposal], trust_radius: f64, dimension: usize) {
    let dimensions = dimension.max(1);
    let boost_radius = (trust_radius * 1.55).clamp(0.34, 0.72);
    let min_radius = (trust_radius * 0.95).max(0.24).min(boost_radius);
    for (index, proposal) in proposals.iter_mut().enumerate() {
        let params = &mut proposal.diagnostics;
        if proposal.role == "exploit" {
            let exploit_radius = (trust_radius * 0.35).clamp(0.12, 0.24);
            proposal.z = clamp_vector(std::mem::take(&mut proposal.z), exploit_radius);
            params.insert("first_round_diversity_boost".into(), Value::from(true));
            params.insert("first_round_diversity_scale".into(), Value::from(0.6));
            params.insert(
                "first_round_role_behavior".into(),
                Value::from("keep_exploit_close"),
            );
            continue;
        }
        let spread = spread_direction(index, dimensions);
        let scale = 1.15 + 0.1 * index as f64;
        let blended = proposal
            .z
            .iter()
            .zip(&spread)
            .map(|(original, s)| original * 0.35 + s * boost_radius)
            .collect();
        let mut boosted = clamp_vector(blended, boost_radius);
        let mut length = norm(&boosted);
        if 0.0 < length && length < min_radius {
            let factor = min_radius / length;
            boosted = clamp_vector(
                boosted.into_iter().map(|v| v * factor).collect(),
                boost_radius,
            );
            length = norm(&boosted);
        }
        if length == 0.0 {
            boosted = vec![0.0; dimension];
            if let Some(slot) = boosted.get_mut(index % dimensions) {
                *slot = min_radius;
            }
        }
        proposal.z = boosted;
        params.insert("first_round_diversity_boost".into(), Value::from(true));
        params.insert(
            "first_round_diversity_scale".into(),
            Value::from(py_round(scale, 3)),
        );
        params.insert(
            "first_round_min_radius".into(),
            Value::from(py_round(min_radius, 3)),
        );
        params.insert(
            "first_round_spread_direction".into(),
            Value::Array(
                spread
                    .iter()
                    .map(|v| Value::from(py_round(*v, 4)))
                    .collect(),
            ),
        );
    }
}
