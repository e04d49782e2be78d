//! `contrastive_preference` (§5.5): `z' = clamp(round6(z + α (μ+ − μ−)))` with positive and
//! negative centroids from the ranking halves, approvals, or winner/loser.
//!
//! Reference defect kept under the reference name: without negatives `μ− = 0`, so the step is
//! `+0.38 μ+`, an absolute centroid rather than a difference from z. Ratings are ignored.

use serde_json::{Map, Value};

use super::common::{centroid, extras, rounded_clamped};
use super::{UpdateCandidate, UpdateContext};

fn positive_negative<'a>(
    ctx: &UpdateContext<'a>,
) -> (Vec<&'a UpdateCandidate>, Vec<&'a UpdateCandidate>) {
    let fb = ctx.feedback;
    let lookup = |ids: &[String]| -> Vec<&'a UpdateCandidate> {
        ids.iter().filter_map(|id| ctx.get(id)).collect()
    };
    if let Some(ranking) = fb.ranking.as_ref().filter(|r| !r.is_empty()) {
        let half = (ranking.len() / 2).max(1);
        return (lookup(&ranking[..half]), lookup(&ranking[half..]));
    }
    let approved = fb.approved_candidate_ids.as_deref().unwrap_or_default();
    let rejected = fb.rejected_candidate_ids.as_deref().unwrap_or_default();
    if !approved.is_empty() || !rejected.is_empty() {
        return (lookup(approved), lookup(rejected));
    }
    let positives = ctx.get(&fb.winner_candidate_id).into_iter().collect();
    let negatives = fb
        .loser_candidate_id
        .as_deref()
        .and_then(|id| ctx.get(id))
        .into_iter()
        .collect();
    (positives, negatives)
}

pub(super) fn update(ctx: &UpdateContext<'_>) -> (Vec<f64>, &'static str, Map<String, Value>) {
    let (mut positives, negatives) = positive_negative(ctx);
    if positives.is_empty() {
        positives.push(ctx.winner);
    }
    let positive_center = centroid(&positives, ctx.dims());
    let negative_center = centroid(&negatives, ctx.dims());
    let alpha = if negatives.is_empty() { 0.38 } else { 0.55 };
    let next = rounded_clamped(ctx, |i| {
        ctx.current_z[i] + alpha * (positive_center[i] - negative_center[i])
    });
    (
        next,
        "contrastive_move",
        extras([
            ("positive_count", Value::from(positives.len())),
            ("negative_count", Value::from(negatives.len())),
        ]),
    )
}
