//! The preference strategy's state after any number of rounds, as a pure function of them:
//! the posterior, the incumbent (the posterior's best image shown so far), the trust region
//! radius and whether the model still predicts the user better than chance (else the (1+λ)-ES
//! fallback drives the next round). Proposing a round and applying feedback both call
//! [`SessionState::compute`], so replay, time travel and forks recompute the same numbers.

use super::choices::{choice_terms, TagDirections};
use super::evidence::RoundEvidence;
use super::memo;
use super::posterior::{constant_model_log_likelihood, Posterior};
use crate::steering::composition::{RoundCandidate, RoundRecord};
use crate::steering::config::StrategyConfig;
use crate::steering::feedback::NormalizedFeedback;

/// Trust region growth when a challenger beats the incumbent.
pub const GROW: f64 = 1.3;
/// Trust region shrink when the incumbent wins.
pub const SHRINK: f64 = 0.8;
/// Rounds of predictive check before the ES fallback may take over.
pub const PREDICTIVE_WINDOW: usize = 3;
/// Role of a seed-casting candidate.
pub const SEED_CAST_ROLE: &str = "seed_cast";

/// One round as the strategy reads it: its candidates and, once given, its feedback.
#[derive(Debug, Clone, PartialEq)]
pub struct SteeringRound {
    /// The round (candidates with z, role, seed, image).
    pub record: RoundRecord,
    /// Normalized feedback (calibration: selected ≻ not selected, as approvals).
    pub feedback: Option<NormalizedFeedback>,
}

impl SteeringRound {
    /// Whether the round is a seed-casting round (every candidate at the same z).
    pub fn is_casting(&self) -> bool {
        !self.record.candidates.is_empty()
            && self
                .record
                .candidates
                .iter()
                .all(|c| c.role == SEED_CAST_ROLE)
    }

    /// The winner, when feedback names a candidate of the round.
    pub fn winner(&self) -> Option<&RoundCandidate> {
        let id = &self.feedback.as_ref()?.winner_candidate_id;
        self.record.candidates.iter().find(|c| &c.id == id)
    }
}

/// Switches for ablations (the oracle benchmark); the product always uses the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Adapt a trust region around the incumbent (off: proposals range over the whole cap).
    pub trust_region: bool,
    /// Hand the next round to the (1+λ)-ES when the model predicts worse than chance.
    pub es_fallback: bool,
    /// Fit on the last `n` judged rounds only (`None`: the whole session).
    pub memory: Option<usize>,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            trust_region: true,
            es_fallback: true,
            memory: None,
        }
    }
}

/// How much worse than a constant model (in nats over the window) the model must predict before
/// the ES fallback takes over: small misfits are noise, not misspecification.
pub const ES_MARGIN: f64 = 1.0;

/// Who drives the next round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// The preference model's acquisition.
    Model,
    /// The (1+λ)-ES fallback: the model predicted recent choices worse than chance.
    EvolutionStrategy,
}

impl Driver {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Model => "model",
            Driver::EvolutionStrategy => "es",
        }
    }
}

/// A shown candidate, located in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// Position of its round in the history.
    pub round: usize,
    /// The candidate.
    pub candidate: RoundCandidate,
}

/// The model's predictive check over the last rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictiveCheck {
    /// Log predictive likelihood of the window's choices under the model fitted before each.
    pub model: f64,
    /// The same under a constant (uniform-choice) model.
    pub constant: f64,
    /// Rounds in the window.
    pub rounds: usize,
}

/// Everything the next round depends on.
#[derive(Debug, Clone)]
pub struct SessionState {
    /// Dimension of z.
    pub d: usize,
    /// The evidence, one entry per round with feedback.
    pub evidence: Vec<RoundEvidence>,
    /// Posterior after every round.
    pub posterior: Posterior,
    /// The image the next round pins (none before any feedback).
    pub incumbent: Option<Located>,
    /// Trust region radius around the incumbent.
    pub radius: f64,
    /// Who proposes the next round.
    pub driver: Driver,
    /// The predictive check, when enough rounds exist.
    pub check: Option<PredictiveCheck>,
}

/// Largest ‖z‖ any proposal may have: twice the trust radius, so a target outside the
/// starting ball stays reachable while images stay close to the prompt's.
pub fn norm_cap(config: &StrategyConfig) -> f64 {
    2.0 * config.trust_radius
}

