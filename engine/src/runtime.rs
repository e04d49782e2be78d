//! The engine's non-generic face. The backend is chosen at run time from the resolved device,
//! so burn's CUDA type is named only here and callers (the runner, the CLI) never see a
//! generic parameter. Backend panics (driver errors, out of memory) become typed errors.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::AtomicBool;

use burn::tensor::backend::Backend;
use burn::tensor::DType;
use serde::{Deserialize, Serialize};

use crate::device::{resolve_device, DeviceKind, DeviceRequest};
use crate::error::EngineError;
use crate::request::{Progress, RenderOutput, RenderRequest};
use crate::schedulers::SchedulerConfig;
use crate::stable_diffusion::clip::{ClipTextConfig, ClipTextTransformer};
use crate::stable_diffusion::folder::ModelFolder;
use crate::stable_diffusion::pipeline::{to_vec, BatchNoise, SeededNoise, StableDiffusion};
use crate::stable_diffusion::tokenizer::ClipTokenizer;
use crate::stable_diffusion::unet_2d::{UNet2DConditionConfig, UNet2DConditionModel};
use crate::stable_diffusion::vae::{AutoencoderKL, AutoencoderKLConfig};
use crate::stable_diffusion::weights::{KeyStyle, WeightFile};

/// The dtype of the text encoder and UNet on CUDA (the CPU always computes in f32, and the
/// VAE always runs in f32 because SD's decoder overflows in f16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Half precision (the diffusers default on GPUs).
    #[default]
    F16,
    /// bfloat16.
    Bf16,
    /// Full precision.
    F32,
}

impl FromStr for Precision {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f16" | "fp16" | "half" => Ok(Self::F16),
            "bf16" => Ok(Self::Bf16),
            "f32" | "fp32" => Ok(Self::F32),
            other => Err(EngineError::invalid(
                "precision",
                format!("`{other}`: expected f16, bf16 or f32"),
            )),
        }
    }
}

/// What was loaded, for health reports, logs and settings snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Folder name (or `random-sd15`).
    pub name: String,
    /// The folder, when loaded from one.
    pub dir: Option<PathBuf>,
    /// True when the weights are random (benchmarks).
    pub random_weights: bool,
    /// The device the model runs on.
    pub device: DeviceKind,
    /// dtype of the text encoder and UNet (`f32`, `f16`, `bf16`).
    pub unet_dtype: String,
    /// Default image width and height in pixels.
    pub default_size: usize,
    /// Pixels per latent cell.
    pub vae_scale_factor: usize,
    /// Latent channels.
    pub latent_channels: usize,
    /// Width of the text embeddings (steering acts on it).
    pub hidden_size: usize,
    /// Token sequence length (77).
    pub seq_len: usize,
    /// Checkpoint tensors the model did not use (logged at load).
    pub unexpected_keys: Vec<String>,
}

/// Prompts that go through the text encoder together in [`Engine::encode_prompts`].
pub const ENCODE_CHUNK: usize = 8;

/// Largest clip skip accepted (the same bound a render request has).
pub const MAX_CLIP_SKIP: usize = 4;

/// The positive conditioning of some prompts, as a render would use it.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptEmbeddings {
    /// Token positions per prompt (77 for SD 1.x/2.x).
    pub seq_len: usize,
    /// Width of each position's embedding.
    pub hidden: usize,
    /// One entry per prompt, in order: `seq_len × hidden` values, row-major `[seq][hidden]`.
    pub values: Vec<Vec<f32>>,
}

enum Backends {
    Cpu(Box<StableDiffusion<burn::backend::Flex>>),
    #[cfg(feature = "cuda")]
    Cuda(Box<StableDiffusion<burn::backend::Cuda>>),
}

/// A loaded model on its device. `Send + Sync`: the runner shares one behind an `Arc`.
pub struct Engine {
    backends: Backends,
    info: ModelInfo,
}

