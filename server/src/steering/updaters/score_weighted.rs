//! `score_weighted_preference` (§5.4): a weighted centroid target `t` (ratings
//! `max(r − min r + 1, 0.05)`, ranks `n − idx`, approvals 1, else the winner), then
//! `z' = clamp(round6(0.32 z + 0.68 t))`.

use serde_json::{Map, Value};

use super::common::{extras, rounded_clamped, Scores};
use super::UpdateContext;

const ALPHA: f64 = 0.68;

fn weights(ctx: &UpdateContext<'_>) -> Scores {
    let fb = ctx.feedback;
    let mut weights = Scores::default();
    if let Some(ratings) = &fb.ratings {
        let min = ratings
            .iter()
            .map(|(_, r)| *r as f64)
            .fold(f64::INFINITY, f64::min);
        for (id, rating) in ratings.iter().filter(|(id, _)| ctx.contains(id)) {
            weights.set(id, (*rating as f64 - min + 1.0).max(0.05));
        }
        return weights;
    }
    if let Some(ranking) = &fb.ranking {
        let count = ranking.len();
        for (index, id) in ranking.iter().enumerate() {
            if ctx.contains(id) {
                weights.set(id, (count - index) as f64);
            }
        }
        return weights;
    }
    if let Some(approved) = &fb.approved_candidate_ids {
        for id in approved.iter().filter(|id| ctx.contains(id)) {
            weights.set(id, 1.0);
        }
        return weights;
    }
    if ctx.contains(&fb.winner_candidate_id) {
        weights.set(&fb.winner_candidate_id, 1.0);
    }
    weights
}

pub(super) fn update(ctx: &UpdateContext<'_>) -> (Vec<f64>, &'static str, Map<String, Value>) {
    let mut weights = weights(ctx);
    if weights.is_empty() {
        weights.set(&ctx.feedback.winner_candidate_id, 1.0);
    }
    let total: f64 = weights.values().sum();
    let mut target = vec![0.0; ctx.dims()];
    for (id, weight) in &weights.0 {
        if let Some(candidate) = ctx.get(id) {
            for (slot, value) in target.iter_mut().zip(&candidate.z) {
                *slot += (weight / total) * value;
            }
        }
    }
    let next = rounded_clamped(ctx, |i| {
        (1.0 - ALPHA) * ctx.current_z[i] + ALPHA * target[i]
    });
    (
        next,
        "score_weighted_centroid",
        extras([
            ("weight_count", Value::from(weights.len())),
            ("weights", weights.rounded_json()),
        ]),
    )
}
