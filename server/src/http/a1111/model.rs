//! The loaded model as A1111 names it (`title` = "name [shorthash]") and the process-wide
//! A1111 options (`POST /sdapi/v1/options` is remembered for later requests of every client).
//!
//! A1111's hashes are SHA-256 of the checkpoint file; our model is a folder, so the "hash" is
//! the BLAKE2b-256 of the model's *name* ([`content_hash`]): stable across machines and runs,
//! and the short hash (first 10 hex digits) is what titles and infotexts show.

use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};

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

/// Options posted by clients (process-wide, like A1111's `shared.opts`).
fn stored() -> &'static Mutex<Map<String, Value>> {
    static OPTIONS: OnceLock<Mutex<Map<String, Value>>> = OnceLock::new();
    OPTIONS.get_or_init(|| Mutex::new(Map::new()))
}

/// `CLIP_stop_at_last_layers` as last set (1 = use the last layer).
pub fn clip_stop() -> u32 {
    stored()
        .lock()
        .ok()
        .and_then(|m| m.get("CLIP_stop_at_last_layers").and_then(Value::as_u64))
        .map_or(1, |n| n.max(1) as u32)
}

/// At most this many distinct option keys are remembered (A1111's own settings are ~400, of
/// which clients set a handful); with [`MAX_OPTION_BYTES`] this bounds the map at ~1 MB.
pub const MAX_OPTIONS: usize = 256;
/// Largest remembered value, as JSON.
pub const MAX_OPTION_BYTES: usize = 4096;
/// Longest option name.
pub const MAX_OPTION_KEY: usize = 128;

/// Remembers posted options (already validated), or names the first one that would break the
/// bounds; then nothing is remembered.
pub fn remember(options: &Map<String, Value>) -> Result<(), (String, String)> {
    let Ok(mut m) = stored().lock() else {
        return Err((String::new(), "options are unavailable".into()));
    };
    let new_keys = options.keys().filter(|k| !m.contains_key(*k)).count();
    for (k, v) in options {
        if k.len() > MAX_OPTION_KEY {
            return Err((
                clip(k),
                format!("option names are at most {MAX_OPTION_KEY} bytes"),
            ));
        }
        if v.to_string().len() > MAX_OPTION_BYTES {
            return Err((
                k.clone(),
                format!("option values are at most {MAX_OPTION_BYTES} bytes of JSON"),
            ));
        }
    }
    if m.len() + new_keys > MAX_OPTIONS {
        return Err((
            String::new(),
            format!(
                "at most {MAX_OPTIONS} options are kept; this would make {}",
                m.len() + new_keys
            ),
        ));
    }
    for (k, v) in options {
        m.insert(k.clone(), v.clone());
    }
    Ok(())
}

fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Everything remembered.
pub fn remembered() -> Map<String, Value> {
    stored().lock().map(|m| m.clone()).unwrap_or_default()
}
