//! The one execution boundary (seed milestones 001–003): every image the product makes — steering
//! rounds, calibration probes, the A1111 endpoints, the `render` CLI — is rendered by
//! [`Runner::run`] from a sealed [`Snapshot`], and nothing else in the server can reach the
//! engine: the [`Runner`] owns the only `engine::runtime::Engine` handle and never lends it out.
//!
//! The runner also keeps a ledger of invocations per job id, which the contract tests read
//! (through `GET /api/jobs/{id}`) to prove each route rendered through it exactly once per job.
//!
//! Steering bases (`basis.rs`) are computed here too, with the same engine's text encoder; a
//! snapshot with a semantic or random orthonormal basis renders each z as the offset
//! `anchor_strength · Σ z_i B_i` instead of the engine's sinusoidal operator.

pub mod basis;
pub mod model_modifiers;
pub mod png_metadata;
pub mod snapshot;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use engine::image::RgbImage;
use engine::request::{Candidate, InitImage, Progress, RenderRequest, Steering};
use engine::runtime::{Engine, ModelInfo};
use engine::schedulers::SchedulerKind;
use engine::steering_offset::OffsetMode;
use engine::EngineError;
use uuid::Uuid;

use crate::artifacts::ArtifactBackend;
pub use basis::{BASIS_CACHE_CAPACITY, BASIS_CLIP_SKIP};
pub use snapshot::{
    BasisRef, InitImageRef, LatentsRef, ModelRef, RenderKind, SettingsSnapshot, Snapshot,
    SnapshotCandidate, SNAPSHOT_SCHEMA,
};

/// One stored image of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedImage {
    /// Artifact hash of the PNG.
    pub artifact_hash: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// One image per snapshot candidate, in order.
    pub images: Vec<RenderedImage>,
    /// Named timings in milliseconds (`encode`, `denoise`, `decode`, `store`, `total`).
    pub timings: Vec<(String, f64)>,
    /// The device that rendered.
    pub device: String,
}

