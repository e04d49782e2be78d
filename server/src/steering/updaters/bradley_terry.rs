//! `bradley_terry_preference` (§5.8): pairwise edges from the feedback, logits fitted by 12
//! full-batch gradient-ascent steps (learning rate 0.22, no prior) over all candidates,
//! `π = softmax(θ)`, `z' = clamp(round6(z + 0.5 (Σπc − z) + 0.1 (w − z)))`.

use serde_json::{Map, Value};

use super::common::{extras, rounded_clamped, softmax, weighted_center, Scores};
use super::UpdateContext;

type Edge = (String, String, f64);

fn edges(ctx: &UpdateContext<'_>) -> Vec<Edge> {
    let fb = ctx.feedback;
    let mut edges = Vec::new();
    if let Some(ranking) = fb.ranking.as_ref().filter(|r| !r.is_empty()) {
        let filtered: Vec<&String> = ranking.iter().filter(|id| ctx.contains(id)).collect();
        for (left, winner) in filtered.iter().enumerate() {
            for (right, loser) in filtered.iter().enumerate().skip(left + 1) {
                edges.push((
                    (*winner).clone(),
                    (*loser).clone(),
                    1.0 / (right - left) as f64,
                ));
            }
        }
        return edges;
    }
    if let Some(ratings) = &fb.ratings {
        let mut ordered: Vec<(&String, f64)> = Vec::new();
        for (id, rating) in ratings.iter().filter(|(id, _)| ctx.contains(id)) {
            match ordered.iter_mut().find(|(k, _)| *k == id) {
                Some(slot) => slot.1 = *rating as f64,
                None => ordered.push((id, *rating as f64)),
            }
        }
        ordered.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        for (left, (winner, winner_score)) in ordered.iter().enumerate() {
            for (loser, loser_score) in &ordered[left + 1..] {
                if winner_score <= loser_score {
                    continue;
                }
                edges.push((
                    (*winner).clone(),
                    (*loser).clone(),
                    (winner_score - loser_score).max(0.25),
                ));
            }
        }
        return edges;
    }
    let approved: Vec<&String> = fb
        .approved_candidate_ids
        .iter()
        .flatten()
        .filter(|id| ctx.contains(id))
        .collect();
    let rejected: Vec<&String> = fb
        .rejected_candidate_ids
        .iter()
        .flatten()
        .filter(|id| ctx.contains(id))
        .collect();
    for winner in &approved {
        for loser in &rejected {
            edges.push(((*winner).clone(), (*loser).clone(), 1.0));
        }
    }
    if let Some(loser) = &fb.loser_candidate_id {
        if ctx.contains(&fb.winner_candidate_id) && ctx.contains(loser) {
            edges.push((fb.winner_candidate_id.clone(), loser.clone(), 1.0));
        }
    }
    edges
}

pub(super) fn update(ctx: &UpdateContext<'_>) -> (Vec<f64>, &'static str, Map<String, Value>) {
    let winner_id = &ctx.feedback.winner_candidate_id;
    let mut edges = edges(ctx);
    if edges.is_empty() {
        edges = match ctx.feedback.loser_candidate_id.as_deref() {
            Some(loser) if ctx.contains(loser) => vec![(winner_id.clone(), loser.to_string(), 1.0)],
            _ => ctx
                .candidates
                .iter()
                .filter(|c| &c.id != winner_id)
                .map(|c| (winner_id.clone(), c.id.clone(), 1.0))
                .collect(),
        };
    }
    let ids: Vec<&str> = ctx.candidates.iter().map(|c| c.id.as_str()).collect();
    let position = |id: &str| ids.iter().position(|k| *k == id);
    let indexed: Vec<(usize, usize, f64)> = edges
        .iter()
        .filter_map(|(w, l, weight)| Some((position(w)?, position(l)?, *weight)))
        .collect();
    let mut logits = vec![0.0f64; ids.len()];
    for _ in 0..12 {
        let mut gradients = vec![0.0; ids.len()];
        for (w, l, weight) in &indexed {
            let margin = logits[*w] - logits[*l];
            let probability = 1.0 / (1.0 + (-margin).exp());
            let error = weight * (1.0 - probability);
            gradients[*w] += error;
            gradients[*l] -= error;
        }
        for (logit, gradient) in logits.iter_mut().zip(&gradients) {
            *logit += 0.22 * gradient;
        }
    }
    let weights = softmax(&Scores(
        ids.iter().map(|id| id.to_string()).zip(logits).collect(),
    ));
    let center = weighted_center(ctx, &weights);
    let winner = &ctx.winner.z;
    let next = rounded_clamped(ctx, |i| {
        let c = ctx.current_z[i];
        c + 0.5 * (center[i] - c) + 0.1 * (winner[i] - c)
    });
    (
        next,
        "bradley_terry_softmax_center",
        extras([
            ("pair_count", Value::from(edges.len())),
            ("weights", weights.rounded_json()),
        ]),
    )
}
