//! Aggregation of session traces into the benchmark's figures.

use serde::{Deserialize, Serialize};

use super::session::SessionTrace;

/// The figures of one grid cell (or baseline) over all its sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellMetrics {
    /// Sampler name.
    pub sampler: String,
    /// Updater name, or `no_update` / `winner_copy` for the baselines.
    pub updater: String,
    /// Feedback mode.
    pub mode: String,
    /// Sessions aggregated.
    pub runs: usize,
    /// Share of sessions whose best shown candidate came within τ of the target within B rounds.
    pub success_rate: f64,
    /// Median first round reaching τ (failures count as never); `None` when under half succeed.
    pub median_rounds_to_target: Option<f64>,
    /// Mean best-so-far distance divided by the starting distance, per round.
    pub best_curve: Vec<f64>,
    /// Mean of `best_curve` (area under the normalized curve; lower is better).
    pub auc: f64,
    /// `best_curve` at round B.
    pub final_best_ratio: f64,
    /// Mean ‖z_B − t‖ / ‖t‖ of the state after the last update.
    pub final_state_ratio: f64,
    /// Median CPU time of propose + normalize + update per round (µs).
    pub cpu_us_median: f64,
    /// Mean CPU time per round (µs).
    pub cpu_us_mean: f64,
    /// `(dimension, success rate, AUC)` per steering dimension.
    pub by_dimension: Vec<(usize, f64, f64)>,
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Aggregates `traces` (all of the same length B).
pub fn aggregate(
    sampler: &str,
    updater: &str,
    mode: &str,
    traces: &[SessionTrace],
    tolerance: f64,
) -> CellMetrics {
    let rounds = traces
        .iter()
        .map(|t| t.best_so_far.len())
        .max()
        .unwrap_or(0);
    let runs = traces.len().max(1) as f64;
    let mut curve = vec![0.0; rounds];
    let mut reached: Vec<f64> = Vec::with_capacity(traces.len());
    let mut final_state = 0.0;
    let mut cpu: Vec<f64> = Vec::new();
    for trace in traces {
        let start = trace.start_distance.max(1e-12);
        for (slot, best) in curve.iter_mut().zip(&trace.best_so_far) {
            *slot += best / start / runs;
        }
        let first = trace.best_so_far.iter().position(|d| *d <= tolerance);
        reached.push(first.map(|r| (r + 1) as f64).unwrap_or(f64::INFINITY));
        final_state += trace.state_distance.last().copied().unwrap_or(start) / start / runs;
        cpu.extend(trace.cpu_us.iter().copied());
    }
    let successes = reached.iter().filter(|r| r.is_finite()).count();
    let median_rounds = median(&mut reached.clone());
    let cpu_mean = cpu.iter().sum::<f64>() / cpu.len().max(1) as f64;
    let mut dimensions: Vec<usize> = traces.iter().map(|t| t.dimension).collect();
    dimensions.sort_unstable();
    dimensions.dedup();
    let by_dimension = dimensions
        .into_iter()
        .map(|d| {
            let group: Vec<&SessionTrace> = traces.iter().filter(|t| t.dimension == d).collect();
            let count = group.len().max(1) as f64;
            let success = group
                .iter()
                .filter(|t| t.best_so_far.iter().any(|b| *b <= tolerance))
                .count() as f64
                / count;
            let auc = group
                .iter()
                .map(|t| {
                    let start = t.start_distance.max(1e-12);
                    t.best_so_far.iter().map(|b| b / start).sum::<f64>()
                        / t.best_so_far.len().max(1) as f64
                })
                .sum::<f64>()
                / count;
            (d, success, auc)
        })
        .collect();
    CellMetrics {
        sampler: sampler.into(),
        updater: updater.into(),
        mode: mode.into(),
        runs: traces.len(),
        success_rate: successes as f64 / runs,
        median_rounds_to_target: median_rounds.is_finite().then_some(median_rounds),
        auc: curve.iter().sum::<f64>() / rounds.max(1) as f64,
        final_best_ratio: curve.last().copied().unwrap_or(1.0),
        best_curve: curve,
        final_state_ratio: final_state,
        cpu_us_median: median(&mut cpu),
        cpu_us_mean: cpu_mean,
        by_dimension,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_median_and_curve() {
        let trace = |best: Vec<f64>| SessionTrace {
            dimension: 5,
            start_distance: 1.0,
            state_distance: vec![0.5; best.len()],
            cpu_us: vec![1.0; best.len()],
            best_so_far: best,
        };
        let traces = [
            trace(vec![0.9, 0.1, 0.1]),
            trace(vec![0.8, 0.7, 0.6]),
            trace(vec![0.05, 0.05, 0.05]),
        ];
        let m = aggregate("s", "u", "m", &traces, 0.1);
        assert!((m.success_rate - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.median_rounds_to_target, Some(2.0));
        assert!((m.best_curve[0] - (0.9 + 0.8 + 0.05) / 3.0).abs() < 1e-12);
        assert!((m.final_state_ratio - 0.5).abs() < 1e-12);
        assert_eq!(m.by_dimension.len(), 1);
        assert!((m.by_dimension[0].1 - 2.0 / 3.0).abs() < 1e-12);
        let m = aggregate("s", "u", "m", &traces[1..2], 0.1);
        assert_eq!(m.median_rounds_to_target, None);
    }
}
