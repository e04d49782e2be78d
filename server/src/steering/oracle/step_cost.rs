//! CPU cost of the bare algorithmic step, measured like the reference's §9: a fixed z
//! (|z_i| ≤ 0.2) at `current_round = 3`, `propose` then `normalize + update` on the proposals
//! (candidate 0 flagged as carried forward), median over many calls after a warm-up.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::steering::feedback::normalize;
use crate::steering::kinds::{FeedbackMode, SamplerKind, UpdaterKind};
use crate::steering::rng::PyRandom;
use crate::steering::samplers::{propose, SamplerInput};
use crate::steering::updaters::{update, UpdateCandidate};

/// One measured configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepCost {
    /// What was measured.
    pub label: String,
    /// Median `propose` time (µs).
    pub propose_us: f64,
    /// Median `normalize + update` time (µs).
    pub update_us: f64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn payload(mode: FeedbackMode, ids: &[String]) -> Value {
    match mode {
        FeedbackMode::TopK => json!({"ranking": ids}),
        _ => {
            let ratings: Map<String, Value> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), Value::from(1 + (i % 5) as i64)))
                .collect();
            json!({"ratings": ratings})
        }
    }
}

fn measure(
    label: &str,
    sampler: SamplerKind,
    mode: FeedbackMode,
    updater: UpdaterKind,
    dimension: usize,
    count: usize,
    calls: usize,
) -> StepCost {
    let mut rng = PyRandom::new(99);
    let z: Vec<f64> = (0..dimension).map(|_| rng.uniform(-0.2, 0.2)).collect();
    let input = SamplerInput {
        current_z: &z,
        current_round: 3,
        candidate_count: count,
        trust_radius: 0.55,
    };
    let mut propose_times = Vec::with_capacity(calls);
    let mut update_times = Vec::with_capacity(calls);
    let candidates: Vec<UpdateCandidate> = propose(SamplerKind::ExploitOrthogonal, &input, 12345)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, p)| UpdateCandidate {
            id: format!("cand_{i}"),
            z: p.z,
            carried_forward: i == 0,
        })
        .collect();
    let ids: Vec<String> = candidates.iter().map(|c| c.id.clone()).collect();
    let raw = payload(mode, &ids);
    for call in 0..calls + 20 {
        let started = Instant::now();
        let proposals = propose(sampler, &input, 12345 + call as u64);
        let proposed = started.elapsed();
        let started = Instant::now();
        let outcome = normalize(mode, &raw)
            .ok()
            .and_then(|n| update(updater, &z, 0.55, &candidates, &n).ok());
        let updated = started.elapsed();
        let _ = std::hint::black_box((proposals, outcome));
        if call >= 20 {
            propose_times.push(proposed.as_secs_f64() * 1e6);
            update_times.push(updated.as_secs_f64() * 1e6);
        }
    }
    StepCost {
        label: label.into(),
        propose_us: median(propose_times),
        update_us: median(update_times),
    }
}

/// The reference's §9 configurations: default and heavy steps at d = 5, n = 5 and d = 16, n = 12.
pub fn measure_step_costs(calls: usize) -> Vec<StepCost> {
    use FeedbackMode::{ScalarRating, TopK};
    use SamplerKind::{ExploitOrthogonal, QualityDiversityMix, SphericalCover, TwoScaleCover};
    use UpdaterKind::{BradleyTerryPreference, PlackettLucePreference, WinnerAverage};
    vec![
        measure(
            "default d=5 n=5 (exploit_orthogonal + scalar + winner_average)",
            ExploitOrthogonal,
            ScalarRating,
            WinnerAverage,
            5,
            5,
            calls,
        ),
        measure(
            "heavy d=5 n=5 (quality_diversity_mix + top_k + plackett_luce)",
            QualityDiversityMix,
            TopK,
            PlackettLucePreference,
            5,
            5,
            calls,
        ),
        measure(
            "cover d=5 n=5 (spherical_cover + scalar + bradley_terry)",
            SphericalCover,
            ScalarRating,
            BradleyTerryPreference,
            5,
            5,
            calls,
        ),
        measure(
            "default d=16 n=12",
            ExploitOrthogonal,
            ScalarRating,
            WinnerAverage,
            16,
            12,
            calls,
        ),
        measure(
            "heavy d=16 n=12",
            QualityDiversityMix,
            TopK,
            PlackettLucePreference,
            16,
            12,
            calls,
        ),
        measure(
            "two_scale_cover d=16 n=12 + top_k + bradley_terry",
            TwoScaleCover,
            TopK,
            BradleyTerryPreference,
            16,
            12,
            calls,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_every_configuration() {
        let costs = measure_step_costs(5);
        assert_eq!(costs.len(), 6);
        assert!(costs
            .iter()
            .all(|c| c.propose_us.is_finite() && c.update_us.is_finite() && c.propose_us >= 0.0));
    }
}
