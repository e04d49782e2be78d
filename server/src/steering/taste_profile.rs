//! Taste profile (§6.5): per prompt dimension, pooled ratings across rounds → mean, consistency,
//! signal, trend and mean priority; recurring negative pins; overall confidence. Display only.

use serde::{Deserialize, Serialize};

use crate::steering::math::{py_round, py_round_int};
use crate::steering::ordered_map::OrderedMap;

/// The per-dimension extras of one feedback event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TasteFeedback {
    /// `{candidate: {dimension: 1..5}}`.
    #[serde(default)]
    pub dimension_ratings: OrderedMap<OrderedMap<i64>>,
    /// `{candidate: {dimension: priority}}` (1 = most important).
    #[serde(default)]
    pub dimension_priorities: OrderedMap<OrderedMap<i64>>,
    /// `{candidate: [pinned negative terms]}`.
    #[serde(default)]
    pub negative_pins: OrderedMap<Vec<String>>,
}

/// One round's feedback events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TasteRound {
    /// Round index (0 = calibration, ignored).
    pub round_index: u32,
    /// Its feedback events (0 or 1).
    pub events: Vec<TasteFeedback>,
}

/// Profile of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionProfile {
    /// Mean rating (2 decimals).
    pub mean: f64,
    /// `max(0, 1 − std / 2.5)` (2 decimals).
    pub consistency: f64,
    /// `mean / 5 · consistency` (2 decimals).
    pub signal: f64,
    /// `round(100 · signal)` of the unrounded signal.
    pub signal_pct: i64,
    /// `growing`, `declining`, `stable` or `new`.
    pub trend: String,
    /// Ratings pooled.
    pub sample_count: usize,
    /// Mean priority rank (1 decimal).
    pub avg_priority: Option<f64>,
}

/// The whole profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TasteProfile {
    /// Dimensions by descending signal.
    pub dimensions: OrderedMap<DimensionProfile>,
    /// Pin counts, most frequent first.
    pub negative_pins: OrderedMap<usize>,
    /// `round(100 · Σ signal·n / Σ n)`.
    pub confidence: i64,
    /// Rounds (index > 0) with any dimension ratings.
    pub rounds_used: usize,
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Computes the taste profile from all rounds.
pub fn compute_taste_profile(rounds: &[TasteRound]) -> TasteProfile {
    let events: Vec<(u32, &TasteFeedback)> = rounds
        .iter()
        .filter(|r| r.round_index > 0)
        .flat_map(|r| r.events.iter().map(move |e| (r.round_index, e)))
        .collect();
    let mut ratings: OrderedMap<Vec<f64>> = OrderedMap::new();
    let mut by_round: OrderedMap<Vec<(u32, Vec<f64>)>> = OrderedMap::new();
    let mut pins: OrderedMap<usize> = OrderedMap::new();
    let mut priorities: OrderedMap<Vec<i64>> = OrderedMap::new();
    for (round_index, event) in &events {
        for (_, dims) in event.dimension_ratings.iter() {
            for (dim, score) in dims.iter() {
                if *score <= 0 {
                    continue;
                }
                ratings.entry_or(dim, Vec::new()).push(*score as f64);
                let rounds = by_round.entry_or(dim, Vec::new());
                match rounds.iter_mut().find(|(r, _)| r == round_index) {
                    Some((_, values)) => values.push(*score as f64),
                    None => rounds.push((*round_index, vec![*score as f64])),
                }
            }
        }
    }
    for (_, event) in &events {
        for (_, list) in event.negative_pins.iter() {
            for pin in list {
                *pins.entry_or(pin, 0) += 1;
            }
        }
    }
    for (_, event) in &events {
        for (_, dims) in event.dimension_priorities.iter() {
            for (dim, rank) in dims.iter() {
                priorities.entry_or(dim, Vec::new()).push(*rank);
            }
        }
    }

    let mut dimensions: Vec<(String, DimensionProfile)> = Vec::new();
    for (dim, values) in ratings.iter() {
        let m = mean(values);
        let variance =
            values.iter().map(|r| (r - m).powi(2)).sum::<f64>() / values.len().max(1) as f64;
        let consistency = (1.0 - variance.sqrt() / 2.5).max(0.0);
        let signal = m / 5.0 * consistency;
        let mut rounds = by_round.get(dim).cloned().unwrap_or_default();
        rounds.sort_by_key(|(r, _)| *r);
        let trend = if rounds.len() >= 2 {
            let mid = rounds.len() / 2;
            let pooled = |part: &[(u32, Vec<f64>)]| {
                let all: Vec<f64> = part.iter().flat_map(|(_, v)| v.iter().copied()).collect();
                all.iter().sum::<f64>() / all.len().max(1) as f64
            };
            let diff = pooled(&rounds[mid..]) - pooled(&rounds[..mid]);
            if diff > 0.3 {
                "growing"
            } else if diff < -0.3 {
                "declining"
            } else {
                "stable"
            }
        } else {
            "new"
        };
        let avg_priority = priorities
            .get(dim)
            .filter(|p| !p.is_empty())
            .map(|p| py_round(p.iter().sum::<i64>() as f64 / p.len() as f64, 1));
        dimensions.push((
            dim.clone(),
            DimensionProfile {
                mean: py_round(m, 2),
                consistency: py_round(consistency, 2),
                signal: py_round(signal, 2),
                signal_pct: py_round_int(signal * 100.0) as i64,
                trend: trend.into(),
                sample_count: values.len(),
                avg_priority,
            },
        ));
    }
    dimensions.sort_by(|a, b| b.1.signal.total_cmp(&a.1.signal));
    let total_samples: usize = dimensions.iter().map(|(_, d)| d.sample_count).sum();
    let confidence = if dimensions.is_empty() {
        0.0
    } else {
        dimensions
            .iter()
            .map(|(_, d)| d.signal * d.sample_count as f64)
            .sum::<f64>()
            / total_samples.max(1) as f64
    };
    let mut pin_list = pins.0;
    pin_list.sort_by_key(|pin| std::cmp::Reverse(pin.1));
    let mut used: Vec<u32> = rounds
        .iter()
        .filter(|r| r.round_index > 0 && r.events.iter().any(|e| !e.dimension_ratings.is_empty()))
        .map(|r| r.round_index)
        .collect();
    used.sort_unstable();
    used.dedup();
    TasteProfile {
        dimensions: OrderedMap(dimensions),
        negative_pins: OrderedMap(pin_list),
        confidence: py_round_int(confidence * 100.0) as i64,
        rounds_used: used.len(),
    }
}
