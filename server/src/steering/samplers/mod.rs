//! The 13 samplers of the reference system, ported exactly (formulas, constants, RNG seed
//! offsets, call order, roles). Each sampler lives in its own file; `propose` dispatches.
//!
//! A sampler sees only the current z, the session's `current_round` (the number of rounds already
//! generated, i.e. the round being generated minus one), the candidate count and the trust
//! radius. Its proposals are the raw output before round composition (§3.6).

mod annealed_shell;
mod axis_sweep;
mod common;
mod diversity_shell;
mod exploit_orthogonal;
mod incumbent_mix;
mod line_search;
mod plateau_escape;
mod quality_diversity_mix;
mod random_local;
mod restart_bridge_mix;
mod spherical_cover;
mod two_scale_cover;
mod uncertainty_guided;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::steering::kinds::SamplerKind;

/// Upper bound on `candidate_count` accepted by `propose` (the config allows 12, calibration 15).
pub const MAX_PROPOSALS: usize = 256;

/// What a sampler reads from the session.
#[derive(Debug, Clone, Copy)]
pub struct SamplerInput<'a> {
    /// The session's current steering vector (length = steering dimension, at least 1).
    pub current_z: &'a [f64],
    /// The session's `current_round` before the new round is generated.
    pub current_round: u32,
    /// How many proposals to make.
    pub candidate_count: usize,
    /// Radius of the ball around the origin that proposals are clamped to.
    pub trust_radius: f64,
}

/// One raw proposal of a sampler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Steering vector.
    pub z: Vec<f64>,
    /// The sampler role (`exploit`, `cover_probe`, ...).
    pub role: String,
    /// The reference's placeholder score (Σz plus a constant); kept for replay parity.
    pub predicted_score: f64,
    /// The reference's placeholder uncertainty heuristic; kept for replay parity.
    pub predicted_uncertainty: f64,
    /// The sampler's `generation_params` extras (everything except `image_size`).
    pub diagnostics: Map<String, Value>,
}

/// Why a sampler refused its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SamplerError {
    /// `current_z` was empty.
    #[error("current_z must have at least one dimension")]
    EmptyState,
    /// `current_z` held NaN or infinity.
    #[error("current_z[{index}] is not a finite number")]
    NonFiniteState {
        /// Offending coordinate.
        index: usize,
    },
    /// The trust radius was not a positive finite number.
    #[error("trust_radius must be a positive finite number (got {value})")]
    InvalidTrustRadius {
        /// The rejected value.
        value: f64,
    },
    /// Too many candidates were requested.
    #[error("candidate_count must be at most {max} (got {requested})")]
    TooManyCandidates {
        /// Requested count.
        requested: usize,
        /// Allowed maximum.
        max: usize,
    },
}

impl SamplerError {
    /// The request field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            SamplerError::EmptyState | SamplerError::NonFiniteState { .. } => "current_z",
            SamplerError::InvalidTrustRadius { .. } => "trust_radius",
            SamplerError::TooManyCandidates { .. } => "candidate_count",
        }
    }
}

/// Runs sampler `kind` with RNG base seed `seed` (each sampler adds its own offset).
pub fn propose(
    kind: SamplerKind,
    input: &SamplerInput<'_>,
    seed: u64,
) -> Result<Vec<Proposal>, SamplerError> {
    validate(input)?;
    let seed = u128::from(seed);
    Ok(match kind {
        SamplerKind::RandomLocal => random_local::propose(input, seed),
        SamplerKind::ExploitOrthogonal => exploit_orthogonal::propose(input, seed),
        SamplerKind::UncertaintyGuided => uncertainty_guided::propose(input, seed),
        SamplerKind::AxisSweep => axis_sweep::propose(input, seed),
        SamplerKind::IncumbentMix => incumbent_mix::propose(input, seed),
        SamplerKind::DiversityShell => diversity_shell::propose(input, seed),
        SamplerKind::LineSearch => line_search::propose(input, seed),
        SamplerKind::PlateauEscape => plateau_escape::propose(input, seed),
        SamplerKind::AnnealedShell => annealed_shell::propose(input, seed),
        SamplerKind::SphericalCover => spherical_cover::propose(input, seed),
        SamplerKind::TwoScaleCover => two_scale_cover::propose(input, seed),
        SamplerKind::QualityDiversityMix => quality_diversity_mix::propose(input, seed),
        SamplerKind::RestartBridgeMix => restart_bridge_mix::propose(input, seed),
    })
}

