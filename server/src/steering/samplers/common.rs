//! Geometry shared by the samplers: structured spread directions, incumbent and lateral
//! directions, random direction pools and the greedy angular cover.

use serde_json::{Map, Value};

use crate::steering::math::{clamp_vector, norm, round4};
use crate::steering::rng::PyRandom;

/// `max(1, len(z))`.
pub fn dims(z: &[f64]) -> usize {
    z.len().max(1)
}

/// `clamp(retain·z + scale·direction + jitter)` with Python's `zip` truncation.
pub fn offset_point(
    current: &[f64],
    retain: f64,
    direction: &[f64],
    scale: f64,
    jitter: &[f64],
    radius: f64,
) -> Vec<f64> {
    let values = current
        .iter()
        .zip(direction)
        .zip(jitter)
        .map(|((c, d), j)| (c * retain) + (d * scale) + j)
        .collect();
    clamp_vector(values, radius)
}

/// `[rng.uniform(-s, s) for _ in range(n)]`.
pub fn jitter(rng: &mut PyRandom, span: f64, count: usize) -> Vec<f64> {
    (0..count).map(|_| rng.uniform(-span, span)).collect()
}

/// Sign and weight rules of one structured spread direction family.
pub struct SpreadRule {
    /// Weights of the secondary, tertiary and extra axes.
    pub weights: [f64; 3],
    /// Whether the secondary weight is negated for slot `i`.
    pub secondary_negative: fn(usize) -> bool,
    /// Whether the tertiary weight is negated for slot `i`.
    pub tertiary_negative: fn(usize) -> bool,
}

/// A unit vector with ±1 on axis `i mod d`, and the rule's weights on the next axes.
pub fn spread_direction(index: usize, dimensions: usize, rule: &SpreadRule) -> Vec<f64> {
    let mut vector = vec![0.0; dimensions];
    vector[index % dimensions] = if index.is_multiple_of(2) { 1.0 } else { -1.0 };
    if dimensions > 1 {
        let sign = if (rule.secondary_negative)(index) {
            -1.0
        } else {
            1.0
        };
        vector[(index + 1) % dimensions] += rule.weights[0] * sign;
    }
    if dimensions > 2 {
        let sign = if (rule.tertiary_negative)(index) {
            -1.0
        } else {
            1.0
        };
        vector[(index + 2) % dimensions] += rule.weights[1] * sign;
    }
    if dimensions > 3 {
        let extra = if index.is_multiple_of(2) {
            rule.weights[2]
        } else {
            -rule.weights[2]
        };
        vector[(index + 3) % dimensions] += extra;
    }
    normalize_or_first_axis(vector)
}

/// Normalizes, or returns `e_0` for the zero vector.
pub fn normalize_or_first_axis(mut vector: Vec<f64>) -> Vec<f64> {
    let length = norm(&vector);
    if length == 0.0 {
        if let Some(first) = vector.first_mut() {
            *first = 1.0;
        }
        return vector;
    }
    vector.into_iter().map(|v| v / length).collect()
}

/// `z/‖z‖` when `‖z‖ > threshold`, else the normalized fallback `(f0, f1, f2, 0, …)` truncated to
/// the dimension.
pub fn incumbent_direction(
    current_z: &[f64],
    dimensions: usize,
    threshold: f64,
    fallback: &[f64],
) -> Vec<f64> {
    let length = norm(current_z);
    if length > threshold {
        return current_z.iter().map(|v| v / length).collect();
    }
    let mut direction = vec![0.0; dimensions];
    for (slot, value) in direction.iter_mut().zip(fallback) {
        *slot = *value;
    }
    let length = norm(&direction);
    direction.into_iter().map(|v| v / length).collect()
}

/// The lateral direction `(−b1, b0, s(2)κ b2, s(3)κ b3, …)`, normalized; `[1]` when d = 1.
/// `even_factor` multiplies even indices ≥ 2 and `-even_factor` the odd ones.
pub fn lateral_direction(base: &[f64], even_factor: f64) -> Vec<f64> {
    let dimensions = base.len();
    if dimensions == 1 {
        return vec![1.0];
    }
    let mut lateral = vec![0.0; dimensions];
    lateral[0] = -base[1];
    lateral[1] = base[0];
    for index in 2..dimensions {
        let factor = if index.is_multiple_of(2) {
            even_factor
        } else {
            -even_factor
        };
        lateral[index] = base[index] * factor;
    }
    let length = norm(&lateral);
    if length == 0.0 {
        lateral[1] = 1.0;
        return lateral;
    }
    lateral.into_iter().map(|v| v / length).collect()
}

/// `[unit_vector([rng.uniform(-1, 1) for _ in range(d)]) for _ in range(size)]`.
pub fn direction_pool(rng: &mut PyRandom, size: usize, dimensions: usize) -> Vec<Vec<f64>> {
    (0..size)
        .map(|_| normalize_or_first_axis(jitter(rng, 1.0, dimensions)))
        .collect()
}

fn angular_distance(left: &[f64], right: &[f64]) -> f64 {
    let cosine: f64 = left.iter().zip(right).map(|(a, b)| a * b).sum();
    cosine.clamp(-1.0, 1.0).acos()
}

/// Greedy farthest-point selection maximizing the minimum angle, starting from `pool[0]`
/// (first maximum wins ties, as Python's `max`). Each remaining direction keeps its running
/// minimum angle to the selection, which gives the reference's choices in O(count · pool).
pub fn greedy_cover(pool: &[Vec<f64>], count: usize) -> Vec<Vec<f64>> {
    let Some(first) = pool.first() else {
        return Vec::new();
    };
    let mut selected = vec![first.clone()];
    let mut remaining: Vec<(&Vec<f64>, f64)> = pool[1..]
        .iter()
        .map(|candidate| (candidate, angular_distance(candidate, first)))
        .collect();
    while !remaining.is_empty() && selected.len() < count {
        let mut best_index = 0;
        let mut best_score = f64::NEG_INFINITY;
        for (index, (_, score)) in remaining.iter().enumerate() {
            if *score > best_score {
                best_score = *score;
                best_index = index;
            }
        }
        let (chosen, _) = remaining.remove(best_index);
        for (candidate, score) in &mut remaining {
            *score = score.min(angular_distance(candidate, chosen));
        }
        selected.push(chosen.clone());
    }
    selected.truncate(count);
    selected
}

/// `[round(v, 4) for v in values]` as JSON.
pub fn rounded_list(values: &[f64]) -> Value {
    Value::Array(values.iter().map(|v| Value::from(round4(*v))).collect())
}

/// Builds a diagnostics map from `(key, value)` pairs in order.
pub fn diagnostics<const N: usize>(entries: [(&str, Value); N]) -> Map<String, Value> {
    entries
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_cover_starts_from_first_and_picks_opposite() {
        let pool = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![-1.0, 0.0]];
        let cover = greedy_cover(&pool, 2);
        assert_eq!(cover, vec![vec![1.0, 0.0], vec![-1.0, 0.0]]);
        assert!(greedy_cover(&pool, 0).is_empty());
        assert_eq!(greedy_cover(&pool, 10).len(), 3);
    }

    #[test]
    fn lateral_of_one_dimension_is_unit() {
        assert_eq!(lateral_direction(&[1.0], 0.4), vec![1.0]);
        let lateral = lateral_direction(&[1.0, 0.0, 0.0], 0.4);
        assert_eq!(lateral, vec![0.0, 1.0, 0.0]);
    }
}
