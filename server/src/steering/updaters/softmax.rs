//! `softmax_preference` (§5.6): `p = softmax(s / 0.42)`, `q = softmax((max s − s) / 0.58)`,
//! `z' = clamp(round6(z + 0.58 (μ+ − z) + 0.18 (w − z) − 0.12 (μ− − z)))`.

use serde_json::{Map, Value};

use super::common::{extras, rounded_clamped, scores_from_feedback, softmax, Scores};
use super::UpdateContext;

fn tempered(scores: &Scores, temperature: f64) -> Scores {
    let t = temperature.max(1e-6);
    softmax(&Scores(
        scores.0.iter().map(|(k, v)| (k.clone(), v / t)).collect(),
    ))
}

/// `Σ (w / Σw) c`.
fn normalized_center(ctx: &UpdateContext<'_>, weights: &Scores) -> Vec<f64> {
    let mut center = vec![0.0; ctx.dims()];
    if weights.is_empty() {
        return center;
    }
    let total: f64 = weights.values().sum();
    for (id, weight) in &weights.0 {
        if let Some(candidate) = ctx.get(id) {
            for (slot, value) in center.iter_mut().zip(&candidate.z) {
                *slot += (weight / total) * value;
            }
        }
    }
    center
}

pub(super) fn update(ctx: &UpdateContext<'_>) -> (Vec<f64>, &'static str, Map<String, Value>) {
    let mut scores = scores_from_feedback(ctx, false);
    if scores.is_empty() {
        scores.set(&ctx.feedback.winner_candidate_id, 1.0);
    }
    let positive_weights = tempered(&scores, 0.42);
    let max = scores.values().fold(f64::NEG_INFINITY, f64::max);
    let negative_scores = Scores(scores.0.iter().map(|(k, v)| (k.clone(), max - v)).collect());
    let negative_weights = tempered(&negative_scores, 0.58);
    let positive = normalized_center(ctx, &positive_weights);
    let negative = normalized_center(ctx, &negative_weights);
    let winner = &ctx.winner.z;
    let next = rounded_clamped(ctx, |i| {
        let c = ctx.current_z[i];
        c + 0.58 * (positive[i] - c) + 0.18 * (winner[i] - c) - 0.12 * (negative[i] - c)
    });
    (
        next,
        "softmax_weighted_contrastive_centroid",
        extras([
            ("weight_count", Value::from(positive_weights.len())),
            ("positive_weights", positive_weights.rounded_json()),
        ]),
    )
}
