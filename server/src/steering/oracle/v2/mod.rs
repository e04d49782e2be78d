//! Oracle v2 (`stablesteering bench oracle --suite v2`): the steering strategies against
//! harder simulated users, with paired sessions and bootstrap intervals.
//!
//! - [`user`], [`respond`]: users that are isotropic, anisotropic, sparse (2–3 relevant axes),
//!   out of the trust ball, drifting or changing their mind at round 6, with a seed effect on
//!   utility, Gumbel choices, 5 % lapses, a status-quo bias and absolute star/approval thresholds.
//! - [`contender`], [`domain`], [`baselines`], [`cmaes`]: the strategies at equal image budget —
//!   `preference` (and its ablation variants) and two `classic` cells through the domain step,
//!   random z, seed best-of-N, (1+λ)-ES, CMA-ES.
//! - [`session`]: one session and its closure per round; [`plan`]: the suites;
//!   [`parallel`]: the deterministic two-thread run; [`stats`], [`summary`]: paired bootstrap
//!   figures; [`targets`]: the checklist; [`timing`]: the step cost; [`render`],
//!   [`render_suites`]: the text report.

pub mod baselines;
pub mod cmaes;
pub mod contender;
pub mod domain;
pub mod parallel;
pub mod plan;
pub mod render;
pub mod render_suites;
pub mod respond;
pub mod session;
pub mod stats;
pub mod summary;
pub mod targets;
pub mod timing;
pub mod user;

use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use contender::{ContenderError, ContenderSpec, PreferenceVariant};
pub use plan::{plan, Group, GroupKey, Suite, V2Options};
pub use render::render_v2;
pub use session::{run_session, SessionOutcome, SessionSpec};
pub use stats::Estimate;
pub use summary::GroupSummary;
pub use targets::TargetCheck;
pub use timing::ModeTiming;
pub use user::{UserKind, UserSpec};

/// Everything a v2 run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct V2Report {
    /// The settings.
    pub options: V2Options,
    /// Every configuration's figures.
    pub groups: Vec<GroupSummary>,
    /// The targets checklist.
    pub targets: Vec<TargetCheck>,
    /// Step cost per feedback mode.
    pub timing: Vec<ModeTiming>,
    /// Sessions run (timing pass excluded).
    pub sessions: usize,
    /// Wall time of the sessions and their statistics (s).
    pub wall_seconds: f64,
    /// Wall time of the timing pass (s).
    pub timing_seconds: f64,
}

/// Why a v2 run failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum V2Error {
    /// The options are inconsistent.
    #[error("invalid oracle v2 option {field}: {message}")]
    InvalidOption {
        /// The option.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A session failed (reported instead of panicking).
    #[error("session {index} of {strategy} ({setting}) failed: {source}")]
    Session {
        /// Session number.
        index: usize,
        /// Strategy label.
        strategy: String,
        /// The configuration.
        setting: String,
        /// The error.
        source: Box<ContenderError>,
    },
    /// A worker thread died, so some sessions are missing.
    #[error("{missing} sessions are missing (a worker thread stopped)")]
    Incomplete {
        /// How many.
        missing: usize,
    },
}

fn check(o: &V2Options) -> Result<(), V2Error> {
    let bad = |field: &'static str, message: &str| {
        Err(V2Error::InvalidOption {
            field,
            message: message.into(),
        })
    };
    let dims = o
        .dimensions
        .iter()
        .chain(&o.seed_dimensions)
        .chain(std::iter::once(&o.timing_dimension));
    if dims.clone().any(|d| !(1..=16).contains(d)) || o.dimensions.is_empty() {
        return bad("dimensions", "each must be between 1 and 16");
    }
    if o.candidate_counts.is_empty() || o.candidate_counts.iter().any(|k| !(2..=12).contains(k)) {
        return bad("candidate_counts", "each must be between 2 and 12");
    }
    if o.sessions < 2 || o.resamples < 100 {
        return bad("sessions", "need at least 2 sessions and 100 resamples");
    }
    if o.rounds == 0 || o.rounds > 100 || o.budgets.iter().any(|b| *b == 0 || *b > o.rounds) {
        return bad(
            "budgets",
            "rounds in 1..=100 and every budget in 1..=rounds",
        );
    }
    if o.modes.is_empty() || o.threads == 0 {
        return bad("modes", "need at least one mode and one thread");
    }
    Ok(())
}

fn setting(key: &GroupKey) -> String {
    format!("d={} K={} {} {}", key.d, key.k, key.mode, key.user.label())
}

