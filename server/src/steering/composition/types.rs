//! The inputs and outputs of round composition: a small read-only view of the session and its
//! history, and the composed round the server renders and stores.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::steering::config::StrategyConfig;
use crate::steering::kinds::SeedPolicy;
use crate::steering::math::round6;

/// A stored candidate, as composition and convergence need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundCandidate {
    /// Candidate id.
    pub id: String,
    /// Slot in its round.
    pub candidate_index: usize,
    /// Steering vector.
    pub z: Vec<f64>,
    /// Sampler role.
    pub role: String,
    /// Render seed.
    pub seed: u64,
    /// Reference to its rendered image (the reference's `image_path`).
    pub image_ref: Option<String>,
    /// Placeholder score (kept for replay parity).
    pub predicted_score: Option<f64>,
    /// Placeholder uncertainty (kept for replay parity).
    pub predicted_uncertainty: Option<f64>,
    /// The candidate's `generation_params`.
    pub generation_params: Map<String, Value>,
}

impl RoundCandidate {
    /// The reference's image key: the image reference, else `repr` of z rounded to 6 decimals.
    pub fn image_key(&self) -> String {
        match self.image_ref.as_deref() {
            Some(path) if !path.is_empty() => path.to_string(),
            _ => {
                let parts: Vec<String> =
                    self.z.iter().map(|v| format!("{:?}", round6(*v))).collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }
}

/// A stored round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// Round id.
    pub id: String,
    /// 0 = calibration, then 1, 2, …
    pub round_index: u32,
    /// `current_z` when the round was generated.
    pub incumbent_z: Vec<f64>,
    /// Its candidates.
    pub candidates: Vec<RoundCandidate>,
    /// The winner once feedback was applied (`None` while awaiting feedback).
    pub winner_candidate_id: Option<String>,
}

impl RoundRecord {
    /// The winning candidate, when feedback was applied and the winner is in the round.
    pub fn winner(&self) -> Option<&RoundCandidate> {
        let id = self.winner_candidate_id.as_deref()?;
        self.candidates.iter().find(|c| c.id == id)
    }
}

/// What round composition reads from a session.
#[derive(Debug, Clone, Copy)]
pub struct SessionView<'a> {
    /// Session id (seeds are derived from it).
    pub session_id: &'a str,
    /// The frozen strategy config.
    pub config: &'a StrategyConfig,
    /// Current steering state.
    pub current_z: &'a [f64],
    /// Rounds generated so far (the new round gets `current_round + 1`).
    pub current_round: u32,
    /// The winner of the last completed round.
    pub incumbent_candidate_id: Option<&'a str>,
    /// History in `round_index` order (the last entry is the previous round; stagnation reads the
    /// trailing completed rounds).
    pub rounds: &'a [RoundRecord],
}

/// One candidate of a composed round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComposedCandidate {
    /// Slot.
    pub candidate_index: usize,
    /// Steering vector.
    pub z: Vec<f64>,
    /// Role (`baseline_prompt`, `incumbent`, or the sampler's).
    pub role: String,
    /// Render seed.
    pub seed: u64,
    /// Carried-forward incumbent: reuse `image_ref`, do not render again.
    pub carried_forward: bool,
    /// The image to reuse (carried-forward only).
    pub image_ref: Option<String>,
    /// Placeholder score.
    pub predicted_score: Option<f64>,
    /// Placeholder uncertainty.
    pub predicted_uncertainty: Option<f64>,
    /// `generation_params` before the renderer adds its own keys.
    pub generation_params: Map<String, Value>,
}

/// Stagnation escape state of a round.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StagnationEscape {
    /// Trailing rounds won by the same image.
    pub streak: u32,
    /// The radius the sampler saw.
    pub boosted_trust_radius: f64,
}

/// A composed round, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComposedRound {
    /// Its index (0 for calibration).
    pub round_index: u32,
    /// `current_z` at generation time.
    pub incumbent_z: Vec<f64>,
    /// The session radius (1.0 for calibration).
    pub trust_radius: f64,
    /// The seed policy in force.
    pub seed_policy: SeedPolicy,
    /// The sampler's base seed.
    pub sampler_seed: u32,
    /// Set when stagnation escape widened the sampler's radius.
    pub stagnation: Option<StagnationEscape>,
    /// Candidates in slot order.
    pub candidates: Vec<ComposedCandidate>,
}

/// Why a round could not be composed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompositionError {
    /// `current_z` does not have `steering_dimension` entries.
    #[error("current_z has {got} entries but steering_dimension is {expected}")]
    DimensionMismatch {
        /// Config dimension.
        expected: usize,
        /// Length of `current_z`.
        got: usize,
    },
    /// The sampler refused its input.
    #[error(transparent)]
    Sampler(#[from] crate::steering::samplers::SamplerError),
}
