//! JSON types shared by the server (which produces them) and the browser (which reads them).

use serde::{Deserialize, Serialize};

/// `GET /api/health`: what a person or a probe needs to know that the server is sound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    /// `ok` when the store is open and verified.
    pub status: String,
    /// The server's version.
    pub version: String,
    /// Absolute path of the data directory.
    pub data_dir: String,
    /// The event store.
    pub store: StoreHealth,
    /// The rendering engine.
    pub engine: EngineHealth,
}

/// Event-store part of [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreHealth {
    /// `open` when the store serves reads and writes.
    pub status: String,
    /// Number of events in the log.
    pub event_count: u64,
    /// Store backend name and version.
    pub backend: String,
}

/// Engine part of [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineHealth {
    /// What was requested (`auto`, `cpu`, `cuda`).
    pub requested_device: String,
    /// What would run (`cpu` or `cuda`).
    pub device: String,
    /// Whether a CUDA device is usable by this binary.
    pub cuda_available: bool,
    /// Why CUDA is not usable, when it is not.
    pub cuda_reason: Option<String>,
    /// Engine crate version.
    pub engine_version: String,
    /// burn version.
    pub burn_version: String,
    /// The loaded model.
    pub model: ModelHealth,
}

/// The model the server renders with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelHealth {
    /// Folder name.
    pub name: String,
    /// Absolute folder path.
    pub dir: String,
    /// True when the bundled tiny demo model is in use (its images are not meaningful).
    pub demo: bool,
    /// What a person should know about the model, shown in the UI when present.
    pub notice: Option<String>,
    /// dtype of the UNet and text encoder.
    pub unet_dtype: String,
    /// Native image side in pixels.
    pub default_size: u32,
}