/// Runs every session of `groups` (`outcomes[g][c][i]`).
fn run_groups(o: &V2Options, groups: &[Group]) -> Result<Vec<Vec<Vec<SessionOutcome>>>, V2Error> {
    let jobs: Vec<(usize, usize, usize)> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, group)| {
            (0..group.contenders.len()).flat_map(move |c| (0..o.sessions).map(move |i| (g, c, i)))
        })
        .collect();
    let flat = parallel::map_indexed(jobs.len(), o.threads, |j| {
        let (g, c, index) = jobs[j];
        let key = &groups[g].key;
        let contender = groups[g].contenders[c];
        let spec = SessionSpec {
            d: key.d,
            k: key.k,
            mode: key.mode,
            user: key.user,
            contender,
            index,
            rounds: o.rounds,
        };
        let mut outcome = run_session(&spec).map_err(|source| V2Error::Session {
            index,
            strategy: contender.label(),
            setting: setting(key),
            source: Box::new(source),
        })?;
        outcome.step_ns = Vec::new();
        Ok(outcome)
    })?;
    if flat.len() != jobs.len() {
        return Err(V2Error::Incomplete {
            missing: jobs.len() - flat.len(),
        });
    }
    let mut flat = flat.into_iter();
    Ok(groups
        .iter()
        .map(|group| {
            group
                .contenders
                .iter()
                .map(|_| flat.by_ref().take(o.sessions).collect())
                .collect()
        })
        .collect())
}

/// Runs the v2 suite.
pub fn run_v2(o: &V2Options) -> Result<V2Report, V2Error> {
    check(o)?;
    let started = Instant::now();
    let groups = plan(o);
    let outcomes = run_groups(o, &groups)?;
    let sessions = outcomes.iter().flatten().map(Vec::len).sum();
    let summaries: Vec<GroupSummary> = groups
        .iter()
        .zip(&outcomes)
        .map(|(g, out)| summary::summarize(g, out, &o.budgets, o.resamples))
        .collect();
    let wall_seconds = started.elapsed().as_secs_f64();
    let timed = Instant::now();
    let timing = timing::measure(o).map_err(|source| V2Error::Session {
        index: 0,
        strategy: "preference".into(),
        setting: "timing pass".into(),
        source: Box::new(source),
    })?;
    let timing_seconds = timed.elapsed().as_secs_f64();
    let targets = targets::checklist(&targets::Inputs {
        groups: &groups,
        summaries: &summaries,
        outcomes: &outcomes,
        timing: &timing,
        resamples: o.resamples,
    });
    Ok(V2Report {
        options: o.clone(),
        groups: summaries,
        targets,
        timing,
        sessions,
        wall_seconds,
        timing_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_suite_is_deterministic_and_renders() {
        let o = V2Options::quick();
        let a = run_v2(&o).unwrap_or_else(|e| panic!("{e}"));
        let b = run_v2(&V2Options {
            threads: 1,
            ..o.clone()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            a.groups, b.groups,
            "figures do not depend on threads or scheduling"
        );
        let strip = |r: &V2Report| {
            r.targets
                .iter()
                .filter(|t| !t.target.contains("p99"))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&a), strip(&b));
        assert_eq!(a.sessions, b.sessions);
        let text = render_v2(&a);
        for needle in [
            "Main table",
            "User types",
            "Seed effect",
            "Ablations",
            "Targets",
            "Step cost",
            "preference",
            "cma_es",
            "best-of-N",
        ] {
            assert!(text.contains(needle), "{needle} missing");
        }
        let json = serde_json::to_string(&a).unwrap_or_default();
        assert!(json.contains("\"targets\"") && json.contains("\"best_ratio\""));
        let p = a.groups[0]
            .contender("preference")
            .and_then(|c| c.at(10))
            .map(|f| f.best.value);
        assert!(
            p.is_some_and(|v| v > 0.0),
            "preference closes some distance: {p:?}"
        );
    }

    #[test]
    fn bad_options_are_typed_errors() {
        let o = V2Options {
            candidate_counts: vec![1],
            ..V2Options::quick()
        };
        assert!(matches!(
            run_v2(&o),
            Err(V2Error::InvalidOption {
                field: "candidate_counts",
                ..
            })
        ));
        let o = V2Options {
            budgets: vec![20],
            ..V2Options::quick()
        };
        assert!(matches!(
            run_v2(&o),
            Err(V2Error::InvalidOption {
                field: "budgets",
                ..
            })
        ));
    }
}
