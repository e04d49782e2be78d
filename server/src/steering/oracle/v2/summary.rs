//! Figures of one configuration: per strategy and budget B, the mean closure of the best image
//! shown and of the incumbent and the success share, each with its bootstrap interval; rounds to
//! 50 %; mean curves; and paired differences / ratios of every preference variant against every
//! other strategy of the configuration (same resampled sessions).

use serde::{Deserialize, Serialize};

use super::contender::ContenderSpec;
use super::plan::{Group, GroupKey, Suite};
use super::session::SessionOutcome;
use super::stats::{median_rounds, Estimate, Resampler};
use crate::steering::seeds::seed_token;

/// Which per-session number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Closure of the best image shown by round B.
    Best,
    /// Closure of the incumbent after round B.
    Incumbent,
    /// 1 when the best image came within 0.12 by round B.
    Success,
}

/// Per-session values of `metric` at budget `budget` (1-based round).
pub fn values(outcomes: &[SessionOutcome], metric: Metric, budget: u32) -> Vec<f64> {
    let at = |v: &[f64]| {
        let i = (budget as usize).clamp(1, v.len().max(1)) - 1;
        v.get(i).copied().unwrap_or(f64::NAN)
    };
    outcomes
        .iter()
        .map(|o| match metric {
            Metric::Best => at(&o.best),
            Metric::Incumbent => at(&o.incumbent),
            Metric::Success => f64::from(u8::from(o.success_by(budget))),
        })
        .collect()
}

/// The figures of one budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetFigures {
    /// B.
    pub budget: u32,
    /// Closure of the best image shown.
    pub best: Estimate,
    /// Closure of the incumbent.
    pub incumbent: Estimate,
    /// Share of sessions within 0.12 of the target.
    pub success: Estimate,
}

/// A preference variant against another strategy of the configuration (paired).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The other strategy.
    pub against: String,
    /// B.
    pub budget: u32,
    /// Best-shown closure difference (variant − other).
    pub best_difference: Estimate,
    /// Incumbent closure difference.
    pub incumbent_difference: Estimate,
    /// Best-shown closure ratio (variant / other).
    pub best_ratio: Estimate,
}

/// One strategy in one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContenderSummary {
    /// Report name.
    pub label: String,
    /// The strategy.
    pub spec: ContenderSpec,
    /// Figures per budget.
    pub budgets: Vec<BudgetFigures>,
    /// Median first round whose best image closes 50 % (`None`: under half get there).
    pub median_rounds_to_half: Option<f64>,
    /// Share of sessions that close 50 % within the session.
    pub reached_half: f64,
    /// Mean best closure per round.
    pub best_curve: Vec<f64>,
    /// Mean incumbent closure per round.
    pub incumbent_curve: Vec<f64>,
    /// Comparisons (preference variants only).
    pub comparisons: Vec<Comparison>,
}

impl ContenderSummary {
    /// The figures at budget `b`.
    pub fn at(&self, b: u32) -> Option<&BudgetFigures> {
        self.budgets.iter().find(|f| f.budget == b)
    }

    /// The comparison against `other` at budget `b`.
    pub fn versus(&self, other: &str, b: u32) -> Option<&Comparison> {
        self.comparisons
            .iter()
            .find(|c| c.against == other && c.budget == b)
    }
}

/// One configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// The configuration.
    pub key: GroupKey,
    /// Suites that show it.
    pub suites: Vec<Suite>,
    /// Sessions per strategy.
    pub sessions: usize,
    /// Strategies.
    pub contenders: Vec<ContenderSummary>,
}

impl GroupSummary {
    /// The strategy labelled `label`.
    pub fn contender(&self, label: &str) -> Option<&ContenderSummary> {
        self.contenders.iter().find(|c| c.label == label)
    }
}