fn validate(input: &SamplerInput<'_>) -> Result<(), SamplerError> {
    if input.current_z.is_empty() {
        return Err(SamplerError::EmptyState);
    }
    if let Some(index) = input.current_z.iter().position(|v| !v.is_finite()) {
        return Err(SamplerError::NonFiniteState { index });
    }
    if !(input.trust_radius.is_finite() && input.trust_radius > 0.0) {
        return Err(SamplerError::InvalidTrustRadius {
            value: input.trust_radius,
        });
    }
    if input.candidate_count > MAX_PROPOSALS {
        return Err(SamplerError::TooManyCandidates {
            requested: input.candidate_count,
            max: MAX_PROPOSALS,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(z: &[f64]) -> SamplerInput<'_> {
        SamplerInput {
            current_z: z,
            current_round: 0,
            candidate_count: 5,
            trust_radius: 0.55,
        }
    }

    #[test]
    fn documented_exploit_orthogonal_golden() {
        let z = [0.0; 5];
        let out = propose(SamplerKind::ExploitOrthogonal, &input(&z), 12345).unwrap_or_default();
        let expected = [
            (
                "exploit",
                [0.170688, 0.038831, -0.033581, 0.066321, -0.001056],
            ),
            (
                "refine",
                [0.18198, -0.105836, 0.089231, 0.029044, -0.075281],
            ),
            (
                "orthogonal",
                [0.038546, 0.164274, 0.1096, -0.026528, 0.012021],
            ),
            (
                "mirror",
                [-0.121853, -0.095657, 0.132254, 0.014011, 0.020978],
            ),
            (
                "exploit",
                [0.184485, 0.069411, 0.035805, -0.012801, -0.029688],
            ),
        ];
        assert_eq!(out.len(), 5);
        for (proposal, (role, z)) in out.iter().zip(expected) {
            assert_eq!(proposal.role, role);
            for (got, want) in proposal.z.iter().zip(z) {
                assert!((got - want).abs() < 1e-6, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn documented_spherical_cover_golden() {
        let z = [0.0; 5];
        let out = propose(SamplerKind::SphericalCover, &input(&z), 12345).unwrap_or_default();
        let expected = [
            [0.038287, -0.204183, 0.405565, 0.042449, -0.206622],
            [0.010992, 0.285393, -0.370381, -0.147667, 0.138758],
        ];
        for (proposal, z) in out.iter().zip(expected) {
            assert_eq!(proposal.role, "cover_probe");
            for (got, want) in proposal.z.iter().zip(z) {
                assert!((got - want).abs() < 1e-6, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn rejects_bad_inputs_with_the_field_named() {
        let empty: [f64; 0] = [];
        let err = propose(SamplerKind::RandomLocal, &input(&empty), 1).unwrap_err();
        assert_eq!(err, SamplerError::EmptyState);
        assert_eq!(err.field(), "current_z");
        let nan = [0.0, f64::NAN];
        let err = propose(SamplerKind::RandomLocal, &input(&nan), 1).unwrap_err();
        assert_eq!(err, SamplerError::NonFiniteState { index: 1 });
        let z = [0.0];
        let mut bad = input(&z);
        bad.trust_radius = 0.0;
        let err = propose(SamplerKind::LineSearch, &bad, 1).unwrap_err();
        assert_eq!(err.field(), "trust_radius");
        bad.trust_radius = 0.5;
        bad.candidate_count = MAX_PROPOSALS + 1;
        let err = propose(SamplerKind::LineSearch, &bad, 1).unwrap_err();
        assert_eq!(err.field(), "candidate_count");
    }

    #[test]
    fn every_sampler_handles_zero_candidates_and_stays_in_the_ball() {
        let z = [0.3, -0.2, 0.1];
        for kind in SamplerKind::ALL {
            let mut request = input(&z);
            request.candidate_count = 0;
            assert!(propose(*kind, &request, 9).unwrap_or_default().is_empty());
            request.candidate_count = 7;
            let out = propose(*kind, &request, 9).unwrap_or_default();
            assert_eq!(out.len(), 7, "{kind}");
            for proposal in out {
                assert_eq!(proposal.z.len(), 3);
                assert!(crate::steering::math::norm(&proposal.z) <= 0.55 + 1e-12);
            }
        }
    }
}
