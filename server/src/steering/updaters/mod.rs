//! The 12 updaters of the reference system, ported exactly (formulas, constants, `round6`,
//! clamping, summaries). Each updater refits from one round's feedback; none keeps state.
//!
//! Three reference defects are kept under the reference names (see each file's doc comment):
//! `challenger_mixture_preference` adds a scalar to every coordinate,
//! `contrastive_preference` / `critique_weighted_preference` step by an absolute centroid, and
//! `borda_preference` with an empty lower half pushes z away from the origin.

mod advantage_softmax;
mod borda;
mod bradley_terry;
mod challenger_mixture;
mod common;
mod contrastive;
mod critique_weighted;
mod linear;
mod plackett_luce;
mod score_weighted;
mod softmax;
mod winner_average;
mod winner_copy;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::steering::feedback::NormalizedFeedback;
pub use crate::steering::kinds::UpdaterKind;

/// Largest number of candidates an update accepts (the config allows 12).
pub const MAX_CANDIDATES: usize = 256;

/// A candidate of the round being updated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateCandidate {
    /// Candidate id.
    pub id: String,
    /// Its steering vector.
    pub z: Vec<f64>,
    /// Whether it is the carried-forward incumbent of the round.
    #[serde(default)]
    pub carried_forward: bool,
}

/// Result of an update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateOutcome {
    /// The new steering state.
    pub next_z: Vec<f64>,
    /// The winner (becomes the session's incumbent).
    pub winner_candidate_id: String,
    /// The reference's `update_summary` (`updater`, `winner_candidate_id`, `method`, extras).
    pub summary: Map<String, Value>,
}

/// Why an update could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpdateError {
    /// The round had no candidates.
    #[error("the round has no candidates")]
    NoCandidates,
    /// More than `MAX_CANDIDATES` candidates.
    #[error("a round may have at most {MAX_CANDIDATES} candidates (got {count})")]
    TooManyCandidates {
        /// Number given.
        count: usize,
    },
    /// Two candidates share an id.
    #[error("candidate id {id} appears more than once")]
    DuplicateCandidate {
        /// The repeated id.
        id: String,
    },
    /// The feedback's winner is not a candidate of the round.
    #[error("winner candidate {id} is not in the round")]
    UnknownWinner {
        /// The missing id.
        id: String,
    },
    /// `current_z` is empty or not finite.
    #[error("current_z must be a non-empty vector of finite numbers")]
    InvalidState,
    /// A candidate's z does not have the state's dimension (or is not finite).
    #[error("candidate {id} has a z of dimension {got} with non-finite or mismatched values (expected {expected})")]
    BadCandidateVector {
        /// Candidate id.
        id: String,
        /// Expected dimension.
        expected: usize,
        /// Its dimension.
        got: usize,
    },
    /// The trust radius is not positive and finite.
    #[error("trust_radius must be a positive finite number (got {value})")]
    InvalidTrustRadius {
        /// The rejected value.
        value: f64,
    },
}

impl UpdateError {
    /// The request field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            UpdateError::NoCandidates
            | UpdateError::TooManyCandidates { .. }
            | UpdateError::DuplicateCandidate { .. }
            | UpdateError::BadCandidateVector { .. } => "candidates",
            UpdateError::UnknownWinner { .. } => "feedback.payload.winner_candidate_id",
            UpdateError::InvalidState => "current_z",
            UpdateError::InvalidTrustRadius { .. } => "trust_radius",
        }
    }
}

/// Everything an updater reads, validated.
pub(crate) struct UpdateContext<'a> {
    pub current_z: &'a [f64],
    pub trust_radius: f64,
    pub candidates: &'a [UpdateCandidate],
    pub feedback: &'a NormalizedFeedback,
    pub winner: &'a UpdateCandidate,
}