fn same_z(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

impl SessionState {
    /// The state after `rounds` (rounds without feedback are ignored).
    pub fn compute(
        config: &StrategyConfig,
        rounds: &[SteeringRound],
        tags: &dyn TagDirections,
        tuning: Tuning,
    ) -> SessionState {
        let d = config.steering_dimension as usize;
        let mut judged: Vec<&SteeringRound> =
            rounds.iter().filter(|r| r.feedback.is_some()).collect();
        if let Some(n) = tuning.memory {
            judged.drain(..judged.len().saturating_sub(n));
        }
        let evidence: Vec<RoundEvidence> = judged.iter().map(|r| round_evidence(r, tags)).collect();
        let posterior = (*memo::posterior(&evidence, d, config.prior_width)).clone();
        let radius = if tuning.trust_region {
            trust_radius(config, &judged)
        } else {
            2.0 * norm_cap(config)
        };
        let check = if tuning.es_fallback {
            predictive_check(config, &evidence, d)
        } else {
            None
        };
        let driver = match check {
            Some(c) if c.model < c.constant - ES_MARGIN => Driver::EvolutionStrategy,
            _ => Driver::Model,
        };
        let incumbent = match driver {
            Driver::Model => best_shown(&posterior, rounds),
            Driver::EvolutionStrategy => latest_winner(rounds),
        };
        SessionState {
            d,
            evidence,
            posterior,
            incumbent,
            radius,
            driver,
            check,
        }
    }
}

/// A round's evidence: its slots' z and its feedback's choice terms.
pub fn round_evidence(round: &SteeringRound, tags: &dyn TagDirections) -> RoundEvidence {
    let z: Vec<Vec<f64>> = round
        .record
        .candidates
        .iter()
        .map(|c| c.z.clone())
        .collect();
    let ids: Vec<&str> = round
        .record
        .candidates
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let terms = round
        .feedback
        .as_ref()
        .map(|f| choice_terms(f, &ids, tags))
        .unwrap_or_default();
    RoundEvidence::new(&z, terms)
}

/// Starts at `trust_radius`; ×1.3 when a challenger wins, ×0.8 when the incumbent (a z shown
/// before) wins; within [R/8, 2R]. Calibration and seed-casting rounds do not count.
fn trust_radius(config: &StrategyConfig, judged: &[&SteeringRound]) -> f64 {
    let base = config.trust_radius;
    let mut radius = base;
    let mut seen: Vec<&[f64]> = Vec::new();
    for round in judged {
        let steering = round.record.round_index > 0 && !round.is_casting();
        if steering {
            if let Some(winner) = round.winner() {
                let repeat = seen.iter().any(|z| same_z(z, &winner.z));
                radius *= if repeat { SHRINK } else { GROW };
                radius = radius.clamp(base / 8.0, 2.0 * base);
            }
        }
        seen.extend(round.record.candidates.iter().map(|c| c.z.as_slice()));
    }
    radius
}

/// Predictive log-likelihood of each of the last rounds under the posterior fitted on the
/// rounds before it (the one that proposed it), against a constant model; needs one more round
/// than the window.
fn predictive_check(
    config: &StrategyConfig,
    evidence: &[RoundEvidence],
    d: usize,
) -> Option<PredictiveCheck> {
    let informative: Vec<usize> = (0..evidence.len())
        .filter(|k| !evidence[*k].terms.is_empty())
        .collect();
    if informative.len() <= PREDICTIVE_WINDOW {
        return None;
    }
    let mut model = 0.0;
    let mut constant = 0.0;
    for &k in &informative[informative.len() - PREDICTIVE_WINDOW..] {
        let before = memo::posterior(&evidence[..k], d, config.prior_width);
        let round = std::slice::from_ref(&evidence[k]);
        model += before.predictive_log_likelihood(round);
        constant += constant_model_log_likelihood(round);
    }
    Some(PredictiveCheck {
        model,
        constant,
        rounds: PREDICTIVE_WINDOW,
    })
}

/// The round winner with the best posterior expected score (the newest copy on ties, so the
/// newest image is reused). Only images the user picked compete: the model decides which of
/// the user's picks is best (an early pick can beat a noisy later one), but it never pins an
/// image the user passed over — the ideal-point model cannot represent every taste (liking two
/// opposite variations more than the plain prompt between them), and the user stays in charge.
fn best_shown(posterior: &Posterior, rounds: &[SteeringRound]) -> Option<Located> {
    let mut best: Option<(f64, Located)> = None;
    for (k, round) in rounds.iter().enumerate() {
        if round.record.round_index == 0 {
            continue;
        }
        let Some(winner) = round.winner() else {
            continue;
        };
        let score = posterior.expected_score(&winner.z);
        if best.as_ref().is_none_or(|(s, _)| score >= *s) {
            best = Some((
                score,
                Located {
                    round: k,
                    candidate: winner.clone(),
                },
            ));
        }
    }
    best.map(|(_, l)| l)
}

/// The newest round's winner.
fn latest_winner(rounds: &[SteeringRound]) -> Option<Located> {
    rounds.iter().enumerate().rev().find_map(|(k, r)| {
        Some(Located {
            round: k,
            candidate: r.winner()?.clone(),
        })
    })
}