macro_rules! dispatch {
    ($self:expr, $sd:ident => $body:expr) => {
        match &$self.backends {
            Backends::Cpu($sd) => $body,
            #[cfg(feature = "cuda")]
            Backends::Cuda($sd) => $body,
        }
    };
}

fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F16 => "f16",
        DType::BF16 => "bf16",
        _ => "f32",
    }
}

/// Turns a backend panic into an error naming the device.
fn guarded<T>(
    device: DeviceKind,
    f: impl FnOnce() -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(EngineError::Backend {
            device: device.to_string(),
            message,
        })
    })
}

/// The sources of one model: a folder, or random weights with SD 1.5's architecture.
enum Spec<'a> {
    Folder(&'a ModelFolder),
    RandomSd15 { tokenizer_dir: &'a Path },
}

fn build<B: Backend>(
    spec: &Spec<'_>,
    device: B::Device,
    unet_dtype: DType,
) -> Result<(StableDiffusion<B>, Vec<String>), EngineError> {
    let vae_dtype = DType::F32;
    let (tokenizer_dir, text_cfg, unet_cfg, vae_cfg, scheduler_config, files) = match spec {
        Spec::Folder(f) => (
            f.tokenizer_dir.clone(),
            f.text_encoder.clone(),
            f.unet.clone(),
            f.vae.clone(),
            SchedulerConfig::from_file(&f.scheduler_config)
                .map_err(|e| EngineError::Scheduler(e.to_string()))?,
            Some((
                WeightFile::open(&f.text_encoder_weights, KeyStyle::ClipText)?,
                WeightFile::open(&f.unet_weights, KeyStyle::Plain)?,
                WeightFile::open(&f.vae_weights, KeyStyle::Vae)?,
            )),
        ),
        Spec::RandomSd15 { tokenizer_dir } => (
            tokenizer_dir.to_path_buf(),
            ClipTextConfig::sd15(),
            UNet2DConditionConfig::sd15(),
            AutoencoderKLConfig::sd15(),
            SchedulerConfig::from_json_str(SD15_SCHEDULER)
                .map_err(|e| EngineError::Scheduler(e.to_string()))?,
            None,
        ),
    };
    let tokenizer = ClipTokenizer::from_dir(&tokenizer_dir)
        .map_err(|e| EngineError::Tokenizer(e.to_string()))?;
    let (text_file, unet_file, vae_file) = files.unwrap_or_else(|| {
        (
            WeightFile::random("random text_encoder"),
            WeightFile::random("random unet"),
            WeightFile::random("random vae"),
        )
    });
    let text_encoder =
        ClipTextTransformer::load(&text_file.root::<B>(&device, unet_dtype), text_cfg);
    let unet = UNet2DConditionModel::load(&unet_file.root::<B>(&device, unet_dtype), unet_cfg);
    let vae = AutoencoderKL::load(&vae_file.root::<B>(&device, vae_dtype), vae_cfg);
    let mut unexpected = Vec::new();
    for (file, component) in [
        (text_file, "text_encoder"),
        (unet_file, "unet"),
        (vae_file, "vae"),
    ] {
        unexpected.extend(
            file.finish(component)?
                .into_iter()
                .map(|k| format!("{component}: {k}")),
        );
    }
    Ok((
        StableDiffusion {
            tokenizer,
            text_encoder,
            unet,
            vae,
            scheduler_config,
            device,
            unet_dtype,
            vae_dtype,
        },
        unexpected,
    ))
}

/// SD 1.5's `scheduler_config.json`, for random-weight benchmarks.
const SD15_SCHEDULER: &str = r#"{"_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
 "beta_start": 0.00085, "num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true,
 "steps_offset": 1, "trained_betas": null, "clip_sample": false}"#;

impl Engine {
    /// Loads a diffusers Stable Diffusion 1.x/2.x folder onto the requested device.
    pub fn load(
        dir: &Path,
        device: DeviceRequest,
        precision: Precision,
    ) -> Result<Self, EngineError> {
        let folder = ModelFolder::inspect(dir)?;
        let mut engine = Self::load_spec(&Spec::Folder(&folder), device, precision)?;
        engine.info.name = folder.name();
        engine.info.dir = Some(folder.dir.clone());
        engine.info.default_size = folder.default_image_size();
        for key in &engine.info.unexpected_keys {
            tracing::warn!(model = %engine.info.name, key = %key, "checkpoint tensor not used by the model");
        }
        Ok(engine)
    }