impl<'a> UpdateContext<'a> {
    pub fn get(&self, id: &str) -> Option<&'a UpdateCandidate> {
        self.candidates.iter().find(|c| c.id == id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    pub fn dims(&self) -> usize {
        self.current_z.len()
    }
}

/// Runs updater `kind` on one round.
pub fn update(
    kind: UpdaterKind,
    current_z: &[f64],
    trust_radius: f64,
    candidates: &[UpdateCandidate],
    feedback: &NormalizedFeedback,
) -> Result<UpdateOutcome, UpdateError> {
    if current_z.is_empty() || current_z.iter().any(|v| !v.is_finite()) {
        return Err(UpdateError::InvalidState);
    }
    if !(trust_radius.is_finite() && trust_radius > 0.0) {
        return Err(UpdateError::InvalidTrustRadius {
            value: trust_radius,
        });
    }
    if candidates.is_empty() {
        return Err(UpdateError::NoCandidates);
    }
    if candidates.len() > MAX_CANDIDATES {
        return Err(UpdateError::TooManyCandidates {
            count: candidates.len(),
        });
    }
    for (index, candidate) in candidates.iter().enumerate() {
        if candidates[..index].iter().any(|c| c.id == candidate.id) {
            return Err(UpdateError::DuplicateCandidate {
                id: candidate.id.clone(),
            });
        }
        if candidate.z.len() != current_z.len() || candidate.z.iter().any(|v| !v.is_finite()) {
            return Err(UpdateError::BadCandidateVector {
                id: candidate.id.clone(),
                expected: current_z.len(),
                got: candidate.z.len(),
            });
        }
    }
    let winner = candidates
        .iter()
        .find(|c| c.id == feedback.winner_candidate_id)
        .ok_or_else(|| UpdateError::UnknownWinner {
            id: feedback.winner_candidate_id.clone(),
        })?;
    let ctx = UpdateContext {
        current_z,
        trust_radius,
        candidates,
        feedback,
        winner,
    };
    let (next_z, method, extras) = match kind {
        UpdaterKind::WinnerCopy => winner_copy::update(&ctx),
        UpdaterKind::WinnerAverage => winner_average::update(&ctx),
        UpdaterKind::LinearPreference => linear::update(&ctx),
        UpdaterKind::ScoreWeightedPreference => score_weighted::update(&ctx),
        UpdaterKind::ContrastivePreference => contrastive::update(&ctx),
        UpdaterKind::SoftmaxPreference => softmax::update(&ctx),
        UpdaterKind::BordaPreference => borda::update(&ctx),
        UpdaterKind::BradleyTerryPreference => bradley_terry::update(&ctx),
        UpdaterKind::ChallengerMixturePreference => challenger_mixture::update(&ctx),
        UpdaterKind::PlackettLucePreference => plackett_luce::update(&ctx),
        UpdaterKind::AdvantageSoftmaxPreference => advantage_softmax::update(&ctx),
        UpdaterKind::CritiqueWeightedPreference => critique_weighted::update(&ctx),
    };
    let mut summary = Map::new();
    summary.insert("updater".into(), Value::from(kind.as_str()));
    summary.insert(
        "winner_candidate_id".into(),
        Value::from(feedback.winner_candidate_id.clone()),
    );
    summary.insert("method".into(), Value::from(method));
    summary.extend(extras);
    Ok(UpdateOutcome {
        next_z,
        winner_candidate_id: feedback.winner_candidate_id.clone(),
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: &str, z: &[f64], carried: bool) -> UpdateCandidate {
        UpdateCandidate {
            id: id.into(),
            z: z.to_vec(),
            carried_forward: carried,
        }
    }

    #[test]
    fn documented_bradley_terry_golden() {
        let cands = [
            cand("c1", &[0.6, 0.0], false),
            cand("c2", &[0.22, 0.48], false),
            cand("c3", &[-0.5, -0.1], false),
        ];
        let mut fb = NormalizedFeedback::winner_only("c1");
        fb.ratings = Some(vec![("c1".into(), 5), ("c2".into(), 4), ("c3".into(), 1)]);
        let out = update(
            UpdaterKind::BradleyTerryPreference,
            &[0.0, 0.0],
            0.8,
            &cands,
            &fb,
        );
        let out = out.unwrap_or_else(|e| panic!("{e}"));
        assert!((out.next_z[0] - 0.316634).abs() < 1e-6);
        assert!((out.next_z[1] - 0.045073).abs() < 1e-6);
        assert_eq!(out.summary["pair_count"], 3);
        assert_eq!(out.summary["weights"]["c1"], 0.7964);
    }

    #[test]
    fn documented_plackett_luce_golden() {
        let cands = [
            cand("c1", &[0.62, 0.0], false),
            cand("c2", &[0.2, 0.48], false),
            cand("c3", &[-0.35, 0.16], false),
            cand("c4", &[-0.55, -0.2], false),
        ];
        let mut fb = NormalizedFeedback::winner_only("c2");
        fb.ranking = Some(vec!["c2".into(), "c1".into(), "c3".into(), "c4".into()]);
        let out = update(
            UpdaterKind::PlackettLucePreference,
            &[0.0, 0.0],
            0.8,
            &cands,
            &fb,
        );
        let out = out.unwrap_or_else(|e| panic!("{e}"));
        assert!((out.next_z[0] - 0.116889).abs() < 1e-6);
        assert!((out.next_z[1] - 0.198024).abs() < 1e-6);
        assert_eq!(out.summary["weights"]["c4"], 0.0593);
    }

    #[test]
    fn typed_errors_for_bad_rounds() {
        let fb = NormalizedFeedback::winner_only("a");
        let err = update(UpdaterKind::WinnerCopy, &[0.0], 0.5, &[], &fb).unwrap_err();
        assert_eq!(err, UpdateError::NoCandidates);
        let cands = [cand("b", &[0.1], false)];
        let err = update(UpdaterKind::WinnerCopy, &[0.0], 0.5, &cands, &fb).unwrap_err();
        assert_eq!(err.field(), "feedback.payload.winner_candidate_id");
        let cands = [cand("a", &[0.1, 0.2], false)];
        let err = update(UpdaterKind::WinnerCopy, &[0.0], 0.5, &cands, &fb).unwrap_err();
        assert!(matches!(err, UpdateError::BadCandidateVector { .. }));
        let cands = [cand("a", &[0.1], false), cand("a", &[0.2], false)];
        let err = update(UpdaterKind::WinnerCopy, &[0.0], 0.5, &cands, &fb).unwrap_err();
        assert!(matches!(err, UpdateError::DuplicateCandidate { .. }));
        let many: Vec<UpdateCandidate> = (0..=MAX_CANDIDATES)
            .map(|i| cand(&format!("c{i}"), &[0.0], false))
            .collect();
        let err = update(UpdaterKind::WinnerCopy, &[0.0], 0.5, &many, &fb).unwrap_err();
        assert_eq!(
            err,
            UpdateError::TooManyCandidates {
                count: MAX_CANDIDATES + 1
            }
        );
    }

    #[test]
    fn every_updater_accepts_a_single_candidate_round() {
        let cands = [cand("only", &[0.2, -0.1], true)];
        let fb = NormalizedFeedback::winner_only("only");
        for kind in UpdaterKind::ALL {
            let out = update(*kind, &[0.0, 0.0], 0.55, &cands, &fb);
            let out = out.unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(out.winner_candidate_id, "only");
            assert_eq!(out.summary["updater"], kind.as_str());
            assert!(out.next_z.iter().all(|v| v.is_finite()));
        }
    }
}
