//! `challenger_mixture_preference` (§5.9): the winner pull plus a margin-softmax mixture of the
//! challengers' deltas, `z' = clamp(round6(z + 0.42 (w − z) + 0.36 Δc + 0.06 (s_w − s_inc)))`.
//!
//! Reference defect kept under the reference name: the last term adds the same scalar
//! `0.06 (s_w − s_inc)` to every coordinate, which is not a direction in z-space.

use serde_json::{Map, Value};

use super::common::{extras, rounded_clamped, scores_from_feedback, softmax, Scores};
use super::UpdateContext;
use crate::steering::math::round4;

pub(super) fn update(ctx: &UpdateContext<'_>) -> (Vec<f64>, &'static str, Map<String, Value>) {
    let scores = scores_from_feedback(ctx, true);
    let winner_id = &ctx.feedback.winner_candidate_id;
    let winner_score = scores.get(winner_id).unwrap_or(1.0);
    let incumbent = ctx.candidates.iter().find(|c| c.carried_forward);
    let incumbent_score = incumbent
        .map(|c| scores.get(&c.id).unwrap_or(winner_score))
        .unwrap_or(winner_score);

    let mut challengers = Scores(
        scores
            .0
            .iter()
            .filter(|(id, _)| id != winner_id && ctx.contains(id))
            .cloned()
            .collect(),
    );
    if challengers.is_empty() {
        challengers = Scores(
            ctx.candidates
                .iter()
                .filter(|c| &c.id != winner_id)
                .map(|c| (c.id.clone(), 0.0))
                .collect(),
        );
    }
    let logits = Scores(
        challengers
            .0
            .iter()
            .map(|(id, s)| (id.clone(), (s - incumbent_score + 0.24) / 0.22))
            .collect(),
    );
    let weights = softmax(&logits);
    let mut delta = vec![0.0; ctx.dims()];
    for (id, weight) in &weights.0 {
        if let Some(candidate) = ctx.get(id) {
            for (index, value) in candidate.z.iter().enumerate() {
                delta[index] += weight * (value - ctx.current_z[index]);
            }
        }
    }
    let winner = &ctx.winner.z;
    let scalar = 0.06 * (winner_score - incumbent_score);
    let next = rounded_clamped(ctx, |i| {
        let c = ctx.current_z[i];
        c + 0.42 * (winner[i] - c) + 0.36 * delta[i] + scalar
    });
    (
        next,
        "winner_plus_challenger_margin_mixture",
        extras([
            ("incumbent_score", Value::from(round4(incumbent_score))),
            ("winner_score", Value::from(round4(winner_score))),
            ("challenger_weights", weights.rounded_json()),
        ]),
    )
}
