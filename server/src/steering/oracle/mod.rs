//! The simulated-user ("oracle") benchmark: whole sessions through the server's own round
//! composition, normalization and updaters, against a synthetic user with a hidden target in
//! z-space, over a sampler × updater × feedback-mode grid, with two baselines at equal image
//! budget (no-update resampling and winner-copy).

mod metrics;
mod render;
mod session;
mod step_cost;
mod user;
pub mod v2;

use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use metrics::{aggregate, CellMetrics};
pub use render::{render_full_table, render_table};
pub use session::{run_session, SessionTrace, Strategy};
pub use step_cost::{measure_step_costs, StepCost};
pub use user::{draw_target, SimulatedUser};

use crate::steering::config::StrategyConfig;
use crate::steering::kinds::{FeedbackMode, SamplerKind, SeedPolicy, UpdaterKind};
use crate::steering::seeds::seed_token;

/// Benchmark settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OracleOptions {
    /// Samplers in the grid.
    pub samplers: Vec<SamplerKind>,
    /// Updaters in the grid.
    pub updaters: Vec<UpdaterKind>,
    /// Feedback modes in the grid.
    pub modes: Vec<FeedbackMode>,
    /// Steering dimensions.
    pub dimensions: Vec<u32>,
    /// Hidden targets per dimension.
    pub targets_per_dimension: usize,
    /// Session seeds per target (they change the session id, hence sampler seeds and choice noise).
    pub seeds: Vec<u64>,
    /// Round budget B.
    pub rounds: u32,
    /// Success tolerance τ on ‖z − t‖.
    pub tolerance: f64,
    /// Bradley–Terry choice temperature (0 = noise-free).
    pub temperature: f64,
    /// Candidates per round (pinned one included); at least 2.
    pub candidate_count: u32,
    /// Session trust radius.
    pub trust_radius: f64,
    /// Range of the targets' norms.
    pub target_radius: (f64, f64),
    /// Seed policy of the sessions.
    pub seed_policy: SeedPolicy,
}

impl Default for OracleOptions {
    /// The full 13 × 12 × 6 grid, d ∈ {5, 16}, 3 targets × 2 seeds, B = 12, τ = 0.12, T = 0.05.
    fn default() -> Self {
        OracleOptions {
            samplers: SamplerKind::ALL.to_vec(),
            updaters: UpdaterKind::ALL.to_vec(),
            modes: FeedbackMode::ALL.to_vec(),
            dimensions: vec![5, 16],
            targets_per_dimension: 3,
            seeds: vec![1, 2],
            rounds: 12,
            tolerance: 0.12,
            temperature: 0.05,
            candidate_count: 5,
            trust_radius: 0.55,
            target_radius: (0.2, 0.5),
            seed_policy: SeedPolicy::FixedPerCandidate,
        }
    }
}

impl OracleOptions {
    /// A small grid for tests (3 samplers × 3 updaters × 3 modes, d = 5, 2 targets, 1 seed).
    pub fn quick() -> Self {
        OracleOptions {
            samplers: vec![
                SamplerKind::ExploitOrthogonal,
                SamplerKind::SphericalCover,
                SamplerKind::LineSearch,
            ],
            updaters: vec![
                UpdaterKind::WinnerAverage,
                UpdaterKind::BradleyTerryPreference,
                UpdaterKind::LinearPreference,
            ],
            modes: vec![
                FeedbackMode::ScalarRating,
                FeedbackMode::WinnerOnly,
                FeedbackMode::TopK,
            ],
            dimensions: vec![5],
            targets_per_dimension: 2,
            seeds: vec![1],
            rounds: 8,
            ..OracleOptions::default()
        }
    }
}

/// Everything the benchmark measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OracleReport {
    /// The settings used.
    pub options: OracleOptions,
    /// One entry per sampler × updater × mode.
    pub cells: Vec<CellMetrics>,
    /// `no_update` and `winner_copy` per sampler × mode (equal image budget).
    pub baselines: Vec<CellMetrics>,
    /// Sessions run (cells and baselines).
    pub sessions: usize,
    /// Bare propose / normalize + update costs (reference §9 configurations).
    pub step_costs: Vec<StepCost>,
    /// Wall-clock time of the whole run (s).
    pub wall_seconds: f64,
}

/// Why the benchmark could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OracleError {
    /// The options are inconsistent.
    #[error("invalid oracle option {field}: {message}")]
    InvalidOption {
        /// The option.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A session failed (should not happen; reported instead of panicking).
    #[error("session {session} failed: {message}")]
    Session {
        /// Session id.
        session: String,
        /// The error.
        message: String,
    },
}

fn check(options: &OracleOptions) -> Result<(), OracleError> {
    let bad = |field: &'static str, message: &str| {
        Err(OracleError::InvalidOption {
            field,
            message: message.into(),
        })
    };
    if options.candidate_count < 2 || options.candidate_count > 12 {
        return bad("candidate_count", "must be between 2 and 12");
    }
    if options.dimensions.iter().any(|d| !(1..=16).contains(d)) {
        return bad("dimensions", "each must be between 1 and 16");
    }
    if options.rounds == 0 || options.rounds > 200 {
        return bad("rounds", "must be between 1 and 200");
    }
    if !(options.trust_radius > 0.0 && options.trust_radius <= 1.0) {
        return bad("trust_radius", "must be in (0, 1]");
    }
    if !(options.temperature.is_finite() && options.temperature >= 0.0) {
        return bad("temperature", "must be a finite number >= 0");
    }
    let (lo, hi) = options.target_radius;
    if !(lo.is_finite() && hi.is_finite() && 0.0 < lo && lo <= hi) {
        return bad("target_radius", "must satisfy 0 < min <= max");
    }
    if options.targets_per_dimension == 0 || options.seeds.is_empty() {
        return bad("seeds", "need at least one target and one seed");
    }
    Ok(())
}

