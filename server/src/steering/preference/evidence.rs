//! The session's evidence in the form the model fits: every round's shown z's (with ‖z‖²
//! precomputed) and its choice terms, in round order. Built once per fit from the typed history.

use super::choices::Term;

/// One round's shown candidates and what the user said about them.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundEvidence {
    /// z of each slot, row-major `[slot][d]`.
    pub z: Vec<f64>,
    /// ‖z‖² of each slot.
    pub norms: Vec<f64>,
    /// The round's choice and sign terms.
    pub terms: Vec<Term>,
}

impl RoundEvidence {
    /// Builds a round from its slots' z (all of dimension `d`) and terms.
    pub fn new(z: &[Vec<f64>], terms: Vec<Term>) -> Self {
        let norms = z.iter().map(|v| v.iter().map(|x| x * x).sum()).collect();
        RoundEvidence {
            z: z.iter().flatten().copied().collect(),
            norms,
            terms,
        }
    }

    /// z of slot `s`.
    pub fn slot(&self, s: usize, d: usize) -> &[f64] {
        &self.z[s * d..(s + 1) * d]
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.norms.len()
    }
}

/// Everything the model is fitted on.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Dimension of z.
    pub d: usize,
    /// Rounds in order.
    pub rounds: Vec<RoundEvidence>,
}

impl Evidence {
    /// No data yet.
    pub fn empty(d: usize) -> Self {
        Evidence {
            d,
            rounds: Vec::new(),
        }
    }

    /// Whether any term constrains the model.
    pub fn has_terms(&self) -> bool {
        self.rounds.iter().any(|r| !r.terms.is_empty())
    }
}