    /// SD 1.5's full-size architecture with random weights (for benchmarks without a
    /// checkpoint); the tokenizer comes from `tokenizer_dir`.
    pub fn random_sd15(
        tokenizer_dir: &Path,
        device: DeviceRequest,
        precision: Precision,
    ) -> Result<Self, EngineError> {
        let mut engine = Self::load_spec(&Spec::RandomSd15 { tokenizer_dir }, device, precision)?;
        engine.info.name = "random-sd15".into();
        engine.info.random_weights = true;
        engine.info.default_size = 512;
        Ok(engine)
    }

    fn load_spec(
        spec: &Spec<'_>,
        device: DeviceRequest,
        precision: Precision,
    ) -> Result<Self, EngineError> {
        let resolved = resolve_device(device)?;
        let kind = resolved.kind;
        let backends = guarded(kind, || match kind {
            DeviceKind::Cpu => {
                let (sd, unexpected) =
                    build::<burn::backend::Flex>(spec, Default::default(), DType::F32)?;
                Ok((Backends::Cpu(Box::new(sd)), unexpected))
            }
            #[cfg(feature = "cuda")]
            DeviceKind::Cuda => {
                let dtype = match precision {
                    Precision::F16 => DType::F16,
                    Precision::Bf16 => DType::BF16,
                    Precision::F32 => DType::F32,
                };
                let (sd, unexpected) =
                    build::<burn::backend::Cuda>(spec, Default::default(), dtype)?;
                Ok((Backends::Cuda(Box::new(sd)), unexpected))
            }
            #[cfg(not(feature = "cuda"))]
            DeviceKind::Cuda => {
                let _ = precision;
                Err(EngineError::CudaNotCompiled)
            }
        })?;
        let (backends, unexpected_keys) = backends;
        let info = match &backends {
            Backends::Cpu(sd) => info_of(sd, kind, unexpected_keys),
            #[cfg(feature = "cuda")]
            Backends::Cuda(sd) => info_of(sd, kind, unexpected_keys),
        };
        Ok(Self { backends, info })
    }

