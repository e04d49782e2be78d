//! The per-session steering basis: the directions in prompt-embedding space that z is expressed
//! in. A **semantic** basis comes from the CLIP embeddings of prompt variants (the prompt with a
//! modifier appended): their differences from the prompt's embedding, orthonormalised through
//! the eigen-decomposition of their Gram matrix, the top `d` directions kept, each labelled with
//! the modifier it points to. **random_orthonormal** is the control: seeded random orthonormal
//! directions at the same scale. **sinusoidal** (the reference's basis) is not built here: the
//! engine's own operator computes it from z, and [`build_basis`] refuses it.
//!
//! Pure and deterministic: the embeddings come in as plain `f32` slices (the runner encodes
//! them), the math is f64, the random numbers are CPython's MT19937 seeded from the recipe, and
//! every ordering breaks ties by index, so the same inputs give bit-identical outputs.

mod compute;
mod recipe;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use compute::build_basis;
pub use recipe::{
    tag_fix_modifier, BasisRecipe, Modifier, AESTHETIC_MODIFIERS, BRIGHT, CRITIQUE_MODIFIERS, DARK,
    INTRICATE, MAX_DIMENSION, MAX_MODIFIERS, MAX_MODIFIER_CHARS, RECIPE_VERSION, SIMPLE,
    SOURCE_AESTHETIC, SOURCE_CRITIQUE, SOURCE_DIMENSION, SOURCE_MODEL, TAG_FIX_MODIFIERS,
};

use crate::steering::kinds::BasisKind;

/// Largest `seq_len · hidden` accepted (guards allocations; SD 2's is 77 × 1024 = 78 848).
pub const MAX_ELEMENTS: usize = 1 << 20;

/// Why a basis could not be built or applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BasisError {
    /// The recipe itself is not acceptable.
    #[error("basis recipe: {0}")]
    Recipe(String),
    /// `build_basis` was asked for the sinusoidal basis, which the engine computes itself.
    #[error("the sinusoidal basis is the engine's own operator; there are no axes to build")]
    Sinusoidal,
    /// `seq_len` or `hidden` is zero or their product too large.
    #[error("seq_len ({seq_len}) and hidden ({hidden}) must be positive and their product at most {MAX_ELEMENTS}")]
    BadShape {
        /// Sequence length.
        seq_len: usize,
        /// Hidden width.
        hidden: usize,
    },
    /// An input does not have the expected number of values.
    #[error("{what} has {got} values, expected {expected}")]
    Length {
        /// Which input.
        what: String,
        /// Its length.
        got: usize,
        /// The expected length.
        expected: usize,
    },
    /// An input holds NaN or infinity.
    #[error("{0} must be finite")]
    NonFinite(String),
    /// Every modifier's embedding equals the prompt's (e.g. a prompt so long that the appended
    /// text is truncated away), so there is no direction and no scale.
    #[error("no modifier changes the prompt's embedding (is the prompt longer than the text encoder reads?)")]
    NoModifierEffect,
    /// The linear algebra did not converge or produced non-finite values.
    #[error("basis computation failed: {0}")]
    Numerical(String),
}

/// Where one modifier's full effect lies in the basis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModifierCoords {
    /// The modifier's text.
    pub text: String,
    /// Its source (`aesthetic`, `critique`, `dimension`).
    pub source: String,
    /// `⟨Δ_j, u_i⟩ / scale` for every axis i: the z that best reproduces the modifier.
    pub coords: Vec<f64>,
    /// Fraction of `‖Δ_j‖²` inside the basis (0..=1; 0 for a modifier without effect).
    pub captured: f64,
}

/// What the steering domain and the UI need to know about a basis (stored in `basis.computed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasisSummary {
    /// [`BasisRecipe::hash`] of the recipe it was built from.
    pub recipe_hash: String,
    /// Semantic or random orthonormal.
    pub kind: BasisKind,
    /// One unique label per axis: the modifier it points to, `axis k` for a random completion,
    /// `random k` for the random orthonormal control.
    pub labels: Vec<String>,
    /// Length of every axis: the median `‖Δ_j‖` over the modifiers with an effect, so that
    /// |z_i| = 1 is about one modifier's full effect.
    pub scale: f64,
    /// Every modifier of the recipe, in order.
    pub modifiers: Vec<ModifierCoords>,
}

impl BasisSummary {
    /// Canonical JSON (declaration order).
    pub fn canonical_json(&self) -> String {
        // Finite floats, strings and an enum: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The unit z-direction toward the modifier `text` (its coordinates normalized), or `None`
    /// when the recipe has no such modifier or it lies outside the basis.
    pub fn modifier_direction(&self, text: &str) -> Option<Vec<f64>> {
        let m = self.modifiers.iter().find(|m| m.text == text)?;
        let norm = m.coords.iter().map(|c| c * c).sum::<f64>().sqrt();
        (norm > 0.0 && norm.is_finite()).then(|| m.coords.iter().map(|c| c / norm).collect())
    }

    /// The unit z-direction that fixes a directional critique tag ([`tag_fix_modifier`]).
    pub fn tag_direction(&self, tag: &str) -> Option<Vec<f64>> {
        self.modifier_direction(tag_fix_modifier(tag)?)
    }
}

/// A built basis: `d` orthogonal axes of length `summary.scale` in the flattened `[seq][hidden]`
/// space of the positive prompt embeddings.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputedBasis {
    /// Labels, scale and modifier coordinates.
    pub summary: BasisSummary,
    /// Token positions of the embeddings.
    pub seq_len: usize,
    /// Width of each position.
    pub hidden: usize,
    /// `B_i = scale · u_i`, each `seq_len · hidden` values, row-major `[seq][hidden]`.
    pub axes: Vec<Vec<f32>>,
}

impl ComputedBasis {
    /// Number of axes (the length z must have).
    pub fn dimension(&self) -> usize {
        self.axes.len()
    }

    /// The offset added to the positive prompt embeddings: `anchor_strength · Σ z_i B_i`,
    /// computed in f64, `seq_len · hidden` values.
    pub fn offset(&self, z: &[f64], anchor_strength: f64) -> Result<Vec<f32>, BasisError> {
        if z.len() != self.axes.len() {
            return Err(BasisError::Length {
                what: "z".into(),
                got: z.len(),
                expected: self.axes.len(),
            });
        }
        if z.iter().any(|v| !v.is_finite()) {
            return Err(BasisError::NonFinite("z".into()));
        }
        if !anchor_strength.is_finite() {
            return Err(BasisError::NonFinite("anchor_strength".into()));
        }
        let n = self.seq_len * self.hidden;
        let mut sum = vec![0.0f64; n];
        for (i, (axis, zi)) in self.axes.iter().zip(z).enumerate() {
            if axis.len() != n {
                return Err(BasisError::Length {
                    what: format!("axes[{i}]"),
                    got: axis.len(),
                    expected: n,
                });
            }
            for (s, b) in sum.iter_mut().zip(axis) {
                *s += zi * f64::from(*b);
            }
        }
        Ok(sum
            .into_iter()
            .map(|v| (anchor_strength * v) as f32)
            .collect())
    }
}
