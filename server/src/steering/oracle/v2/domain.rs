//! Contenders that run through THE domain step (`next_round` / `apply_feedback`), exactly as
//! the server does: the `preference` strategy (and its ablation variants) and `classic` cells.
//! Rounds are stored with unique candidate ids `r{round}c{slot}` and an image reference, and
//! each round keeps its normalized feedback, as in the event store.

use std::time::Instant;

use serde_json::Value;

use super::contender::{Contender, ContenderError, Kept, PreferenceVariant, SessionSetup};
use super::respond::Shown;
use super::user::TRUST_RADIUS;
use crate::steering::composition::RoundCandidate;
use crate::steering::config::StrategyConfig;
use crate::steering::kinds::{SamplerKind, SeedPolicy, Strategy, UpdaterKind};
use crate::steering::oracle::session::stored_round;
use crate::steering::preference::state::SEED_CAST_ROLE;
use crate::steering::preference::{shared_render_seed, NoTagDirections, SteeringRound, Tuning};
use crate::steering::seeds::seed_token;
use crate::steering::step::{apply_feedback, next_round, History};

/// A session driven by the domain step.
pub struct DomainContender {
    config: StrategyConfig,
    session_id: String,
    session_seed: u64,
    tuning: Tuning,
    rounds: Vec<SteeringRound>,
    current_z: Vec<f64>,
    incumbent: Option<String>,
    /// Propose and apply-feedback times of the last round (ns).
    cost: (u64, u64),
}

/// Runs `call` once; its result and its wall time (ns).
fn timed<T, E>(call: impl FnOnce() -> Result<T, E>) -> Result<(T, u64), E> {
    let started = Instant::now();
    let value = call()?;
    Ok((value, started.elapsed().as_nanos() as u64))
}

impl DomainContender {
    fn new(
        config: StrategyConfig,
        setup: &SessionSetup,
        tuning: Tuning,
    ) -> Result<Self, ContenderError> {
        config.validate()?;
        Ok(DomainContender {
            session_seed: u64::from(seed_token(&[&setup.session_id])),
            session_id: setup.session_id.clone(),
            current_z: vec![0.0; setup.d],
            config,
            tuning,
            rounds: Vec::new(),
            incumbent: None,
            cost: (0, 0),
        })
    }

    /// The `preference` strategy with `variant`'s config keys and tuning.
    pub fn preference(
        setup: &SessionSetup,
        variant: &PreferenceVariant,
    ) -> Result<Self, ContenderError> {
        let config = StrategyConfig {
            steering_dimension: setup.d as u32,
            candidate_count: setup.k as u32,
            feedback_mode: setup.mode,
            trust_radius: TRUST_RADIUS,
            acquisition: variant.acquisition,
            prior_width: variant.prior_width,
            seed_casting: if variant.seed_casting {
                super::contender::CAST_SEEDS
            } else {
                0
            },
            seed_policy: variant.seed_policy,
            ..StrategyConfig::defaults_for(Strategy::Preference)
        };
        let tuning = Tuning {
            memory: variant.memory,
            trust_region: variant.trust_region,
            ..Tuning::default()
        };
        Self::new(config, setup, tuning)
    }

    /// A `classic` cell (seeds `fixed-per-candidate`, the classic default).
    pub fn classic(
        setup: &SessionSetup,
        sampler: SamplerKind,
        updater: UpdaterKind,
    ) -> Result<Self, ContenderError> {
        let config = StrategyConfig {
            strategy: Strategy::Classic,
            sampler,
            updater,
            steering_dimension: setup.d as u32,
            candidate_count: setup.k as u32,
            feedback_mode: setup.mode,
            trust_radius: TRUST_RADIUS,
            seed_policy: SeedPolicy::FixedPerCandidate,
            ..StrategyConfig::default()
        };
        Self::new(config, setup, Tuning::default())
    }

    fn history(&self) -> History<'_> {
        History {
            session_id: &self.session_id,
            session_seed: self.session_seed,
            config: &self.config,
            rounds: &self.rounds,
            current_z: &self.current_z,
            current_round: self.rounds.len() as u32,
            incumbent_candidate_id: self.incumbent.as_deref(),
            seed_epoch: 0,
            shared_seed: shared_render_seed(&self.session_id, &self.rounds, 0),
            tags: &NoTagDirections,
            tuning: self.tuning,
        }
    }

    fn find(&self, id: &str) -> Option<&RoundCandidate> {
        self.rounds
            .iter()
            .rev()
            .flat_map(|r| r.record.candidates.iter())
            .find(|c| c.id == id)
    }
}

impl Contender for DomainContender {
    fn propose(&mut self) -> Result<Vec<Shown>, ContenderError> {
        let history = self.history();
        let (composed, ns) = timed(|| next_round(&history))?;
        self.cost.0 = ns;
        let record = stored_round(composed);
        let shown = record
            .candidates
            .iter()
            .map(|c| Shown {
                id: c.id.clone(),
                z: c.z.clone(),
                seed: c.seed,
                pinned: c.candidate_index == 0 && c.role != SEED_CAST_ROLE,
            })
            .collect();
        self.rounds.push(SteeringRound {
            record,
            feedback: None,
        });
        Ok(shown)
    }

    fn feedback(&mut self, payload: &Value) -> Result<Kept, ContenderError> {
        let history = self.history();
        let mode = self.config.feedback_mode;
        let (outcome, ns) = timed(|| apply_feedback(&history, mode, payload))?;
        self.cost.1 = ns;
        let winner = outcome.winner_candidate_id.clone();
        let last = self
            .rounds
            .last_mut()
            .ok_or_else(|| ContenderError::Round("no round awaits feedback".into()))?;
        last.record.winner_candidate_id = Some(winner.clone());
        last.feedback = Some(outcome.normalized);
        self.current_z = outcome.next_z;
        self.incumbent = Some(winner.clone());
        // preference keeps the posterior's best shown image; classic pins the winner.
        let kept_id = outcome
            .summary
            .get("incumbent_candidate_id")
            .and_then(Value::as_str)
            .filter(|_| self.config.is_preference())
            .unwrap_or(&winner)
            .to_string();
        let kept = self.find(&kept_id).ok_or_else(|| {
            ContenderError::Round(format!("kept image {kept_id} was never shown"))
        })?;
        Ok(Kept {
            z: if self.config.is_preference() {
                self.current_z.clone()
            } else {
                kept.z.clone()
            },
            seed: kept.seed,
        })
    }

    fn step_cost_ns(&self) -> Option<u64> {
        Some(self.cost.0 + self.cost.1)
    }
}
