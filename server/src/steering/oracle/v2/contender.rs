//! The strategies the v2 oracle compares ("contenders"), all at the same image budget of K
//! images per round: the `preference` strategy and its ablation variants and two `classic`
//! cells through the domain step, and four baselines that do not use it (random z in the trust
//! ball, seed best-of-N at z = 0, a (1+λ)-ES and a CMA-ES).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::baselines::{BaselineKind, SimpleBaseline};
use super::cmaes::CmaEs;
use super::domain::DomainContender;
use super::respond::Shown;
use crate::steering::composition::CompositionError;
use crate::steering::config::ConfigError;
use crate::steering::feedback::FeedbackError;
use crate::steering::kinds::{Acquisition, FeedbackMode, SamplerKind, SeedPolicy, UpdaterKind};
use crate::steering::step::StepError;

/// A variant of the `preference` strategy (the default is the product's).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PreferenceVariant {
    /// Config `acquisition`.
    pub acquisition: Acquisition,
    /// Config `prior_width`.
    pub prior_width: f64,
    /// Config `seed_casting` = [`CAST_SEEDS`] (round 1 casts 12 seeds at z = 0, the most the
    /// config allows; the session then shows 12 − K more images than the others).
    pub seed_casting: bool,
    /// Config `seed_policy`.
    pub seed_policy: SeedPolicy,
    /// `Tuning::memory` (`None`: the whole session).
    pub memory: Option<usize>,
    /// `Tuning::trust_region`.
    pub trust_region: bool,
}

/// Seeds a casting round shows.
pub const CAST_SEEDS: u32 = 12;

impl Default for PreferenceVariant {
    fn default() -> Self {
        PreferenceVariant {
            acquisition: Acquisition::Qeubo,
            prior_width: 0.4,
            seed_casting: false,
            seed_policy: SeedPolicy::Shared,
            memory: None,
            trust_region: true,
        }
    }
}

impl PreferenceVariant {
    /// `preference`, or `pref` plus what differs from the default.
    pub fn label(&self) -> String {
        let base = PreferenceVariant::default();
        let mut parts = Vec::new();
        if self.acquisition != base.acquisition {
            parts.push(format!("acq={}", self.acquisition));
        }
        if self.prior_width != base.prior_width {
            parts.push(format!("prior={}", self.prior_width));
        }
        if self.seed_casting {
            parts.push(format!("cast={CAST_SEEDS}"));
        }
        if self.seed_policy != base.seed_policy {
            parts.push(format!("seeds={}", self.seed_policy));
        }
        if let Some(n) = self.memory {
            parts.push(format!("memory={n}"));
        }
        if !self.trust_region {
            parts.push("tr=off".to_string());
        }
        if parts.is_empty() {
            "preference".into()
        } else {
            format!("pref {}", parts.join(" "))
        }
    }
}

/// A strategy of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContenderSpec {
    /// The Bayesian preference strategy (a variant of it).
    Preference(PreferenceVariant),
    /// A `classic` sampler + updater cell.
    Classic {
        /// Sampler.
        sampler: SamplerKind,
        /// Updater.
        updater: UpdaterKind,
    },
    /// K − 1 uniform points in the trust ball around the prompt, the last pick pinned.
    RandomZ,
    /// K − 1 fresh seeds at z = 0, the last pick pinned.
    SeedBestOfN,
    /// (1+λ)-ES: the parent pinned, λ = K − 1 Gaussian children, step ×1.3 / ×0.8.
    OnePlusLambda,
    /// CMA-ES: the mean pinned, K − 1 samples, weighted recombination of the known ranking.
    CmaEs,
}

/// The reference default cell (`exploit_orthogonal` + `winner_average`).
pub const REFERENCE_DEFAULT: ContenderSpec = ContenderSpec::Classic {
    sampler: SamplerKind::ExploitOrthogonal,
    updater: UpdaterKind::WinnerAverage,
};
/// The best v1 cell (`incumbent_mix` + `score_weighted_preference`).
pub const BEST_CLASSIC: ContenderSpec = ContenderSpec::Classic {
    sampler: SamplerKind::IncumbentMix,
    updater: UpdaterKind::ScoreWeightedPreference,
};