impl RunOutput {
    /// The timings in the shape `candidate.rendered` records them.
    pub fn event_timings(&self) -> Vec<crate::store::events::Timing> {
        self.timings
            .iter()
            .map(|(name, ms)| crate::store::events::Timing {
                name: name.clone(),
                ms: *ms,
            })
            .collect()
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Cancelled between steps.
    #[error("cancelled at step {step} of {total}")]
    Cancelled {
        /// Steps done.
        step: usize,
        /// Steps in all.
        total: usize,
    },
    /// The snapshot asks for another model than the one loaded.
    #[error("model `{requested}` is not loaded (this server runs `{loaded}`)")]
    ModelNotLoaded {
        /// Requested model.
        requested: String,
        /// Loaded model.
        loaded: String,
    },
    /// The snapshot does not describe a valid render.
    #[error("{field}: {message}")]
    Invalid {
        /// The setting concerned.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The engine failed.
    #[error("render failed: {0}")]
    Engine(EngineError),
    /// An image could not be stored.
    #[error("cannot store the image: {0}")]
    Artifact(std::io::Error),
}

impl RunError {
    fn invalid(field: &str, message: impl Into<String>) -> Self {
        RunError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// The single owner of the engine.
pub struct Runner {
    engine: Engine,
    artifacts: Arc<dyn ArtifactBackend>,
    precision: String,
    ledger: Mutex<HashMap<Uuid, u32>>,
    total: AtomicU64,
    bases: basis::SharedBasisCache,
    /// The model's own steering vocabulary (`model_modifiers`), empty for most models.
    steering_modifiers: Vec<String>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("model", &self.engine.info().name)
            .field("runs", &self.total.load(Ordering::Relaxed))
            .finish()
    }
}

impl Runner {
    /// Takes ownership of a loaded engine; images go to `artifacts`.
    pub fn new(engine: Engine, artifacts: impl ArtifactBackend + 'static) -> Runner {
        let steering_modifiers = match engine.info().dir.as_deref().map(model_modifiers::read) {
            Some(Ok(list)) => list,
            // `serve` checks the file before it starts; elsewhere a bad file only costs the
            // model's own vocabulary.
            Some(Err(e)) => {
                tracing::warn!("{e}; using the default steering modifiers");
                Vec::new()
            }
            None => Vec::new(),
        };
        Runner {
            steering_modifiers,
            precision: engine.info().unet_dtype.clone(),
            engine,
            artifacts: Arc::new(artifacts),
            ledger: Mutex::new(HashMap::new()),
            total: AtomicU64::new(0),
            bases: Default::default(),
        }
    }

    /// Loads the diffusers folder `model` and wraps it (for command-line tools that own their
    /// runner; the server loads its engine in `serve`).
    pub fn load(
        model: &std::path::Path,
        device: engine::DeviceRequest,
        precision: engine::runtime::Precision,
        artifacts: impl ArtifactBackend + 'static,
    ) -> Result<Runner, EngineError> {
        Ok(Runner::new(
            Engine::load(model, device, precision)?,
            artifacts,
        ))
    }

    /// What model is loaded, on which device.
    pub fn model(&self) -> &ModelInfo {
        self.engine.info()
    }

    /// Prompt variants the model declares for its semantic basis (empty: the defaults).
    pub fn steering_modifiers(&self) -> &[String] {
        &self.steering_modifiers
    }

    /// The artifact store images are written to.
    pub fn artifacts(&self) -> &Arc<dyn ArtifactBackend> {
        &self.artifacts
    }

    /// A snapshot skeleton with the model, device and versions filled in.
    pub fn base_settings(&self, kind: RenderKind) -> SettingsSnapshot {
        let info = self.engine.info();
        SettingsSnapshot {
            schema: SNAPSHOT_SCHEMA,
            kind,
            model: ModelRef {
                name: info.name.clone(),
                dir: info.dir.as_ref().map(|d| d.display().to_string()),
            },
            device: info.device.to_string(),
            precision: self.precision.clone(),
            engine_version: engine::ENGINE_VERSION.to_string(),
            prompt: String::new(),
            negative_prompt: String::new(),
            scheduler: SchedulerKind::DpmSolverMultistep.name().to_string(),
            steps: 20,
            guidance_scale: 7.5,
            width: info.default_size,
            height: info.default_size,
            clip_skip: 0,
            steering_mode: None,
            anchor_strength: 0.0,
            candidates: Vec::new(),
            init_image: None,
            context: serde_json::Map::new(),
            basis: None,
        }
    }

    /// Checks a snapshot the way a run would, without rendering (used before queueing, so bad
    /// settings are a 4xx at request time rather than a failed job later). A snapshot's basis
    /// is checked and computed (or taken from the cache) as a run would.
    pub fn check(&self, snapshot: &Snapshot) -> Result<(), RunError> {
        let request = self.request_for(snapshot, false)?;
        self.engine
            .validate(&request)
            .map_err(|e| engine_error_to_invalid(e, "settings"))
    }

    /// How many times job `job_id` was rendered.
    pub fn invocations(&self, job_id: Uuid) -> u32 {
        self.ledger
            .lock()
            .map(|l| l.get(&job_id).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Renders in all since start-up.
    pub fn total_invocations(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Renders `snapshot` for job `job_id` (blocking: call from a blocking thread), stores every
    /// image as an artifact with its metadata chunks, and returns their hashes.
    pub fn run(
        &self,
        job_id: Uuid,
        snapshot: &Snapshot,
        observer: &mut dyn FnMut(Progress<'_>),
        cancel: &AtomicBool,
    ) -> Result<RunOutput, RunError> {
        if let Ok(mut ledger) = self.ledger.lock() {
            *ledger.entry(job_id).or_insert(0) += 1;
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let request = self.request_for(snapshot, true)?;
        let output = self
            .engine
            .render(&request, observer, cancel)
            .map_err(|e| match e {
                EngineError::Cancelled { step, total } => RunError::Cancelled { step, total },
                EngineError::InvalidRequest { .. } => engine_error_to_invalid(e, "settings"),
                other => RunError::Engine(other),
            })?;
        let store_started = Instant::now();
        let mut images = Vec::with_capacity(output.images.len());
        for (index, image) in output.images.iter().enumerate() {
            let chunks = png_metadata::chunks(&request, snapshot, index, &self.engine.info().name);
            let png = image
                .to_png(&chunks)
                .map_err(|e| RunError::Artifact(std::io::Error::other(e.to_string())))?;
            let artifact_hash = self.artifacts.put(&png).map_err(RunError::Artifact)?;
            images.push(RenderedImage {
                artifact_hash,
                width: image.width as u32,
                height: image.height as u32,
            });
        }
        let t = output.timings;
        Ok(RunOutput {
            images,
            timings: vec![
                ("encode".into(), t.encode_ms),
                ("denoise".into(), t.denoise_ms),
                ("decode".into(), t.decode_ms),
                ("store".into(), store_started.elapsed().as_secs_f64() * 1e3),
                ("total".into(), started.elapsed().as_secs_f64() * 1e3),
            ],
            device: self.engine.info().device.to_string(),
        })
    }

    /// The engine request a snapshot describes. With a semantic or random orthonormal basis,
    /// every candidate with a z is steered by the precomputed offset `anchor_strength · Σ z_i B_i`
    /// (the steering mode then shapes nothing); without one, or with the sinusoidal basis, by the
    /// engine's operator in the snapshot's steering mode.
    fn request_for(&self, snapshot: &Snapshot, load_init: bool) -> Result<RenderRequest, RunError> {
        let s = snapshot.settings();
        let info = self.engine.info();
        if s.model.name != info.name {
            return Err(RunError::ModelNotLoaded {
                requested: s.model.name.clone(),
                loaded: info.name.clone(),
            });
        }
        let scheduler: SchedulerKind =
            s.scheduler
                .parse()
                .map_err(|e: engine::schedulers::SchedulerError| {
                    RunError::invalid("scheduler", e.to_string())
                })?;
        let mode = match &s.steering_mode {
            None => None,
            Some(name) => Some(OffsetMode::parse(name).ok_or_else(|| {
                RunError::invalid("steering_mode", format!("unknown steering mode `{name}`"))
            })?),
        };
        let basis = self.snapshot_basis(
            s.basis.as_ref(),
            s.clip_skip,
            s.candidates
                .iter()
                .filter_map(|c| c.z.as_ref().map(Vec::len)),
        )?;
        let mut candidates = Vec::with_capacity(s.candidates.len());
        for c in &s.candidates {
            let init_latents = match (&c.init_latents, load_init) {
                (Some(latents), true) => Some(load_latents(latents)?),
                _ => None,
            };
            let steering = match (&c.z, &basis, mode) {
                (Some(z), Some(basis), _) => Some(Steering::Offset(
                    basis
                        .offset(z, s.anchor_strength)
                        .map_err(|e| RunError::invalid("basis", e.to_string()))?,
                )),
                (Some(z), None, Some(mode)) => Some(Steering::Vector {
                    mode,
                    z: z.clone(),
                    anchor_strength: s.anchor_strength,
                }),
                _ => None,
            };
            candidates.push(Candidate {
                seed: c.seed,
                init_latents,
                steering,
            });
        }
        let init_image = match &s.init_image {
            None => None,
            Some(init) => {
                let image = if load_init {
                    let bytes = self.artifacts.get(&init.artifact_hash).ok_or_else(|| {
                        RunError::invalid("init_images", "the init image artifact is missing")
                    })?;
                    RgbImage::from_png(&bytes)
                        .map_err(|e| RunError::invalid("init_images", e.to_string()))?
                        .0
                } else {
                    // Shape-only stand-in for validation.
                    RgbImage {
                        width: s.width,
                        height: s.height,
                        pixels: vec![
                            0;
                            s.width
                                .saturating_mul(s.height)
                                .saturating_mul(3)
                                .min(1 << 26)
                        ],
                    }
                };
                Some(InitImage {
                    image,
                    strength: init.strength,
                })
            }
        };
        Ok(RenderRequest {
            prompt: s.prompt.clone(),
            negative_prompt: s.negative_prompt.clone(),
            scheduler,
            steps: s.steps,
            guidance_scale: s.guidance_scale,
            width: s.width,
            height: s.height,
            clip_skip: s.clip_skip,
            candidates,
            init_image,
        })
    }
}

/// Hash of f32 values as stored in a [`LatentsRef`].
pub fn latents_hash(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    crate::artifacts::content_hash(&bytes)
}

fn load_latents(latents: &LatentsRef) -> Result<Vec<f32>, RunError> {
    let tensors =
        engine::stable_diffusion::weights::read_f32_tensors(std::path::Path::new(&latents.file))
            .map_err(|e| RunError::invalid("init_latents", e.to_string()))?;
    let tensor = tensors.get(&latents.tensor).ok_or_else(|| {
        RunError::invalid(
            "init_latents",
            format!("{} has no tensor `{}`", latents.file, latents.tensor),
        )
    })?;
    if latents_hash(&tensor.values) != latents.values_hash {
        return Err(RunError::invalid(
            "init_latents",
            format!("{} changed since the job was queued", latents.file),
        ));
    }
    Ok(tensor.values.clone())
}

fn engine_error_to_invalid(e: EngineError, default_field: &str) -> RunError {
    match e {
        EngineError::InvalidRequest { field, message } => RunError::Invalid {
            field: field.to_string(),
            message,
        },
        other => RunError::invalid(default_field, other.to_string()),
    }
}