/// The resampler of a configuration (seeded by its key, so reruns resample identically).
pub fn resampler(key: &GroupKey, n: usize, resamples: usize) -> Resampler {
    let seed = seed_token(&[
        &"v2-bootstrap",
        &key.d,
        &key.k,
        &key.mode,
        &key.user.label(),
    ]);
    Resampler::new(n, resamples, seed)
}

fn mean_curve(outcomes: &[SessionOutcome], pick: fn(&SessionOutcome) -> &[f64]) -> Vec<f64> {
    let rounds = outcomes.iter().map(|o| pick(o).len()).max().unwrap_or(0);
    let n = outcomes.len().max(1) as f64;
    (0..rounds)
        .map(|r| outcomes.iter().filter_map(|o| pick(o).get(r)).sum::<f64>() / n)
        .collect()
}

fn comparisons(
    r: &Resampler,
    budgets: &[u32],
    mine: &[SessionOutcome],
    others: &[(String, &[SessionOutcome])],
) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (label, theirs) in others {
        for &b in budgets {
            let (a, o) = (
                values(mine, Metric::Best, b),
                values(theirs, Metric::Best, b),
            );
            let ai = values(mine, Metric::Incumbent, b);
            let oi = values(theirs, Metric::Incumbent, b);
            out.push(Comparison {
                against: label.clone(),
                budget: b,
                best_difference: r.difference(&a, &o),
                incumbent_difference: r.difference(&ai, &oi),
                best_ratio: r.ratio(&a, &o),
            });
        }
    }
    out
}

/// Labels every ablation variant is compared with (the default preference is compared with
/// every other strategy).
pub const VARIANT_REFERENCES: [&str; 4] =
    ["preference", "seed_best_of_n", "random_z", "best_classic"];

fn compared(spec: &ContenderSpec, label: &str, other: &str) -> bool {
    match spec {
        ContenderSpec::Preference(_) if label == "preference" => other != label,
        ContenderSpec::Preference(_) => VARIANT_REFERENCES.contains(&other),
        _ => false,
    }
}

/// Summarises one configuration; `outcomes[c]` are the sessions of `group.contenders[c]`.
pub fn summarize(
    group: &Group,
    outcomes: &[Vec<SessionOutcome>],
    budgets: &[u32],
    resamples: usize,
) -> GroupSummary {
    let n = outcomes.first().map(Vec::len).unwrap_or(0);
    let r = resampler(&group.key, n, resamples);
    let labelled: Vec<(String, &[SessionOutcome])> = group
        .contenders
        .iter()
        .zip(outcomes)
        .map(|(c, o)| (c.label(), o.as_slice()))
        .collect();
    let contenders = group
        .contenders
        .iter()
        .zip(outcomes)
        .map(|(spec, mine)| {
            let label = spec.label();
            let figures = budgets
                .iter()
                .map(|&b| BudgetFigures {
                    budget: b,
                    best: r.mean(&values(mine, Metric::Best, b)),
                    incumbent: r.mean(&values(mine, Metric::Incumbent, b)),
                    success: r.mean(&values(mine, Metric::Success, b)),
                })
                .collect();
            let half: Vec<Option<u32>> = mine.iter().map(|o| o.rounds_to(0.5)).collect();
            let others: Vec<(String, &[SessionOutcome])> = labelled
                .iter()
                .filter(|(other, _)| compared(spec, &label, other))
                .cloned()
                .collect();
            ContenderSummary {
                budgets: figures,
                median_rounds_to_half: median_rounds(&half),
                reached_half: half.iter().filter(|h| h.is_some()).count() as f64
                    / mine.len().max(1) as f64,
                best_curve: mean_curve(mine, |o| &o.best),
                incumbent_curve: mean_curve(mine, |o| &o.incumbent),
                comparisons: comparisons(&r, budgets, mine, &others),
                label,
                spec: *spec,
            }
        })
        .collect();
    GroupSummary {
        key: group.key.clone(),
        suites: group.suites.clone(),
        sessions: n,
        contenders,
    }
}
