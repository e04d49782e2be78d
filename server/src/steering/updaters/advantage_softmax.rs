//! `advantage_softmax_preference` (§5.11): logits `(s − s_inc) / 0.22` (−0.12 for the carried
//! candidate; fixed −0.35 / −0.65 / +0.18 logits when nothing beats the incumbent), floor softmax
//! (0.035), `z' = clamp(round6(z + 0.46 (Σπc − z) + 0.1 (w − z)))`.

use serde_json::{Map, Value};

use super::common::{
    extras, rounded_clamped, scores_from_feedback, softmax_with_floor, weighted_center, Scores,
};
use super::UpdateContext;
use crate::steering::math::round4;

pub(super) fn update(ctx: &UpdateContext<'_>) -> (Vec<f64>, &'static str, Map<String, Value>) {
    let scores = scores_from_feedback(ctx, true);
    let winner_id = &ctx.feedback.winner_candidate_id;
    let incumbent = ctx.candidates.iter().find(|c| c.carried_forward);
    let winner_score = scores.get(winner_id).unwrap_or(1.0);
    let incumbent_score = incumbent
        .map(|c| scores.get(&c.id).unwrap_or(winner_score))
        .unwrap_or(winner_score);

    let mut logits = Scores::default();
    let mut any_positive = false;
    for candidate in ctx.candidates {
        let advantage = scores.get(&candidate.id).unwrap_or(0.0) - incumbent_score;
        if advantage > 1e-8 {
            any_positive = true;
        }
        let mut logit = advantage / 0.22;
        if candidate.carried_forward {
            logit -= 0.12;
        }
        logits.set(&candidate.id, logit);
    }
    if let (false, Some(incumbent)) = (any_positive, incumbent) {
        logits = Scores(
            ctx.candidates
                .iter()
                .map(|c| {
                    (
                        c.id.clone(),
                        if c.id == incumbent.id { -0.35 } else { -0.65 },
                    )
                })
                .collect(),
        );
        if let Some(value) = logits.get(winner_id) {
            logits.set(winner_id, value + 0.18);
        }
    }
    let weights = softmax_with_floor(&logits, 0.035);
    let center = weighted_center(ctx, &weights);
    let winner = &ctx.winner.z;
    let next = rounded_clamped(ctx, |i| {
        let c = ctx.current_z[i];
        c + 0.46 * (center[i] - c) + 0.1 * (winner[i] - c)
    });
    (
        next,
        "incumbent_advantage_softmax",
        extras([
            ("incumbent_score", Value::from(round4(incumbent_score))),
            ("weights", weights.rounded_json()),
            ("positive_advantage_present", Value::from(any_positive)),
        ]),
    )
}
