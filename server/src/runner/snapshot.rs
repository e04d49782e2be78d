//! The immutable settings snapshot of one generation job (seed milestone 001).
//!
//! Captured when the job is queued, serialized to canonical JSON, hashed, and stored in the
//! job's `job.queued` event. The runner reads nothing else: not the session, not the config,
//! not server flags. A [`Snapshot`] cannot be changed once sealed (its fields are private and
//! it hands out only shared references), and [`Snapshot::from_stored`] refuses JSON whose hash
//! does not match, so what ran is exactly what was recorded.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::artifacts::content_hash;
use crate::steering::basis::BasisRecipe;

/// Schema version of the snapshot JSON.
pub const SNAPSHOT_SCHEMA: u32 = 1;

/// Which product path asked for the render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenderKind {
    /// A steering round.
    Round,
    /// The 15 style-calibration probes.
    Calibration,
    /// A1111 `/sdapi/v1/txt2img`.
    Txt2img,
    /// A1111 `/sdapi/v1/img2img`.
    Img2img,
    /// `stablesteering render`.
    Cli,
}

impl RenderKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RenderKind::Round => "round",
            RenderKind::Calibration => "calibration",
            RenderKind::Txt2img => "txt2img",
            RenderKind::Img2img => "img2img",
            RenderKind::Cli => "cli",
        }
    }
}

/// The model a snapshot was taken against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRef {
    /// Model name (folder name).
    pub name: String,
    /// Folder, when loaded from one.
    pub dir: Option<String>,
}

/// One image to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotCandidate {
    /// The candidate id the image belongs to (steering rounds and calibration).
    pub candidate_id: Option<Uuid>,
    /// Seed of its starting noise.
    pub seed: u64,
    /// Steering vector (none = the unsteered prompt).
    pub z: Option<Vec<f64>>,
    /// Explicit starting latents instead of the seed's noise (the `render` CLI's
    /// `--init-latents`); the runner refuses them if the file's values changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_latents: Option<LatentsRef>,
}

/// Starting latents read from a safetensors file, pinned by the hash of their values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentsRef {
    /// The safetensors file.
    pub file: String,
    /// The tensor's name.
    pub tensor: String,
    /// BLAKE2b-256 of the f32 values (little endian).
    pub values_hash: String,
}

/// img2img input, by artifact hash (the image itself is stored before the job is queued).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitImageRef {
    /// Artifact hash of the PNG.
    pub artifact_hash: String,
    /// Denoising strength in (0, 1].
    pub strength: f64,
}

/// The steering basis of a snapshot's candidates: its recipe (the runner computes the axes
/// from it, or takes them from its cache) and the recipe's hash, checked before rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasisRef {
    /// What the basis is built from.
    pub recipe: BasisRecipe,
    /// `recipe.hash()` when the snapshot was taken.
    pub recipe_hash: String,
}

impl BasisRef {
    /// A reference to `recipe` with its hash.
    pub fn new(recipe: BasisRecipe) -> BasisRef {
        BasisRef {
            recipe_hash: recipe.hash(),
            recipe,
        }
    }
}

/// Everything a render depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsSnapshot {
    /// [`SNAPSHOT_SCHEMA`].
    pub schema: u32,
    /// Which path asked for it.
    pub kind: RenderKind,
    /// Model.
    pub model: ModelRef,
    /// Device the model runs on (`cpu`, `cuda:0`).
    pub device: String,
    /// UNet precision.
    pub precision: String,
    /// `engine` crate version.
    pub engine_version: String,
    /// Positive prompt.
    pub prompt: String,
    /// Negative prompt.
    pub negative_prompt: String,
    /// Scheduler wire name (`dpmpp-2m`, ...).
    pub scheduler: String,
    /// Denoising steps.
    pub steps: usize,
    /// CFG scale.
    pub guidance_scale: f64,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Text-encoder layers skipped.
    pub clip_skip: usize,
    /// Steering mode (`low_dimensional`, ...) when any candidate is steered.
    pub steering_mode: Option<String>,
    /// Offset scale.
    pub anchor_strength: f64,
    /// The images, in order.
    pub candidates: Vec<SnapshotCandidate>,
    /// img2img input.
    pub init_image: Option<InitImageRef>,
    /// Where it comes from (session, round, sampler, updater, A1111 request), for people and
    /// exports; the runner does not read it.
    pub context: Map<String, Value>,
    /// The basis z is expressed in when it is not the engine's sinusoidal one (semantic or
    /// random orthonormal): each candidate's z becomes `anchor_strength · Σ z_i B_i`. Absent in
    /// snapshots taken before bases existed, and then not serialized, so their JSON and hash
    /// are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<BasisRef>,
}

/// A sealed snapshot: the settings, their canonical JSON and its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    settings: SettingsSnapshot,
    json: String,
    hash: String,
}

