//! Pieces shared by several updaters: score extraction, orderings, softmaxes and centroids, all
//! over insertion-ordered `(id, value)` lists (the reference's dicts).

use serde_json::{Map, Value};

use super::{UpdateCandidate, UpdateContext};
use crate::steering::math::{clamp_vector, round4, round6};

/// An insertion-ordered `id → value` map (Python dict semantics for small n).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores(pub Vec<(String, f64)>);

impl Scores {
    pub fn get(&self, id: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == id).map(|(_, v)| *v)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// `d[id] = value` (keeps the original position when the key exists).
    pub fn set(&mut self, id: &str, value: f64) {
        match self.0.iter_mut().find(|(k, _)| k == id) {
            Some(slot) => slot.1 = value,
            None => self.0.push((id.to_string(), value)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.0.iter().map(|(_, v)| *v)
    }

    /// `{id: round(v, 4)}` as JSON.
    pub fn rounded_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(round4(*v))))
                .collect::<Map<String, Value>>(),
        )
    }
}

/// The ranking / approvals / pairwise part of the score extraction used by softmax, challenger
/// and advantage. `filter_ranking_first` selects whether the rank count uses the filtered
/// ranking (challenger, advantage) or the raw one (softmax).
pub fn scores_from_feedback(ctx: &UpdateContext<'_>, filter_ranking_first: bool) -> Scores {
    let fb = ctx.feedback;
    let mut scores = Scores::default();
    if let Some(ratings) = &fb.ratings {
        for (id, rating) in ratings {
            if ctx.contains(id) {
                scores.set(id, *rating as f64);
            }
        }
        return scores;
    }
    if let Some(ranking) = fb.ranking.as_ref().filter(|r| !r.is_empty()) {
        let ranking: Vec<&String> = if filter_ranking_first {
            ranking.iter().filter(|id| ctx.contains(id)).collect()
        } else {
            ranking.iter().collect()
        };
        let count = ranking.len();
        for (index, id) in ranking.into_iter().enumerate() {
            if ctx.contains(id) {
                scores.set(id, (count - index) as f64);
            }
        }
        return scores;
    }
    let approved = fb.approved_candidate_ids.as_deref().unwrap_or_default();
    let rejected = fb.rejected_candidate_ids.as_deref().unwrap_or_default();
    if !approved.is_empty() || !rejected.is_empty() {
        for id in approved.iter().filter(|id| ctx.contains(id)) {
            scores.set(id, 1.0);
        }
        for id in rejected.iter().filter(|id| ctx.contains(id)) {
            if !scores.contains(id) {
                scores.set(id, 0.0);
            }
        }
        return scores;
    }
    if ctx.contains(&fb.winner_candidate_id) {
        scores.set(&fb.winner_candidate_id, 1.0);
    }
    if let Some(loser) = &fb.loser_candidate_id {
        if ctx.contains(loser) {
            scores.set(loser, 0.0);
        }
    }
    scores
}

/// The ordering used by Borda and Plackett-Luce: ranking; else ratings sorted by (−score, id);
/// else approved then rejected; else `[winner, loser]` (Plackett-Luce appends the others).
pub fn ordered_candidates(ctx: &UpdateContext<'_>, append_trailing: bool) -> Vec<String> {
    let fb = ctx.feedback;
    if let Some(ranking) = fb.ranking.as_ref().filter(|r| !r.is_empty()) {
        return ranking
            .iter()
            .filter(|id| ctx.contains(id))
            .cloned()
            .collect();
    }
    if let Some(ratings) = &fb.ratings {
        let mut sorted: Vec<&(String, i64)> = ratings.iter().collect();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        return sorted
            .into_iter()
            .filter(|(id, _)| ctx.contains(id))
            .map(|(id, _)| id.clone())
            .collect();
    }
    let approved: Vec<String> = fb
        .approved_candidate_ids
        .iter()
        .flatten()
        .filter(|id| ctx.contains(id))
        .cloned()
        .collect();
    let rejected: Vec<String> = fb
        .rejected_candidate_ids
        .iter()
        .flatten()
        .filter(|id| ctx.contains(id))
        .cloned()
        .collect();
    if !approved.is_empty() || !rejected.is_empty() {
        return approved.into_iter().chain(rejected).collect();
    }
    let mut ordered: Vec<String> = std::iter::once(&fb.winner_candidate_id)
        .chain(fb.loser_candidate_id.iter())
        .filter(|id| ctx.contains(id))
        .cloned()
        .collect();
    if append_trailing && !ordered.is_empty() {
        let trailing: Vec<String> = ctx
            .candidates
            .iter()
            .filter(|c| !ordered.contains(&c.id))
            .map(|c| c.id.clone())
            .collect();
        ordered.extend(trailing);
    }
    ordered
}

/// Softmax of the values with the maximum subtracted (`total or 1.0`).
pub fn softmax(logits: &Scores) -> Scores {
    if logits.is_empty() {
        return Scores::default();
    }
    let max = logits.values().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<(String, f64)> = logits
        .0
        .iter()
        .map(|(k, v)| (k.clone(), (v - max).exp()))
        .collect();
    let total: f64 = exps.iter().map(|(_, v)| v).sum();
    let total = if total == 0.0 { 1.0 } else { total };
    Scores(exps.into_iter().map(|(k, v)| (k, v / total)).collect())
}

/// Softmax mixed with a floor: `f + (1 − f n) p`, renormalized, with `f = min(floor, 1/n)`.
pub fn softmax_with_floor(logits: &Scores, floor: f64) -> Scores {
    let raw = softmax(logits);
    let count = raw.len().max(1) as f64;
    let floor = floor.min(1.0 / count);
    let adjusted: Vec<(String, f64)> = raw
        .0
        .into_iter()
        .map(|(k, w)| (k, floor + (1.0 - floor * count) * w))
        .collect();
    let total: f64 = adjusted.iter().map(|(_, v)| v).sum();
    let total = if total == 0.0 { 1.0 } else { total };
    Scores(adjusted.into_iter().map(|(k, v)| (k, v / total)).collect())
}

/// `Σ w c` over the weighted candidates (weights used as given).
pub fn weighted_center(ctx: &UpdateContext<'_>, weights: &Scores) -> Vec<f64> {
    let mut center = vec![0.0; ctx.dims()];
    for (id, weight) in &weights.0 {
        if let Some(candidate) = ctx.get(id) {
            for (slot, value) in center.iter_mut().zip(&candidate.z) {
                *slot += weight * value;
            }
        }
    }
    center
}

/// Arithmetic mean of the candidates (the zero vector when empty).
pub fn centroid(candidates: &[&UpdateCandidate], dims: usize) -> Vec<f64> {
    let mut values = vec![0.0; dims];
    if candidates.is_empty() {
        return values;
    }
    for candidate in candidates {
        for (slot, value) in values.iter_mut().zip(&candidate.z) {
            *slot += value;
        }
    }
    let count = candidates.len() as f64;
    values.into_iter().map(|v| v / count).collect()
}

/// `clamp([round6(f(i)) for i in range(d)], R)`.
pub fn rounded_clamped(ctx: &UpdateContext<'_>, f: impl Fn(usize) -> f64) -> Vec<f64> {
    let values = (0..ctx.dims()).map(|i| round6(f(i))).collect();
    clamp_vector(values, ctx.trust_radius)
}

/// The extras map of a summary from `(key, value)` pairs.
pub fn extras<const N: usize>(entries: [(&str, Value); N]) -> Map<String, Value> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}
