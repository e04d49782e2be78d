//! The per-session strategy config (§2.8): every key, default and range of the reference, plus
//! the wave-2 keys (`strategy`, `basis`, `prior_width`, `acquisition`, `seed_casting`, the
//! `shared` seed policy), validated at creation (image size parsed, unknown keys refused with a
//! suggestion). It (de)serializes with serde so it can be frozen into an event; deserialization
//! runs the same validation.
//!
//! Two readings of a missing `strategy` key: a *stored* config (serde, [`StrategyConfig::from_map`])
//! predates the key and is `classic`, so old sessions replay unchanged; a *new* config
//! ([`StrategyConfig::from_map_new`], [`parse_yaml_new`]) gets the product default, `preference`.
//! The keys whose default depends on the strategy (`seed_policy`, `basis`) follow
//! [`StrategyConfig::defaults_for`].

mod error;
pub mod keys;
mod parse;
mod validate;
mod yaml;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::steering::kinds::{
    Acquisition, BasisKind, FeedbackMode, SamplerKind, SeedPolicy, SteeringMode, Strategy,
    UpdaterKind,
};
pub use error::{ConfigError, ConfigErrorKind};
pub use validate::{parse_image_size, IMAGE_SIDE_MAX, IMAGE_SIDE_MIN};
pub use yaml::{parse_yaml, parse_yaml_new, render_yaml};

/// Experiment-level strategy choices and tunable parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct StrategyConfig {
    /// `preference` (new sessions) or `classic` (the reference's sampler + updater; stored
    /// configs without the key).
    pub strategy: Strategy,
    /// Sampler (default `exploit_orthogonal`).
    pub sampler: SamplerKind,
    /// Updater (default `winner_average`).
    pub updater: UpdaterKind,
    /// Feedback mode (default `scalar_rating`).
    pub feedback_mode: FeedbackMode,
    /// Render-seed policy (`shared` for preference, `fixed-per-candidate` for classic).
    pub seed_policy: SeedPolicy,
    /// Round 1 shows this many seeds at z = 0 and the chosen one becomes the session's seed
    /// (0 = off; 2..=12; preference only).
    pub seed_casting: u32,
    /// Directions of z (`semantic` for preference, `sinusoidal` for classic).
    pub basis: BasisKind,
    /// Steering mode (default `low_dimensional`).
    pub steering_mode: SteeringMode,
    /// Length of z, 1..=16 (default 5).
    pub steering_dimension: u32,
    /// Candidates per round including the pinned one, 1..=12 (default 5).
    pub candidate_count: u32,
    /// `"WxH"`, multiples of 8 within 64..=2048 (default `512x512`).
    pub image_size: String,
    /// 0 < r ≤ 1 (default 0.55).
    pub trust_radius: f64,
    /// Expected ‖t‖ of the preference model's prior on the ideal point (0 < w ≤ 2, default 0.4).
    pub prior_width: f64,
    /// How the preference strategy chooses candidates (default `qeubo`).
    pub acquisition: Acquisition,
    /// 0..=10, 0 = off (default 0).
    pub stagnation_patience: u32,
    /// 1.0..=3.0 (default 1.0).
    pub stagnation_trust_radius_scale: f64,
    /// 0..=10, 0 disables detection (default 2).
    pub convergence_patience: u32,
    /// 0..=1, a fraction of the trust radius (default 0.04).
    pub convergence_min_delta: f64,
    /// 0..=2 (default 0.7).
    pub anchor_strength: f64,
    /// 0 < g ≤ 20 (default 7.5).
    pub guidance_scale: f64,
    /// 1..=100 (default 15).
    pub num_inference_steps: u32,
    /// Hugging Face id or prepared local slug (default `runwayml/stable-diffusion-v1-5`).
    pub model_name: String,
}

