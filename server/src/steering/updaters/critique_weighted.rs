//! `critique_weighted_preference` (§5.12): per tagged candidate, weight = #positive − #negative
//! tags; `z' = clamp(round6(z + α (μ+ − μ−)))` with α = 0.55 when negative terms and positive
//! tags exist, else 0.4; the winner (weight 1) when there is no positive term.
//!
//! Reference defect kept under the reference name: the step is `α μ+` (an absolute centroid),
//! not `α (μ+ − z)`. Tags carry valence only.

use serde_json::{Map, Value};

use super::common::{extras, rounded_clamped};
use super::{UpdateCandidate, UpdateContext};
use crate::steering::feedback::tags::{is_negative, is_positive};

fn weighted_centroid(terms: &[(f64, &UpdateCandidate)], dims: usize) -> Vec<f64> {
    let mut values = vec![0.0; dims];
    let total: f64 = terms.iter().map(|(w, _)| w).sum();
    if terms.is_empty() || total <= 0.0 {
        return values;
    }
    for (weight, candidate) in terms {
        for (slot, value) in values.iter_mut().zip(&candidate.z) {
            *slot += weight * value;
        }
    }
    values.into_iter().map(|v| v / total).collect()
}

pub(super) fn update(ctx: &UpdateContext<'_>) -> (Vec<f64>, &'static str, Map<String, Value>) {
    let mut positive_terms = Vec::new();
    let mut negative_terms = Vec::new();
    let mut positive_tag_count = 0usize;
    let mut negative_tag_count = 0usize;
    for (id, tags) in ctx.feedback.critique_tags.iter().flatten() {
        let Some(candidate) = ctx.get(id) else {
            continue;
        };
        let positives = tags.iter().filter(|t| is_positive(t)).count();
        let negatives = tags.iter().filter(|t| is_negative(t)).count();
        positive_tag_count += positives;
        negative_tag_count += negatives;
        let weight = positives as i64 - negatives as i64;
        if weight > 0 {
            positive_terms.push((weight as f64, candidate));
        } else if weight < 0 {
            negative_terms.push(((-weight) as f64, candidate));
        }
    }
    if positive_terms.is_empty() {
        positive_terms.push((1.0, ctx.winner));
    }
    let positive = weighted_centroid(&positive_terms, ctx.dims());
    let negative = weighted_centroid(&negative_terms, ctx.dims());
    let alpha = if !negative_terms.is_empty() && positive_tag_count > 0 {
        0.55
    } else {
        0.4
    };
    let next = rounded_clamped(ctx, |i| {
        ctx.current_z[i] + alpha * (positive[i] - negative[i])
    });
    (
        next,
        "critique_weighted_move",
        extras([
            ("positive_tag_count", Value::from(positive_tag_count)),
            ("negative_tag_count", Value::from(negative_tag_count)),
        ]),
    )
}
