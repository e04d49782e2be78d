//! The loaded model as A1111 names it (`title` = "name [shorthash]").
//!
//! A1111's hashes are SHA-256 of the checkpoint file; our model is a folder, so the "hash" is
//! the BLAKE2b-256 of the model's *name* ([`content_hash`]): stable across machines and runs,
//! and the short hash (first 10 hex digits) is what titles and infotexts show.

use serde_json::Value;

use crate::artifacts::content_hash;
use crate::state::AppState;

/// The loaded model as A1111 describes a checkpoint.
#[derive(Debug, Clone)]
pub struct ModelIdentity {
    /// Folder name.
    pub name: String,
    /// Full hash (64 hex).
    pub hash: String,
    /// First 10 hex digits.
    pub short_hash: String,
    /// "name [shorthash]".
    pub title: String,
    /// Folder path (or the name when loaded otherwise).
    pub filename: String,
}

impl ModelIdentity {
    /// The identity of the model `state` runs.
    pub fn of(state: &AppState) -> Self {
        let info = state.services.runner.model();
        let hash = content_hash(info.name.as_bytes());
        let short_hash = hash[..10].to_string();
        ModelIdentity {
            title: format!("{} [{short_hash}]", info.name),
            filename: info
                .dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| info.name.clone()),
            name: info.name.clone(),
            hash,
            short_hash,
        }
    }

    /// Whether a client's `sd_model_checkpoint` names this model (title, name, either hash,
    /// the folder, or the name with a checkpoint extension).
    pub fn matches(&self, requested: &str) -> bool {
        let r = requested.trim();
        let stem = r
            .strip_suffix(".safetensors")
            .or_else(|| r.strip_suffix(".ckpt"))
            .unwrap_or(r);
        [
            &self.title,
            &self.name,
            &self.hash,
            &self.short_hash,
            &self.filename,
        ]
        .iter()
        .any(|c| c.as_str() == r || c.as_str() == stem)
    }

    /// `GET /sdapi/v1/sd-models` entry.
    pub fn sd_model_entry(&self) -> Value {
        serde_json::json!({
            "title": self.title,
            "model_name": self.name,
            "hash": self.short_hash,
            "sha256": self.hash,
            "filename": self.filename,
            "config": null,
        })
    }
}
