//! `borda_preference` (§5.7): Borda weights `(n − idx) / Σ` over the ordering, `μ−` the mean of
//! the lower part, `z' = clamp(round6(z + 0.46 (μ+ − z) + 0.14 (w − z) − 0.07 (μ− − z)))`.
//!
//! Reference defect kept under the reference name: when the lower part is empty (e.g.
//! winner-only feedback) `μ− = 0`, so the last term pushes z away from the origin.

use serde_json::{Map, Value};

use super::common::{
    centroid, extras, ordered_candidates, rounded_clamped, weighted_center, Scores,
};
use super::UpdateContext;

pub(super) fn update(ctx: &UpdateContext<'_>) -> (Vec<f64>, &'static str, Map<String, Value>) {
    let mut ranking = ordered_candidates(ctx, false);
    if ranking.is_empty() {
        ranking.push(ctx.feedback.winner_candidate_id.clone());
    }
    let count = ranking.len();
    let mut scores = Scores::default();
    for (index, id) in ranking.iter().enumerate() {
        scores.set(id, (count - index) as f64);
    }
    let total: f64 = scores.values().sum();
    let total = if total == 0.0 { 1.0 } else { total };
    let weights = Scores(
        scores
            .0
            .iter()
            .map(|(k, v)| (k.clone(), v / total))
            .collect(),
    );
    let positive = weighted_center(ctx, &weights);
    let lower: Vec<_> = ranking[(count / 2).max(1).min(count)..]
        .iter()
        .filter_map(|id| ctx.get(id))
        .collect();
    let negative = centroid(&lower, ctx.dims());
    let winner = &ctx.winner.z;
    let next = rounded_clamped(ctx, |i| {
        let c = ctx.current_z[i];
        c + 0.46 * (positive[i] - c) + 0.14 * (winner[i] - c) - 0.07 * (negative[i] - c)
    });
    (
        next,
        "borda_weighted_centroid",
        extras([
            ("ranking_length", Value::from(count)),
            ("weights", weights.rounded_json()),
        ]),
    )
}
