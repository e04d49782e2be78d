//! Typed engine errors: every failure a caller can act on has its own variant.

use thiserror::Error;

/// Errors returned by the engine's public API.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// The caller asked for CUDA but this binary was built without the `cuda` feature.
    #[error("CUDA was requested but this binary was built without CUDA support (rebuild with `--features cuda`)")]
    CudaNotCompiled,
    /// The caller asked for CUDA but no usable CUDA device was found at start-up.
    #[error("CUDA was requested but is not available: {0}")]
    CudaUnavailable(String),
    /// A device name that is not `auto`, `cpu` or `cuda`.
    #[error("unknown device '{0}': expected one of auto, cpu, cuda")]
    UnknownDevice(String),
    /// The folder is not a diffusers Stable Diffusion model.
    #[error("{dir} is not a Stable Diffusion model folder: {reason} (expected a diffusers folder with model_index.json, unet/, vae/, text_encoder/, tokenizer/ and scheduler/)")]
    NotAModel {
        /// The folder that was given.
        dir: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A `config.json` (or scheduler config) is unreadable or inconsistent.
    #[error("{path}: {message}")]
    Config {
        /// The config file.
        path: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Weights the model needs are not in the checkpoint.
    #[error("{file} lacks {count} tensor(s) the {component} needs, e.g. {}", keys.join(", "))]
    MissingWeights {
        /// `unet`, `vae` or `text_encoder`.
        component: String,
        /// The safetensors file.
        file: String,
        /// The first missing keys.
        keys: Vec<String>,
        /// How many are missing in all.
        count: usize,
    },
    /// A tensor in the checkpoint has another shape than the config implies.
    #[error("{file}: tensor {key} has shape {found:?}, the config implies {expected:?}")]
    ShapeMismatch {
        /// The safetensors file.
        file: String,
        /// The checkpoint key.
        key: String,
        /// Shape the config implies.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// Reading a file failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The OS or decoder message.
        message: String,
    },
    /// The CLIP tokenizer files are missing or malformed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The scheduler cannot be built from the model's scheduler config.
    #[error("scheduler: {0}")]
    Scheduler(String),
    /// A render request is invalid; `field` names the offending field.
    #[error("{field}: {message}")]
    InvalidRequest {
        /// The request field (`steps`, `width`, `seeds`, ...).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The render was cancelled between denoising steps.
    #[error("cancelled after step {step} of {total}")]
    Cancelled {
        /// Steps completed before the cancellation was seen.
        step: usize,
        /// Steps requested.
        total: usize,
    },
    /// The backend failed while running (out of memory, driver error).
    #[error("the {device} backend failed: {message}")]
    Backend {
        /// `cpu` or `cuda`.
        device: String,
        /// The backend's message.
        message: String,
    },
}

impl EngineError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, err: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.display().to_string(),
            message: err.to_string(),
        }
    }

    /// A config error on `path`.
    pub fn config(path: &std::path::Path, message: impl Into<String>) -> Self {
        Self::Config {
            path: path.display().to_string(),
            message: message.into(),
        }
    }

    /// An invalid request field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            field: field.to_string(),
            message: message.into(),
        }
    }
}
