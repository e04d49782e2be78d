//! Step cost of the preference strategy: the time of `next_round` + `apply_feedback` per round
//! (every round of whole sessions, d = 16, K = 6, 15 rounds), measured on one thread after the
//! benchmark (nothing else of ours running), each call timed once as the server makes it (the
//! strategy's posterior memo included), per feedback mode, p50 / p99 / max.

use serde::{Deserialize, Serialize};

use super::contender::{ContenderError, ContenderSpec};
use super::plan::V2Options;
use super::session::{run_session, SessionSpec};
use super::user::{UserKind, UserSpec};
use crate::steering::kinds::FeedbackMode;

/// Session numbers of the timing pass start here, so no posterior of the benchmark's own
/// sessions is still in the preference strategy's memo.
pub const TIMING_FIRST_SESSION: usize = 1_000_000;

/// Cost of one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeTiming {
    /// Feedback mode.
    pub mode: FeedbackMode,
    /// Steering dimension.
    pub d: usize,
    /// Images per round.
    pub k: usize,
    /// Rounds per session.
    pub rounds: u32,
    /// Rounds measured.
    pub samples: usize,
    /// Median per-round cost (ms).
    pub p50_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
    /// Largest (ms).
    pub max_ms: f64,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

/// Measures every mode of the options' main grid.
pub fn measure(o: &V2Options) -> Result<Vec<ModeTiming>, ContenderError> {
    let k = o.candidate_counts.iter().copied().max().unwrap_or(6);
    let d = o.timing_dimension;
    o.modes
        .iter()
        .map(|&mode| {
            let mut ms: Vec<f64> = Vec::new();
            for index in 0..o.timing_sessions {
                let spec = SessionSpec {
                    d,
                    k,
                    mode,
                    user: UserSpec::new(UserKind::Isotropic),
                    contender: ContenderSpec::preference(),
                    index: TIMING_FIRST_SESSION + index,
                    rounds: o.rounds,
                };
                let outcome = run_session(&spec)?;
                ms.extend(outcome.step_ns.iter().map(|ns| *ns as f64 / 1e6));
            }
            ms.sort_by(f64::total_cmp);
            Ok(ModeTiming {
                mode,
                d,
                k,
                rounds: o.rounds,
                samples: ms.len(),
                p50_ms: quantile(&ms, 0.5),
                p99_ms: quantile(&ms, 0.99),
                max_ms: ms.last().copied().unwrap_or(f64::NAN),
            })
        })
        .collect()
}
