//! `plackett_luce_preference` (§5.10): listwise logits fitted by 16 steps (learning rate 0.2,
//! L2 prior −0.015 θ) over the ordering (pairwise becomes `[winner, loser, others…]`), floor
//! softmax weights (`f = min(0.04, 1/n)`), `z' = clamp(round6(z + 0.48 (Σπc − z) + 0.12 (w − z)))`.

use serde_json::{Map, Value};

use super::common::{
    extras, ordered_candidates, rounded_clamped, softmax_with_floor, weighted_center, Scores,
};
use super::UpdateContext;

pub(super) fn update(ctx: &UpdateContext<'_>) -> (Vec<f64>, &'static str, Map<String, Value>) {
    let mut ranking = ordered_candidates(ctx, true);
    if ranking.is_empty() {
        ranking.push(ctx.feedback.winner_candidate_id.clone());
    }
    let ids: Vec<&str> = ctx.candidates.iter().map(|c| c.id.as_str()).collect();
    let order: Vec<usize> = ranking
        .iter()
        .filter_map(|id| ids.iter().position(|k| k == id))
        .collect();
    let mut logits = vec![0.0f64; ids.len()];
    for _ in 0..16 {
        let mut gradients: Vec<f64> = logits.iter().map(|l| -0.015 * l).collect();
        for prefix in 0..order.len() {
            let remaining = &order[prefix..];
            let exps: Vec<f64> = remaining.iter().map(|&i| logits[i].exp()).collect();
            let total: f64 = exps.iter().sum();
            let total = if total == 0.0 { 1.0 } else { total };
            gradients[order[prefix]] += 1.0;
            for (&i, value) in remaining.iter().zip(&exps) {
                gradients[i] -= value / total;
            }
        }
        for (logit, gradient) in logits.iter_mut().zip(&gradients) {
            *logit += 0.2 * gradient;
        }
    }
    let weights = softmax_with_floor(
        &Scores(ids.iter().map(|id| id.to_string()).zip(logits).collect()),
        0.04,
    );
    let center = weighted_center(ctx, &weights);
    let winner = &ctx.winner.z;
    let next = rounded_clamped(ctx, |i| {
        let c = ctx.current_z[i];
        c + 0.48 * (center[i] - c) + 0.12 * (winner[i] - c)
    });
    (
        next,
        "plackett_luce_listwise_center",
        extras([
            ("ranking_length", Value::from(ranking.len())),
            ("weights", weights.rounded_json()),
        ]),
    )
}