    /// What is loaded.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Renders a batch with each candidate's seeded noise.
    pub fn render(
        &self,
        req: &RenderRequest,
        observer: &mut dyn FnMut(Progress<'_>),
        cancel: &AtomicBool,
    ) -> Result<RenderOutput, EngineError> {
        let seeds: Vec<u64> = req.candidates.iter().map(|c| c.seed).collect();
        self.render_with_noise(req, &mut SeededNoise::new(&seeds), observer, cancel)
    }

    /// Renders a batch drawing random numbers from `noise` (parity tests replay diffusers').
    pub fn render_with_noise(
        &self,
        req: &RenderRequest,
        noise: &mut dyn BatchNoise,
        observer: &mut dyn FnMut(Progress<'_>),
        cancel: &AtomicBool,
    ) -> Result<RenderOutput, EngineError> {
        guarded(
            self.info.device,
            || dispatch!(self, sd => sd.render(req, noise, observer, cancel)),
        )
    }

    /// Checks a request against the model without rendering.
    pub fn validate(&self, req: &RenderRequest) -> Result<(), EngineError> {
        dispatch!(self, sd => sd.validate(req))
    }

    /// The tokenizer's padded ids for `text`.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        dispatch!(self, sd => sd.tokenizer.encode(text))
    }

    /// Text encoder output `[B, S, D]` (flattened) for padded token ids.
    pub fn encode_text(&self, ids: &[Vec<u32>], clip_skip: usize) -> Result<Vec<f32>, EngineError> {
        guarded(
            self.info.device,
            || dispatch!(self, sd => Ok(to_vec(sd.text_encoder.forward(ids, clip_skip)))),
        )
    }

    /// Each prompt's positive conditioning exactly as a render with this `clip_skip` adds the
    /// steering offset to it: the same tokenizer and padding, the same text encoder (in the
    /// model's dtype: f16-rounded values on CUDA), downloaded as f32. Prompts are encoded
    /// [`ENCODE_CHUNK`] at a time so a long list does not need one huge batch.
    pub fn encode_prompts(
        &self,
        prompts: &[String],
        clip_skip: usize,
    ) -> Result<PromptEmbeddings, EngineError> {
        if clip_skip > MAX_CLIP_SKIP {
            return Err(EngineError::invalid(
                "clip_skip",
                format!("must be 0..={MAX_CLIP_SKIP}, got {clip_skip}"),
            ));
        }
        let (seq_len, hidden) = (self.info.seq_len, self.info.hidden_size);
        let values = guarded(
            self.info.device,
            || dispatch!(self, sd => Ok(sd.encode_positive(prompts, clip_skip, ENCODE_CHUNK))),
        )?;
        if let Some(bad) = values.iter().find(|v| v.len() != seq_len * hidden) {
            return Err(EngineError::Backend {
                device: self.info.device.to_string(),
                message: format!(
                    "text encoder returned {} values per prompt, expected {seq_len}×{hidden}",
                    bad.len()
                ),
            });
        }
        Ok(PromptEmbeddings {
            seq_len,
            hidden,
            values,
        })
    }

    /// One UNet forward: `sample` `[B, C, h, w]`, one timestep per row, `context` `[B, S, D]`.
    pub fn unet_forward(
        &self,
        sample: &[f32],
        shape: [usize; 4],
        timesteps: &[f64],
        context: &[f32],
    ) -> Result<Vec<f32>, EngineError> {
        let (seq, hidden) = (self.info.seq_len, self.info.hidden_size);
        guarded(self.info.device, || {
            dispatch!(self, sd => {
                let x = sd.upload(sample.to_vec(), shape, sd.unet_dtype);
                let ctx = sd.upload(context.to_vec(), [shape[0], seq, hidden], sd.unet_dtype);
                Ok(to_vec(sd.unet.forward(x, timesteps, ctx)))
            })
        })
    }

    /// `vae.decode(latents).sample` for latents `[B, C, h, w]` (no scaling factor applied).
    pub fn vae_decode(&self, latents: &[f32], shape: [usize; 4]) -> Result<Vec<f32>, EngineError> {
        guarded(
            self.info.device,
            || dispatch!(self, sd => Ok(to_vec(sd.vae.decode(sd.upload(latents.to_vec(), shape, sd.vae_dtype))))),
        )
    }

    /// Mean and standard deviation of `vae.encode(images).latent_dist` for `[B, 3, H, W]`.
    pub fn vae_encode(
        &self,
        images: &[f32],
        shape: [usize; 4],
    ) -> Result<(Vec<f32>, Vec<f32>), EngineError> {
        guarded(self.info.device, || {
            dispatch!(self, sd => {
                let (mean, std) = sd.vae.encode(sd.upload(images.to_vec(), shape, sd.vae_dtype));
                Ok((to_vec(mean), to_vec(std)))
            })
        })
    }
}

fn info_of<B: Backend>(
    sd: &StableDiffusion<B>,
    device: DeviceKind,
    unexpected_keys: Vec<String>,
) -> ModelInfo {
    ModelInfo {
        name: String::new(),
        dir: None,
        random_weights: false,
        device,
        unet_dtype: dtype_name(sd.unet_dtype).into(),
        default_size: sd.unet.config().sample_size * sd.vae.config.scale_factor(),
        vae_scale_factor: sd.vae.config.scale_factor(),
        latent_channels: sd.unet.config().in_channels,
        hidden_size: sd.text_encoder.config().hidden_size,
        seq_len: sd.tokenizer.model_max_length(),
        unexpected_keys,
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Engine>();
}