impl Default for StrategyConfig {
    /// The reference's defaults (`classic`): what a stored config without wave-2 keys means.
    fn default() -> Self {
        StrategyConfig {
            strategy: Strategy::Classic,
            sampler: SamplerKind::ExploitOrthogonal,
            updater: UpdaterKind::WinnerAverage,
            feedback_mode: FeedbackMode::ScalarRating,
            seed_policy: SeedPolicy::FixedPerCandidate,
            seed_casting: 0,
            basis: BasisKind::Sinusoidal,
            steering_mode: SteeringMode::LowDimensional,
            steering_dimension: 5,
            candidate_count: 5,
            image_size: "512x512".into(),
            trust_radius: 0.55,
            prior_width: 0.4,
            acquisition: Acquisition::Qeubo,
            stagnation_patience: 0,
            stagnation_trust_radius_scale: 1.0,
            convergence_patience: 2,
            convergence_min_delta: 0.04,
            anchor_strength: 0.7,
            guidance_scale: 7.5,
            num_inference_steps: 15,
            model_name: "runwayml/stable-diffusion-v1-5".into(),
        }
    }
}

impl StrategyConfig {
    /// The defaults of a strategy: `classic` is the reference's; `preference` changes the seed
    /// policy to `shared` and the basis to `semantic`.
    pub fn defaults_for(strategy: Strategy) -> Self {
        let classic = StrategyConfig::default();
        match strategy {
            Strategy::Classic => classic,
            Strategy::Preference => StrategyConfig {
                strategy,
                seed_policy: SeedPolicy::Shared,
                basis: BasisKind::Semantic,
                ..classic
            },
        }
    }

    /// Builds a validated config from a stored JSON object; missing keys take their defaults and
    /// a missing `strategy` means `classic` (configs written before the key existed).
    pub fn from_map(map: &Map<String, Value>) -> Result<Self, ConfigError> {
        parse::from_map(map, Strategy::Classic, &|_| None)
    }

    /// Builds a validated config for a new session or experiment: a missing `strategy` means
    /// `preference`, the product default.
    pub fn from_map_new(map: &Map<String, Value>) -> Result<Self, ConfigError> {
        parse::from_map(map, Strategy::Preference, &|_| None)
    }

    /// Whether the session steers with the preference model.
    pub fn is_preference(&self) -> bool {
        self.strategy == Strategy::Preference
    }

    /// Builds a validated config from a JSON value (must be an object).
    pub fn from_json(value: &Value) -> Result<Self, ConfigError> {
        match value {
            Value::Object(map) => Self::from_map(map),
            Value::Null => Self::from_map(&Map::new()),
            _ => Err(ConfigError::new(
                ConfigErrorKind::NotAMapping,
                None,
                "Config must be a mapping of key/value pairs.".into(),
            )),
        }
    }

    /// Checks every range and the image size.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::validate(self)
    }

    /// `(width, height)` of `image_size` (validated).
    pub fn image_dimensions(&self) -> Result<(u32, u32), ConfigError> {
        parse_image_size(&self.image_size)
    }
}

impl TryFrom<Map<String, Value>> for StrategyConfig {
    type Error = ConfigError;

    fn try_from(map: Map<String, Value>) -> Result<Self, Self::Error> {
        Self::from_map(&map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_the_reference_defaults_and_valid() {
        let config = StrategyConfig::default();
        assert!(config.validate().is_ok());
        assert_eq!(config.image_dimensions().ok(), Some((512, 512)));
        let json = serde_json::to_value(&config).unwrap_or_default();
        assert_eq!(json["seed_policy"], "fixed-per-candidate");
        assert_eq!(json["trust_radius"], 0.55);
        let keys: Vec<&str> = json
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let expected: Vec<&str> = keys::KEYS.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, expected);
    }

    #[test]
    fn json_round_trip_and_strict_deserialization() {
        let config = StrategyConfig {
            seed_policy: SeedPolicy::FixedAcrossRounds,
            trust_radius: 0.8,
            ..StrategyConfig::default()
        };
        let text = serde_json::to_string(&config).unwrap_or_default();
        let back: Result<StrategyConfig, _> = serde_json::from_str(&text);
        assert_eq!(back.ok(), Some(config));
        let bad: Result<StrategyConfig, _> = serde_json::from_value(json!({"trust_raduis": 0.9}));
        let message = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("trust_raduis") && message.contains("trust_radius"),
            "{message}"
        );
    }
}
