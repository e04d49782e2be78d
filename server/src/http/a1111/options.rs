//! A1111 options (`POST /sdapi/v1/options`, A1111's `shared.opts`): what clients set is
//! remembered for later requests of every client, as `a1111.options_set` events on the
//! generations stream, so it survives a restart and is in backups and exports like everything
//! else; the projection keeps the newest value per key.

use serde_json::{Map, Value};

use super::errors::{A1111Error, A1111Result};
use crate::state::AppState;
use crate::store::projections::MAX_A1111_OPTIONS;

/// Largest remembered value, as JSON.
pub const MAX_OPTION_BYTES: usize = 4096;
/// Longest option name.
pub const MAX_OPTION_KEY: usize = 128;

/// Everything remembered.
pub fn remembered(state: &AppState) -> Map<String, Value> {
    state
        .store
        .with_projections(|p| p.generations.a1111_options.clone())
}

/// `CLIP_stop_at_last_layers` as last set (1 = use the last layer).
pub fn clip_stop(state: &AppState) -> u32 {
    state
        .store
        .with_projections(|p| {
            p.generations
                .a1111_options
                .get("CLIP_stop_at_last_layers")
                .and_then(Value::as_u64)
        })
        .map_or(1, |n| n.clamp(1, 12) as u32)
}

/// Records posted options (already validated), or names the first one that would break the
/// bounds; then nothing is recorded.
pub async fn remember(state: &AppState, options: Map<String, Value>) -> A1111Result<()> {
    if options.is_empty() {
        return Ok(());
    }
    for (key, value) in &options {
        if key.len() > MAX_OPTION_KEY {
            return Err(A1111Error::invalid(
                &clip(key),
                format!("option names are at most {MAX_OPTION_KEY} bytes"),
            ));
        }
        if value.to_string().len() > MAX_OPTION_BYTES {
            return Err(A1111Error::invalid(
                key,
                format!("option values are at most {MAX_OPTION_BYTES} bytes of JSON"),
            ));
        }
    }
    let kept = state.store.with_projections(|p| {
        let known = &p.generations.a1111_options;
        known.len() + options.keys().filter(|k| !known.contains_key(*k)).count()
    });
    if kept > MAX_A1111_OPTIONS {
        return Err(A1111Error::invalid(
            "",
            format!("at most {MAX_A1111_OPTIONS} options are kept; this would make {kept}"),
        ));
    }
    state.services.record_a1111_options(options).await?;
    Ok(())
}

fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}
