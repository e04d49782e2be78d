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
}
