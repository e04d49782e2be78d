//! Run-time device selection.
//!
//! CUDA is probed once: first by loading the driver library and asking it for a device count
//! (cheap, and it cannot panic), then by running one tiny burn operation inside
//! `catch_unwind`, because burn's CUDA device panics on its own thread when no GPU is present.
//! The outcome is cached, so later calls never touch the driver again.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// What the user asked for (`--device auto|cpu|cuda`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceRequest {
    /// CUDA when a device is usable, otherwise the CPU.
    #[default]
    Auto,
    /// burn's Flex CPU backend (f32).
    Cpu,
    /// burn's CUDA backend; an error when no GPU is usable.
    Cuda,
}

impl FromStr for DeviceRequest {
    type Err = EngineError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            _ => Err(EngineError::UnknownDevice(s.to_string())),
        }
    }
}

impl fmt::Display for DeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        })
    }
}

/// The backend that will actually run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// burn Flex on the CPU.
    Cpu,
    /// burn CUDA.
    Cuda,
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        })
    }
}

/// Result of the one-time CUDA probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CudaProbe {
    /// True when CUDA can be used by this binary.
    pub available: bool,
    /// Number of devices the driver reported (0 when unavailable).
    pub device_count: u32,
    /// Why CUDA is unavailable, in words, when it is.
    pub reason: Option<String>,
}

/// A request resolved against what this machine and binary can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedDevice {
    /// What was asked for.
    pub requested: DeviceRequest,
    /// What will run.
    pub kind: DeviceKind,
    /// The CUDA probe that informed the decision.
    pub cuda: CudaProbe,
}

static PROBE: OnceLock<CudaProbe> = OnceLock::new();

/// Probes CUDA once per process and caches the answer.
pub fn probe_cuda() -> CudaProbe {
    PROBE.get_or_init(probe_cuda_uncached).clone()
}

/// Resolves a device request; asking for CUDA where it is unusable is an error, not a panic.
pub fn resolve_device(requested: DeviceRequest) -> Result<ResolvedDevice, EngineError> {
    let cuda = probe_cuda();
    let kind = match requested {
        DeviceRequest::Cpu => DeviceKind::Cpu,
        DeviceRequest::Auto if cuda.available => DeviceKind::Cuda,
        DeviceRequest::Auto => DeviceKind::Cpu,
        DeviceRequest::Cuda if cuda.available => DeviceKind::Cuda,
        DeviceRequest::Cuda if !crate::CUDA_COMPILED => return Err(EngineError::CudaNotCompiled),
        DeviceRequest::Cuda => {
            return Err(EngineError::CudaUnavailable(
                cuda.reason.clone().unwrap_or_else(|| "no device".into()),
            ))
        }
    };
    Ok(ResolvedDevice {
        requested,
        kind,
        cuda,
    })
}

#[cfg(not(feature = "cuda"))]
fn probe_cuda_uncached() -> CudaProbe {
    CudaProbe {
        available: false,
        device_count: 0,
        reason: Some("built without the `cuda` feature".into()),
    }
}

#[cfg(feature = "cuda")]
fn probe_cuda_uncached() -> CudaProbe {
    let unavailable = |reason: String| CudaProbe {
        available: false,
        device_count: 0,
        reason: Some(reason),
    };
    let device_count = match cuda_driver::device_count() {
        Ok(0) => return unavailable("the CUDA driver reports no devices".into()),
        Ok(n) => n,
        Err(reason) => return unavailable(reason),
    };
    // The driver sees a device; make sure burn can run on it as well.
    let ran = std::panic::catch_unwind(|| {
        use burn::tensor::Tensor;
        type B = burn::backend::Cuda<f32, i32>;
        let device = burn::backend::cuda::CudaDevice::default();
        let t = Tensor::<B, 1>::from_floats([1.0, 2.0, 3.0], &device);
        t.sum().into_scalar()
    });
    match ran {
        Ok(sum) if (sum - 6.0).abs() < 1e-3 => CudaProbe {
            available: true,
            device_count,
            reason: None,
        },
        Ok(sum) => unavailable(format!("CUDA self-test returned {sum} instead of 6")),
        Err(_) => unavailable("burn's CUDA backend panicked during its self-test".into()),
    }
}

/// The two driver calls the probe needs, loaded with `dlopen` so the binary runs without CUDA.
#[cfg(feature = "cuda")]
mod cuda_driver {
    type CuInit = unsafe extern "C" fn(u32) -> i32;
    type CuDeviceGetCount = unsafe extern "C" fn(*mut i32) -> i32;

    pub fn device_count() -> Result<u32, String> {
        // SAFETY: loading the system CUDA driver library; its initialisers are the driver's own.
        let lib = unsafe { libloading::Library::new("libcuda.so.1") }
            .or_else(|_| unsafe { libloading::Library::new("libcuda.so") })
            .map_err(|e| format!("the CUDA driver library could not be loaded ({e})"))?;
        // SAFETY: the symbols have the documented CUDA driver API signatures.
        unsafe {
            let init: libloading::Symbol<CuInit> = lib
                .get(b"cuInit\0")
                .map_err(|e| format!("cuInit missing: {e}"))?;
            let count: libloading::Symbol<CuDeviceGetCount> = lib
                .get(b"cuDeviceGetCount\0")
                .map_err(|e| format!("cuDeviceGetCount missing: {e}"))?;
            let rc = init(0);
            if rc != 0 {
                return Err(format!("cuInit failed with CUDA error {rc}"));
            }
            let mut n: i32 = 0;
            let rc = count(&mut n);
            if rc != 0 {
                return Err(format!("cuDeviceGetCount failed with CUDA error {rc}"));
            }
            // Keep the driver loaded for the life of the process: burn uses it next.
            std::mem::forget(lib);
            Ok(n.max(0) as u32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!("auto".parse::<DeviceRequest>(), Ok(DeviceRequest::Auto));
        assert_eq!("CPU".parse::<DeviceRequest>(), Ok(DeviceRequest::Cpu));
        assert_eq!("cuda".parse::<DeviceRequest>(), Ok(DeviceRequest::Cuda));
        assert_eq!(
            "tpu".parse::<DeviceRequest>(),
            Err(EngineError::UnknownDevice("tpu".into()))
        );
    }

    #[test]
    fn cpu_is_always_resolvable() {
        let d = resolve_device(DeviceRequest::Cpu).expect("cpu resolves");
        assert_eq!(d.kind, DeviceKind::Cpu);
    }

    #[test]
    fn auto_falls_back_to_cpu_without_cuda() {
        let d = resolve_device(DeviceRequest::Auto).expect("auto resolves");
        if !d.cuda.available {
            assert_eq!(d.kind, DeviceKind::Cpu);
            assert!(d.cuda.reason.is_some());
        }
    }

    #[test]
    fn cuda_request_without_cuda_is_an_error_not_a_panic() {
        if !probe_cuda().available {
            assert!(resolve_device(DeviceRequest::Cuda).is_err());
        }
    }

    #[test]
    fn flex_backend_computes() {
        use burn::tensor::Tensor;
        let device = Default::default();
        let t = Tensor::<burn::backend::Flex, 1>::from_floats([1.0, 2.0, 3.5], &device);
        assert!((t.sum().into_scalar() - 6.5).abs() < 1e-6);
    }
}
