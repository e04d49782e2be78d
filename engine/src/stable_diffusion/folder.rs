//! A diffusers model folder: `model_index.json` plus one sub-folder per component. Checks
//! that it is a Stable Diffusion 1.x/2.x pipeline before anything heavy is read, so a wrong
//! path gets one line that says what was expected.

use std::path::{Path, PathBuf};

use super::clip::ClipTextConfig;
use super::config::JsonConfig;
use super::unet_2d::UNet2DConditionConfig;
use super::vae::AutoencoderKLConfig;
use crate::error::EngineError;

/// Pipelines whose components this engine implements.
const SUPPORTED_PIPELINES: &[&str] = &[
    "StableDiffusionPipeline",
    "StableDiffusionImg2ImgPipeline",
    "StableDiffusionInpaintPipeline",
];

/// The paths and configs of a Stable Diffusion folder.
#[derive(Debug, Clone)]
pub struct ModelFolder {
    /// The folder.
    pub dir: PathBuf,
    /// `_class_name` from `model_index.json`.
    pub pipeline_class: String,
    /// `unet/config.json`.
    pub unet: UNet2DConditionConfig,
    /// `vae/config.json`.
    pub vae: AutoencoderKLConfig,
    /// `text_encoder/config.json`.
    pub text_encoder: ClipTextConfig,
    /// The UNet's safetensors file.
    pub unet_weights: PathBuf,
    /// The VAE's safetensors file.
    pub vae_weights: PathBuf,
    /// The text encoder's safetensors file.
    pub text_encoder_weights: PathBuf,
    /// `tokenizer/`.
    pub tokenizer_dir: PathBuf,
    /// `scheduler/scheduler_config.json`.
    pub scheduler_config: PathBuf,
}

impl ModelFolder {
    /// Reads the folder's configs; any problem is an [`EngineError::NotAModel`] or a config
    /// error naming the file and key.
    pub fn inspect(dir: &Path) -> Result<Self, EngineError> {
        let not_a_model = |reason: &str| EngineError::NotAModel {
            dir: dir.display().to_string(),
            reason: reason.to_string(),
        };
        if dir.is_file() {
            return Err(not_a_model(single_file_reason(dir)));
        }
        if !dir.is_dir() {
            return Err(not_a_model("no such folder"));
        }
        let index_path = dir.join("model_index.json");
        if !index_path.is_file() {
            return Err(not_a_model("model_index.json is missing"));
        }
        let index = JsonConfig::read(&index_path)?;
        let class: String = index.get_or("_class_name", String::new())?;
        if !SUPPORTED_PIPELINES.contains(&class.as_str()) {
            return Err(not_a_model(&format!(
                "model_index.json names `{class}`, supported: {}",
                SUPPORTED_PIPELINES.join(", ")
            )));
        }
        for part in ["unet", "vae", "text_encoder", "tokenizer", "scheduler"] {
            if !dir.join(part).is_dir() {
                return Err(not_a_model(&format!("the `{part}/` folder is missing")));
            }
        }
        let scheduler_config = dir.join("scheduler").join("scheduler_config.json");
        if !scheduler_config.is_file() {
            return Err(not_a_model("scheduler/scheduler_config.json is missing"));
        }
        let unet = UNet2DConditionConfig::read(&dir.join("unet").join("config.json"))?;
        let vae = AutoencoderKLConfig::read(&dir.join("vae").join("config.json"))?;
        let text_encoder = ClipTextConfig::read(&dir.join("text_encoder").join("config.json"))?;
        if text_encoder.hidden_size != unet.cross_attention_dim {
            return Err(not_a_model(&format!(
                "the text encoder's hidden_size {} differs from the UNet's cross_attention_dim {}",
                text_encoder.hidden_size, unet.cross_attention_dim
            )));
        }
        if vae.latent_channels != unet.in_channels {
            return Err(not_a_model(&format!(
                "the VAE has {} latent channels but the UNet takes {}",
                vae.latent_channels, unet.in_channels
            )));
        }
        Ok(Self {
            unet_weights: weights_file(dir, "unet", "diffusion_pytorch_model")?,
            vae_weights: weights_file(dir, "vae", "diffusion_pytorch_model")?,
            text_encoder_weights: weights_file(dir, "text_encoder", "model")?,
            tokenizer_dir: dir.join("tokenizer"),
            scheduler_config,
            pipeline_class: class,
            unet,
            vae,
            text_encoder,
            dir: dir.to_path_buf(),
        })
    }

    /// A short name for logs and snapshots: the folder's name.
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.dir.display().to_string())
    }

    /// Default image side in pixels (the UNet's sample size × the VAE's scale factor).
    pub fn default_image_size(&self) -> usize {
        self.unet.sample_size * self.vae.scale_factor()
    }
}

/// Finds `<part>/<stem>.safetensors` or its `.fp16` variant; PyTorch pickles are refused.
fn weights_file(dir: &Path, part: &str, stem: &str) -> Result<PathBuf, EngineError> {
    let folder = dir.join(part);
    for name in [
        format!("{stem}.safetensors"),
        format!("{stem}.fp16.safetensors"),
    ] {
        let path = folder.join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    let reason = if folder.join(format!("{stem}.bin")).is_file() {
        format!("{part}/ has only {stem}.bin (PyTorch pickle); convert it to safetensors")
    } else {
        format!("{part}/{stem}.safetensors is missing")
    };
    Err(EngineError::NotAModel {
        dir: dir.display().to_string(),
        reason,
    })
}

/// Why a single file is not loaded: pickles can run code when unpickled, so they are refused
/// for good; single-file `.safetensors` checkpoints are not read yet (issue 18).
fn single_file_reason(file: &Path) -> &'static str {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("ckpt" | "pt" | "pth" | "bin") => {
            "a pickle checkpoint: unpickling can run any code in it, so it is refused; use a \
             .safetensors release of the model, converted to a diffusers folder"
        }
        Some("safetensors") => {
            "a single-file checkpoint, which this version does not load yet; convert it to a \
             diffusers folder (diffusers' `StableDiffusionPipeline.from_single_file(...)\
             .save_pretrained(DIR)`) and pass that folder"
        }
        _ => "a file, not a folder (expected a diffusers folder with model_index.json)",
    }
}
