//! Steering bases through the runner: [`Runner::compute_basis`] encodes a recipe's prompt and
//! prompt variants with the loaded model's own text encoder (the only engine access besides
//! rendering, kept inside `runner/`) and builds the axes with `steering::basis`. Built bases are
//! kept in a small LRU cache keyed by recipe hash: bounded (at most [`BASIS_CACHE_CAPACITY`]
//! entries) and only a cache — any entry can be recomputed, bit for bit, from its recipe, so a
//! restart or an eviction costs time, never correctness.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::snapshot::BasisRef;
use super::{RunError, Runner};
use crate::steering::basis::{build_basis, BasisRecipe, ComputedBasis};
use crate::steering::kinds::BasisKind;

/// Most bases kept in memory (each is `d × 77 × hidden` f32: under 5 MB for SD 2 at d = 16).
pub const BASIS_CACHE_CAPACITY: usize = 8;

/// The clip skip every basis is encoded with (the last layer, as steering rounds render).
pub const BASIS_CLIP_SKIP: usize = 0;

/// Least recently used first; hits move to the back.
#[derive(Debug, Default)]
pub(super) struct BasisCache {
    entries: VecDeque<(String, Arc<ComputedBasis>)>,
}

impl BasisCache {
    fn get(&mut self, hash: &str) -> Option<Arc<ComputedBasis>> {
        let at = self.entries.iter().position(|(h, _)| h == hash)?;
        let entry = self.entries.remove(at)?;
        let basis = entry.1.clone();
        self.entries.push_back(entry);
        Some(basis)
    }

    fn insert(&mut self, hash: String, basis: Arc<ComputedBasis>) {
        self.entries.retain(|(h, _)| *h != hash);
        self.entries.push_back((hash, basis));
        while self.entries.len() > BASIS_CACHE_CAPACITY {
            self.entries.pop_front();
        }
    }

    fn hashes(&self) -> Vec<String> {
        self.entries.iter().map(|(h, _)| h.clone()).collect()
    }
}

/// The cache behind the runner's lock.
pub(super) type SharedBasisCache = Mutex<BasisCache>;

impl Runner {
    /// The basis `recipe` describes on the loaded model: from the cache, or computed by
    /// encoding `recipe.prompt` and every `recipe.variant_prompts()` with the text encoder at
    /// clip skip 0 (blocking: call from a blocking thread). Not a render: it is not counted in
    /// the invocation ledger. The sinusoidal basis has no axes (the engine derives it from z)
    /// and is refused, as is an invalid recipe.
    pub fn compute_basis(&self, recipe: &BasisRecipe) -> Result<Arc<ComputedBasis>, RunError> {
        if recipe.kind == BasisKind::Sinusoidal {
            return Err(RunError::invalid(
                "basis",
                "the sinusoidal basis is computed by the engine from z; there is nothing to build",
            ));
        }
        recipe
            .validate()
            .map_err(|e| RunError::invalid("basis", e.to_string()))?;
        let hash = recipe.hash();
        if let Some(hit) = self.bases.lock().ok().and_then(|mut c| c.get(&hash)) {
            return Ok(hit);
        }
        let mut prompts = Vec::with_capacity(recipe.modifiers.len() + 1);
        prompts.push(recipe.prompt.clone());
        prompts.extend(recipe.variant_prompts());
        let encoded = self
            .engine
            .encode_prompts(&prompts, BASIS_CLIP_SKIP)
            .map_err(RunError::Engine)?;
        let (prompt, variants) = encoded
            .values
            .split_first()
            .ok_or_else(|| RunError::invalid("basis", "the text encoder returned no embeddings"))?;
        let basis = build_basis(recipe, prompt, variants, encoded.seq_len, encoded.hidden)
            .map_err(|e| RunError::invalid("basis", e.to_string()))?;
        let basis = Arc::new(basis);
        if let Ok(mut cache) = self.bases.lock() {
            cache.insert(hash, basis.clone());
        }
        Ok(basis)
    }

    /// Recipe hashes of the cached bases, least recently used first (for tests and
    /// diagnostics).
    pub fn cached_bases(&self) -> Vec<String> {
        self.bases.lock().map(|c| c.hashes()).unwrap_or_default()
    }

    /// The axes of a snapshot's basis, when it has one that is not sinusoidal: checks the
    /// recorded hash against the recipe, that the basis was encoded the way the render encodes
    /// (clip skip 0) and that every z has one value per axis.
    pub(super) fn snapshot_basis(
        &self,
        basis: Option<&BasisRef>,
        clip_skip: usize,
        z_lengths: impl Iterator<Item = usize>,
    ) -> Result<Option<Arc<ComputedBasis>>, RunError> {
        let Some(basis) = basis else {
            return Ok(None);
        };
        if basis.recipe.kind == BasisKind::Sinusoidal {
            return Ok(None);
        }
        let actual = basis.recipe.hash();
        if actual != basis.recipe_hash {
            return Err(RunError::invalid(
                "basis",
                format!(
                    "recipe hash mismatch: recorded {}, the recipe hashes to {actual}",
                    basis.recipe_hash
                ),
            ));
        }
        if clip_skip != BASIS_CLIP_SKIP {
            return Err(RunError::invalid(
                "basis",
                format!("a basis is encoded at clip_skip {BASIS_CLIP_SKIP}; this render uses {clip_skip}"),
            ));
        }
        let d = basis.recipe.dimension as usize;
        for (k, len) in z_lengths.enumerate() {
            if len != d {
                return Err(RunError::invalid(
                    "basis",
                    format!("candidate {k} has a z of length {len}; the basis has {d} axes"),
                ));
            }
        }
        self.compute_basis(&basis.recipe).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steering::basis::{BasisSummary, ComputedBasis};

    fn basis(tag: &str) -> Arc<ComputedBasis> {
        Arc::new(ComputedBasis {
            summary: BasisSummary {
                recipe_hash: tag.into(),
                kind: BasisKind::Semantic,
                labels: vec![],
                scale: 1.0,
                modifiers: vec![],
            },
            seq_len: 1,
            hidden: 1,
            axes: vec![],
        })
    }

    #[test]
    fn the_cache_is_bounded_and_least_recently_used() {
        let mut cache = BasisCache::default();
        for k in 0..BASIS_CACHE_CAPACITY {
            cache.insert(format!("h{k}"), basis(&format!("h{k}")));
        }
        // Touch h0 so h1 is the oldest.
        assert!(cache.get("h0").is_some());
        cache.insert("new".into(), basis("new"));
        let hashes = cache.hashes();
        assert_eq!(hashes.len(), BASIS_CACHE_CAPACITY);
        assert!(!hashes.contains(&"h1".to_string()));
        assert!(hashes.contains(&"h0".to_string()));
        assert_eq!(hashes.last().map(String::as_str), Some("new"));
        assert!(cache.get("h1").is_none());
        // Re-inserting an entry does not duplicate it.
        cache.insert("new".into(), basis("new"));
        assert_eq!(cache.hashes().len(), BASIS_CACHE_CAPACITY);
    }
}