/// Why stored snapshot JSON was refused.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Not a snapshot.
    #[error("settings snapshot is not readable: {0}")]
    Parse(String),
    /// The JSON was altered after it was hashed.
    #[error("settings snapshot hash mismatch: recorded {recorded}, content hashes to {actual}")]
    HashMismatch {
        /// The hash in the job event.
        recorded: String,
        /// The hash of the JSON.
        actual: String,
    },
}

impl Snapshot {
    /// Seals `settings`: canonical JSON (declaration order, shortest round-trip floats) + hash.
    pub fn seal(settings: SettingsSnapshot) -> Snapshot {
        let json = serde_json::to_string(&settings).unwrap_or_else(|_| "{}".into());
        let hash = content_hash(json.as_bytes());
        Snapshot {
            settings,
            json,
            hash,
        }
    }

    /// Reads a snapshot back from a job event, checking its hash.
    pub fn from_stored(json: &str, recorded_hash: &str) -> Result<Snapshot, SnapshotError> {
        let actual = content_hash(json.as_bytes());
        if actual != recorded_hash {
            return Err(SnapshotError::HashMismatch {
                recorded: recorded_hash.to_string(),
                actual,
            });
        }
        let settings: SettingsSnapshot =
            serde_json::from_str(json).map_err(|e| SnapshotError::Parse(e.to_string()))?;
        Ok(Snapshot {
            settings,
            json: json.to_string(),
            hash: actual,
        })
    }

    /// The settings (read-only).
    pub fn settings(&self) -> &SettingsSnapshot {
        &self.settings
    }

    /// Canonical JSON.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// Content hash of the JSON.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> SettingsSnapshot {
        SettingsSnapshot {
            schema: SNAPSHOT_SCHEMA,
            kind: RenderKind::Txt2img,
            model: ModelRef {
                name: "tiny".into(),
                dir: None,
            },
            device: "cpu".into(),
            precision: "f32".into(),
            engine_version: "0".into(),
            prompt: "a cat".into(),
            negative_prompt: String::new(),
            scheduler: "euler".into(),
            steps: 3,
            guidance_scale: 7.0,
            width: 64,
            height: 64,
            clip_skip: 0,
            steering_mode: None,
            anchor_strength: 0.7,
            candidates: vec![SnapshotCandidate {
                candidate_id: None,
                seed: 1,
                z: None,
                init_latents: None,
            }],
            init_image: None,
            context: Map::new(),
            basis: None,
        }
    }

    #[test]
    fn sealing_is_deterministic_and_tampering_is_detected() {
        let a = Snapshot::seal(sample());
        let b = Snapshot::seal(sample());
        assert_eq!(a.hash(), b.hash());
        let back = Snapshot::from_stored(a.json(), a.hash()).unwrap();
        assert_eq!(back.settings(), a.settings());
        let tampered = a.json().replace("a cat", "a dog");
        assert!(matches!(
            Snapshot::from_stored(&tampered, a.hash()),
            Err(SnapshotError::HashMismatch { .. })
        ));
        let mut other = sample();
        other.steps = 4;
        assert_ne!(Snapshot::seal(other).hash(), a.hash());
    }

    /// The canonical JSON of a snapshot stored before the `basis` field existed.
    const OLD_SNAPSHOT: &str = r#"{"schema":1,"kind":"txt2img","model":{"name":"tiny","dir":null},"device":"cpu","precision":"f32","engine_version":"0","prompt":"a cat","negative_prompt":"","scheduler":"euler","steps":3,"guidance_scale":7.0,"width":64,"height":64,"clip_skip":0,"steering_mode":null,"anchor_strength":0.7,"candidates":[{"candidate_id":null,"seed":1,"z":null}],"init_image":null,"context":{}}"#;

    #[test]
    fn snapshots_without_a_basis_keep_their_json_and_hash() {
        let hash = content_hash(OLD_SNAPSHOT.as_bytes());
        let old = Snapshot::from_stored(OLD_SNAPSHOT, &hash).unwrap();
        assert_eq!(old.settings().basis, None);
        assert_eq!(old.settings(), &sample());
        let resealed = Snapshot::seal(old.settings().clone());
        assert_eq!(resealed.json(), OLD_SNAPSHOT);
        assert_eq!(resealed.hash(), hash);
    }

    #[test]
    fn a_basis_is_part_of_the_json_and_the_hash() {
        use crate::steering::kinds::BasisKind;
        let mut with = sample();
        let recipe = BasisRecipe::for_session(BasisKind::Semantic, "a cat", 4, 9, &[]);
        with.basis = Some(BasisRef::new(recipe.clone()));
        let sealed = Snapshot::seal(with);
        assert!(sealed.json().ends_with(&format!(
            r#","basis":{{"recipe":{},"recipe_hash":"{}"}}}}"#,
            recipe.canonical_json(),
            recipe.hash()
        )));
        assert_ne!(sealed.hash(), Snapshot::seal(sample()).hash());
        let back = Snapshot::from_stored(sealed.json(), sealed.hash()).unwrap();
        assert_eq!(back.settings(), sealed.settings());
    }
}
