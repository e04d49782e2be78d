//! Convergence report (§6.7) over the completed rounds, with the reference's two defects fixed:
//! `rounds_to_convergence` is cleared when the quiet streak breaks (so it is set exactly when
//! `converged` is true), and the threshold `min_delta · trust_radius` uses the session's radius
//! and is reported (`threshold`) so no caller has to hard-code 0.55.

use serde::{Deserialize, Serialize};

use crate::steering::composition::RoundRecord;
use crate::steering::config::StrategyConfig;
use crate::steering::math::{padded_distance, round6};

/// How settled a session's trajectory is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConvergenceReport {
    /// Rounds whose feedback was applied.
    pub rounds_completed: usize,
    /// ‖Δz‖ per completed round, rounded to 6 decimals.
    pub step_magnitudes: Vec<f64>,
    /// The last step.
    pub latest_step: Option<f64>,
    /// Mean of the last `patience` steps (all steps when patience is 0).
    pub mean_recent_step: Option<f64>,
    /// Trailing run of quiet rounds.
    pub quiet_streak: u32,
    /// Required quiet rounds (0 disables detection).
    pub patience: u32,
    /// Threshold as a fraction of the trust radius.
    pub min_delta: f64,
    /// `quiet_streak ≥ patience` (and patience > 0).
    pub converged: bool,
    /// Round index at which the current quiet streak reached the patience (`None` unless converged).
    pub rounds_to_convergence: Option<u32>,
    /// `step_below_threshold`, `incumbent_repeated` or `not_converged`.
    pub reason: String,
    /// `min_delta · trust_radius` of the session (new field).
    pub threshold: f64,
}

fn winner_key(round: &RoundRecord) -> Option<String> {
    round.winner().map(|w| w.image_key())
}

/// Evaluates convergence from the session's state and history.
pub fn evaluate_convergence(
    config: &StrategyConfig,
    current_z: &[f64],
    rounds: &[RoundRecord],
) -> ConvergenceReport {
    let patience = config.convergence_patience;
    let min_delta = config.convergence_min_delta;
    let threshold = min_delta * config.trust_radius;
    let completed: Vec<&RoundRecord> = rounds
        .iter()
        .filter(|r| r.winner_candidate_id.is_some())
        .collect();
    let mut report = ConvergenceReport {
        rounds_completed: completed.len(),
        step_magnitudes: Vec::new(),
        latest_step: None,
        mean_recent_step: None,
        quiet_streak: 0,
        patience,
        min_delta,
        converged: false,
        rounds_to_convergence: None,
        reason: "not_converged".into(),
        threshold,
    };
    if completed.is_empty() {
        return report;
    }
    let mut points: Vec<&[f64]> = completed.iter().map(|r| r.incumbent_z.as_slice()).collect();
    points.push(current_z);
    let steps: Vec<f64> = (0..completed.len())
        .map(|i| padded_distance(points[i + 1], points[i]))
        .collect();
    report.step_magnitudes = steps.iter().map(|s| round6(*s)).collect();
    report.latest_step = report.step_magnitudes.last().copied();
    let window = if patience > 0 {
        patience as usize
    } else {
        steps.len()
    };
    let window = window.min(steps.len()).max(1);
    report.mean_recent_step = Some(round6(
        steps[steps.len() - window..].iter().sum::<f64>() / window as f64,
    ));
    if patience == 0 {
        return report;
    }

    let mut streak = 0u32;
    let mut reached_at: Option<u32> = None;
    let mut previous_key: Option<String> = None;
    for (index, round) in completed.iter().enumerate() {
        let key = winner_key(round);
        let step_quiet = steps[index] <= threshold;
        let image_quiet = index > 0 && key.is_some() && key == previous_key;
        previous_key = key;
        if step_quiet || image_quiet {
            streak += 1;
        } else {
            streak = 0;
            reached_at = None;
        }
        if streak >= patience && reached_at.is_none() {
            reached_at = Some(round.round_index);
        }
    }
    report.quiet_streak = streak;
    report.converged = streak >= patience;
    report.rounds_to_convergence = reached_at;
    if report.converged {
        let last_step_quiet = steps[steps.len() - 1] <= threshold;
        let last_key = winner_key(completed[completed.len() - 1]);
        let previous = (completed.len() >= 2)
            .then(|| winner_key(completed[completed.len() - 2]))
            .flatten();
        let last_image_quiet = last_key.is_some() && last_key == previous;
        report.reason = if !last_step_quiet && last_image_quiet {
            "incumbent_repeated".into()
        } else {
            "step_below_threshold".into()
        };
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steering::composition::RoundCandidate;

    fn round(index: u32, z: &[f64], winner_image: &str) -> RoundRecord {
        RoundRecord {
            id: format!("r{index}"),
            round_index: index,
            incumbent_z: z.to_vec(),
            candidates: vec![RoundCandidate {
                id: format!("w{index}"),
                candidate_index: 0,
                z: z.to_vec(),
                role: "x".into(),
                seed: 0,
                image_ref: Some(winner_image.into()),
                predicted_score: None,
                predicted_uncertainty: None,
                generation_params: Default::default(),
            }],
            winner_candidate_id: Some(format!("w{index}")),
        }
    }

    #[test]
    fn rounds_to_convergence_resets_when_the_streak_breaks() {
        let config = StrategyConfig::default();
        // quiet, quiet (converged at round 2), then a big move breaks the streak.
        let rounds = vec![
            round(1, &[0.0, 0.0], "a"),
            round(2, &[0.0, 0.0], "b"),
            round(3, &[0.0, 0.0], "c"),
        ];
        let report = evaluate_convergence(&config, &[0.5, 0.0], &rounds);
        assert!(!report.converged);
        assert_eq!(report.rounds_to_convergence, None);
        assert_eq!(report.quiet_streak, 0);
        let report = evaluate_convergence(&config, &[0.0, 0.0], &rounds);
        assert!(report.converged);
        assert_eq!(report.rounds_to_convergence, Some(2));
        assert_eq!(report.reason, "step_below_threshold");
    }

    #[test]
    fn threshold_follows_the_session_radius() {
        let mut config = StrategyConfig {
            trust_radius: 1.0,
            convergence_patience: 1,
            ..StrategyConfig::default()
        };
        let rounds = vec![round(1, &[0.0], "a")];
        // A step of 0.03 is quiet at R = 1.0 (threshold 0.04) but not at R = 0.55 (0.022).
        let report = evaluate_convergence(&config, &[0.03], &rounds);
        assert!((report.threshold - 0.04).abs() < 1e-12);
        assert!(report.converged);
        config.trust_radius = 0.55;
        assert!(!evaluate_convergence(&config, &[0.03], &rounds).converged);
    }

    #[test]
    fn patience_zero_reports_steps_but_never_converges() {
        let config = StrategyConfig {
            convergence_patience: 0,
            ..StrategyConfig::default()
        };
        let rounds = vec![round(1, &[0.0], "a"), round(2, &[0.0], "a")];
        let report = evaluate_convergence(&config, &[0.0], &rounds);
        assert!(!report.converged);
        assert_eq!(report.step_magnitudes, vec![0.0, 0.0]);
        assert_eq!(report.mean_recent_step, Some(0.0));
    }
}
