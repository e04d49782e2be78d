//! The StableSteering rendering engine.
//!
//! Its public API is deliberately non-generic: the burn backend is chosen at run time from
//! [`DeviceRequest`] inside this crate, so only `engine` ever names burn's CUDA type and the
//! expensive CubeCL monomorphisation happens in one crate (see docs/ARCHITECTURE.md).

pub mod demo_model;
pub mod device;
pub mod error;
pub mod image;
pub mod noise;
pub mod parameters;
pub mod request;
pub mod runtime;
pub mod schedulers;
pub mod stable_diffusion;
pub mod steering_offset;
pub mod validate;

pub use device::{
    probe_cuda, resolve_device, CudaProbe, DeviceKind, DeviceRequest, ResolvedDevice,
};
pub use error::EngineError;

/// Version of the engine crate, recorded in every settings snapshot.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Version of burn the engine is built against.
pub const BURN_VERSION: &str = "0.21.0";

/// True when this binary was built with CUDA support.
pub const CUDA_COMPILED: bool = cfg!(feature = "cuda");
