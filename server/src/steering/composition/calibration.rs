//! Style calibration (§6.3): 15 `spherical_cover` probes at trust radius 1.0 (radius 0.9 per
//! image), role `style_probe`, seeds `seed_token(sid, i, "cal_img")`; submitting sets z to the
//! mean of the chosen probes.

use serde_json::{Map, Value};

use super::types::{ComposedCandidate, ComposedRound, CompositionError, RoundCandidate};
use crate::steering::config::StrategyConfig;
use crate::steering::kinds::SamplerKind;
use crate::steering::samplers::{propose, SamplerInput};
use crate::steering::seeds::{calibration_image_seed, calibration_sampler_seed};

/// Number of calibration probes.
pub const CALIBRATION_PROBES: usize = 15;

/// Composes calibration round 0.
pub fn compose_calibration_round(
    session_id: &str,
    config: &StrategyConfig,
    current_z: &[f64],
    current_round: u32,
) -> Result<ComposedRound, CompositionError> {
    let seed = calibration_sampler_seed(session_id);
    let input = SamplerInput {
        current_z,
        current_round,
        candidate_count: CALIBRATION_PROBES,
        trust_radius: 1.0,
    };
    let proposals = propose(SamplerKind::SphericalCover, &input, u64::from(seed))?;
    let candidates = proposals
        .into_iter()
        .enumerate()
        .map(|(index, proposal)| {
            let mut params = Map::new();
            params.insert("image_size".into(), Value::from(config.image_size.clone()));
            params.extend(proposal.diagnostics);
            params.insert("calibration".into(), Value::from(true));
            ComposedCandidate {
                candidate_index: index,
                z: proposal.z,
                role: "style_probe".into(),
                seed: u64::from(calibration_image_seed(session_id, index)),
                carried_forward: false,
                image_ref: None,
                predicted_score: Some(proposal.predicted_score),
                predicted_uncertainty: Some(proposal.predicted_uncertainty),
                generation_params: params,
            }
        })
        .collect();
    Ok(ComposedRound {
        round_index: 0,
        incumbent_z: current_z.to_vec(),
        trust_radius: 1.0,
        seed_policy: config.seed_policy,
        sampler_seed: seed,
        stagnation: None,
        candidates,
    })
}

/// Why a calibration submission was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalibrationError {
    /// Nothing was selected.
    #[error("At least one calibration candidate must be selected")]
    EmptySelection,
    /// An id is not a probe of the calibration round (the reference silently ignored these).
    #[error("Calibration selection references unknown candidate: {0}")]
    UnknownCandidate(String),
    /// An id was selected twice.
    #[error("Calibration selection lists candidate {0} more than once")]
    Duplicate(String),
}

impl CalibrationError {
    /// The request field concerned.
    pub fn field(&self) -> &'static str {
        "selected_ids"
    }
}

/// The mean z of the selected probes (per coordinate, in selection order).
pub fn calibration_mean(
    probes: &[RoundCandidate],
    selected_ids: &[String],
) -> Result<Vec<f64>, CalibrationError> {
    if selected_ids.is_empty() {
        return Err(CalibrationError::EmptySelection);
    }
    let mut chosen: Vec<&[f64]> = Vec::with_capacity(selected_ids.len());
    for (index, id) in selected_ids.iter().enumerate() {
        if selected_ids[..index].contains(id) {
            return Err(CalibrationError::Duplicate(id.clone()));
        }
        let probe = probes
            .iter()
            .find(|p| &p.id == id)
            .ok_or_else(|| CalibrationError::UnknownCandidate(id.clone()))?;
        chosen.push(&probe.z);
    }
    let dimension = chosen[0].len();
    let count = chosen.len() as f64;
    Ok((0..dimension)
        .map(|i| {
            chosen
                .iter()
                .map(|z| z.get(i).copied().unwrap_or(0.0))
                .sum::<f64>()
                / count
        })
        .collect())
}