/// One session specification: (dimension, target index, seed).
fn session_specs(options: &OracleOptions) -> Vec<(u32, usize, u64)> {
    let mut specs = Vec::new();
    for &d in &options.dimensions {
        for k in 0..options.targets_per_dimension {
            for &s in &options.seeds {
                specs.push((d, k, s));
            }
        }
    }
    specs
}

fn run_cell(
    options: &OracleOptions,
    sampler: SamplerKind,
    mode: FeedbackMode,
    strategy: Strategy,
) -> Result<Vec<SessionTrace>, OracleError> {
    let mut traces = Vec::new();
    for (dimension, target_index, seed) in session_specs(options) {
        let config = StrategyConfig {
            sampler,
            updater: match strategy {
                Strategy::Updater(kind) => kind,
                Strategy::NoUpdate => UpdaterKind::WinnerAverage,
            },
            feedback_mode: mode,
            seed_policy: options.seed_policy,
            steering_dimension: dimension,
            candidate_count: options.candidate_count,
            trust_radius: options.trust_radius,
            ..StrategyConfig::default()
        };
        let target_seed = seed_token(&[&"oracle-target", &dimension, &target_index]);
        let target = draw_target(
            dimension as usize,
            options.target_radius,
            u128::from(target_seed),
        );
        let session_id = format!("oracle_d{dimension}_t{target_index}_s{seed}");
        let noise_seed = seed_token(&[&session_id, &sampler, &mode, &"user"]);
        let mut user = SimulatedUser::new(target, options.temperature, u128::from(noise_seed));
        let trace = run_session(&session_id, &config, strategy, &mut user, options.rounds)
            .map_err(|message| OracleError::Session {
                session: session_id.clone(),
                message,
            })?;
        traces.push(trace);
    }
    Ok(traces)
}

/// Runs the whole grid and the baselines.
pub fn run_oracle(options: &OracleOptions) -> Result<OracleReport, OracleError> {
    check(options)?;
    let started = Instant::now();
    let mut cells = Vec::new();
    let mut baselines = Vec::new();
    let mut sessions = 0;
    for &sampler in &options.samplers {
        for &mode in &options.modes {
            for (name, strategy) in [
                ("no_update", Strategy::NoUpdate),
                ("winner_copy", Strategy::Updater(UpdaterKind::WinnerCopy)),
            ] {
                let traces = run_cell(options, sampler, mode, strategy)?;
                sessions += traces.len();
                baselines.push(aggregate(
                    sampler.as_str(),
                    name,
                    mode.as_str(),
                    &traces,
                    options.tolerance,
                ));
            }
            for &updater in &options.updaters {
                let traces = run_cell(options, sampler, mode, Strategy::Updater(updater))?;
                sessions += traces.len();
                cells.push(aggregate(
                    sampler.as_str(),
                    updater.as_str(),
                    mode.as_str(),
                    &traces,
                    options.tolerance,
                ));
            }
        }
    }
    let wall_seconds = started.elapsed().as_secs_f64();
    Ok(OracleReport {
        options: options.clone(),
        cells,
        baselines,
        sessions,
        step_costs: measure_step_costs(if options.rounds >= 10 { 2000 } else { 50 }),
        wall_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_grid_runs_and_is_deterministic() {
        let options = OracleOptions::quick();
        let a = run_oracle(&options).unwrap_or_else(|e| panic!("{e}"));
        let b = run_oracle(&options).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.cells.len(), 27);
        assert_eq!(a.baselines.len(), 18);
        for (x, y) in a.cells.iter().zip(&b.cells) {
            assert_eq!(x.best_curve, y.best_curve);
            assert_eq!(x.final_state_ratio, y.final_state_ratio);
        }
        for cell in &a.cells {
            assert_eq!(cell.best_curve.len(), 8);
            assert!(
                cell.best_curve.windows(2).all(|w| w[1] <= w[0] + 1e-12),
                "best-so-far is monotone"
            );
            assert!(
                cell.best_curve[0] <= 1.0 + 1e-12,
                "round 1 shows the unsteered prompt"
            );
        }
        let text = render_table(&a);
        assert!(text.contains("no_update") && text.contains("exploit_orthogonal"));
    }

    #[test]
    fn bad_options_are_typed_errors() {
        let mut options = OracleOptions::quick();
        options.candidate_count = 1;
        let err = run_oracle(&options).unwrap_err();
        assert!(matches!(
            err,
            OracleError::InvalidOption {
                field: "candidate_count",
                ..
            }
        ));
    }

    #[test]
    fn noise_free_winner_copy_never_loses_ground() {
        let mut options = OracleOptions::quick();
        options.temperature = 0.0;
        options.samplers = vec![SamplerKind::RandomLocal];
        options.updaters = vec![UpdaterKind::WinnerCopy];
        options.modes = vec![FeedbackMode::WinnerOnly];
        let report = run_oracle(&options).unwrap_or_else(|e| panic!("{e}"));
        // With a noise-free user and winner_copy, the state is the best candidate shown so far.
        let cell = &report.cells[0];
        assert!((cell.final_state_ratio - cell.final_best_ratio).abs() < 1e-9);
    }
}