impl ContenderSpec {
    /// The default `preference` strategy.
    pub fn preference() -> Self {
        ContenderSpec::Preference(PreferenceVariant::default())
    }

    /// Report name.
    pub fn label(&self) -> String {
        match self {
            ContenderSpec::Preference(v) => v.label(),
            c if *c == REFERENCE_DEFAULT => "reference_default".into(),
            c if *c == BEST_CLASSIC => "best_classic".into(),
            ContenderSpec::Classic { sampler, updater } => format!("classic {sampler}+{updater}"),
            ContenderSpec::RandomZ => "random_z".into(),
            ContenderSpec::SeedBestOfN => "seed_best_of_n".into(),
            ContenderSpec::OnePlusLambda => "es_1+lambda".into(),
            ContenderSpec::CmaEs => "cma_es".into(),
        }
    }

    /// Whether it runs through the domain step (and so is timed).
    pub fn is_domain(&self) -> bool {
        matches!(
            self,
            ContenderSpec::Preference(_) | ContenderSpec::Classic { .. }
        )
    }
}

/// Why a contender could not take a step.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContenderError {
    /// The config was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The domain could not compose the round.
    #[error(transparent)]
    Composition(#[from] CompositionError),
    /// The domain refused the feedback.
    #[error(transparent)]
    Step(#[from] StepError),
    /// A baseline could not read the feedback.
    #[error(transparent)]
    Feedback(#[from] FeedbackError),
    /// Feedback came without a round, or named no shown image.
    #[error("feedback does not fit the round: {0}")]
    Round(String),
}

/// The image a strategy keeps after a round: z and render seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// Steering vector.
    pub z: Vec<f64>,
    /// Render seed.
    pub seed: u64,
}

/// One strategy's side of a session.
pub trait Contender {
    /// The next round's K candidates (slot 0 pinned unless it is a seed-casting round).
    fn propose(&mut self) -> Result<Vec<Shown>, ContenderError>;
    /// Applies the user's raw payload to the last round; returns the incumbent: the image the
    /// strategy keeps (and pins next).
    fn feedback(&mut self, payload: &Value) -> Result<Kept, ContenderError>;
    /// The time of the last round's domain calls alone (ns), for contenders that make them.
    fn step_cost_ns(&self) -> Option<u64> {
        None
    }
}

/// What every contender of a session shares.
#[derive(Debug, Clone)]
pub struct SessionSetup {
    /// Session id (the domain derives seeds from it).
    pub session_id: String,
    /// Steering dimension.
    pub d: usize,
    /// Images per round.
    pub k: usize,
    /// Feedback mode.
    pub mode: FeedbackMode,
    /// The start image's seed (the `shared` seed of epoch 0).
    pub start_seed: u64,
}

/// A fresh contender for one session.
pub fn start(
    spec: &ContenderSpec,
    setup: &SessionSetup,
) -> Result<Box<dyn Contender>, ContenderError> {
    Ok(match spec {
        ContenderSpec::Preference(v) => Box::new(DomainContender::preference(setup, v)?),
        ContenderSpec::Classic { sampler, updater } => {
            Box::new(DomainContender::classic(setup, *sampler, *updater)?)
        }
        ContenderSpec::RandomZ => Box::new(SimpleBaseline::new(setup, BaselineKind::RandomZ)),
        ContenderSpec::SeedBestOfN => {
            Box::new(SimpleBaseline::new(setup, BaselineKind::SeedBestOfN))
        }
        ContenderSpec::OnePlusLambda => {
            Box::new(SimpleBaseline::new(setup, BaselineKind::OnePlusLambda))
        }
        ContenderSpec::CmaEs => Box::new(CmaEs::new(setup)),
    })
}
