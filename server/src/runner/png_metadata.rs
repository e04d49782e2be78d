//! The text chunks every image carries: A1111's `parameters` (so A1111, ComfyUI and friends
//! read the settings) and our own versioned `stablesteering` JSON (the whole settings snapshot,
//! its hash and the candidate's place in it), so an image alone is enough to reproduce it or
//! to branch from it.

use engine::parameters::a1111_parameters;
use engine::request::RenderRequest;
use serde_json::{json, Value};

use super::Snapshot;

/// Keyword of our JSON chunk.
pub const STEERING_CHUNK: &str = "stablesteering";
/// Format tag inside it.
pub const STEERING_FORMAT: &str = "stablesteering.image/1";

/// The chunks of image `index` of a run.
pub fn chunks(
    request: &RenderRequest,
    snapshot: &Snapshot,
    index: usize,
    model: &str,
) -> Vec<(String, String)> {
    let settings = snapshot.settings();
    let candidate = settings.candidates.get(index);
    let steering = json!({
        "format": STEERING_FORMAT,
        "snapshot_hash": snapshot.hash(),
        "candidate_index": index,
        "candidate_id": candidate.and_then(|c| c.candidate_id),
        "seed": candidate.map(|c| c.seed),
        "z": candidate.and_then(|c| c.z.clone()),
        "snapshot": serde_json::from_str::<Value>(snapshot.json()).unwrap_or(Value::Null),
    });
    vec![
        (
            "parameters".to_string(),
            a1111_parameters(request, index, model),
        ),
        (STEERING_CHUNK.to_string(), steering.to_string()),
    ]
}
