//! The admission limit: how much rendering one request may queue. One accepted request used to
//! be able to hold the only render slot for hours on a CPU (2048x2048, 100 steps); the work a
//! snapshot asks for — pixels x steps x images — is checked against a per-device budget before
//! anything is recorded, and a request over it is refused with what to change.

use engine::DeviceKind;

use super::{ErrorKind, ServiceError, ServiceResult};
use crate::runner::SettingsSnapshot;

/// The most work one request may queue on the CPU, in pixel-steps: a round of four 512x512
/// candidates at 50 steps (about ten minutes for SD 1.5 on two cores; the same budget allows
/// one 1024x1024 image at 50 steps).
pub const CPU_WORK_LIMIT: u64 = 512 * 512 * 50 * 4;
/// The most work one request may queue on a GPU (32x the CPU's: one 2048x2048 image at 128
/// steps, or a round of eight 1024x1024 at 100 steps).
pub const GPU_WORK_LIMIT: u64 = CPU_WORK_LIMIT * 32;

/// What one request asks the engine to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    /// Image width in pixels.
    pub width: u64,
    /// Image height in pixels.
    pub height: u64,
    /// Denoising steps per image.
    pub steps: u64,
    /// Images (candidates).
    pub images: u64,
}

impl Work {
    /// The work a sealed snapshot asks for (every candidate counts).
    pub fn of(settings: &SettingsSnapshot) -> Work {
        Work {
            width: settings.width as u64,
            height: settings.height as u64,
            steps: settings.steps as u64,
            images: settings.candidates.len().max(1) as u64,
        }
    }

    /// In pixel-steps.
    pub fn pixel_steps(self) -> u64 {
        self.width
            .saturating_mul(self.height)
            .saturating_mul(self.steps)
            .saturating_mul(self.images.max(1))
    }
}

/// The budget on `device`.
pub fn limit_for(device: DeviceKind) -> u64 {
    match device {
        DeviceKind::Cpu => CPU_WORK_LIMIT,
        DeviceKind::Cuda => GPU_WORK_LIMIT,
    }
}

/// Refuses `work` over the budget of `device` (naming `field`, the knob the client set),
/// saying what was asked and what is allowed.
pub fn admit(work: Work, device: DeviceKind, field: &str) -> ServiceResult<()> {
    let (asked, limit) = (work.pixel_steps(), limit_for(device));
    if asked <= limit {
        return Ok(());
    }
    Err(ServiceError::new(
        ErrorKind::Unprocessable,
        format!(
            "too much work for one request on this server's {device}: {}x{} pixels x {} steps x \
             {} image(s) = {:.0} megapixel-steps, the limit is {:.0}; ask for fewer steps, a \
             smaller size or fewer images",
            work.width,
            work.height,
            work.steps,
            work.images,
            asked as f64 / 1e6,
            limit as f64 / 1e6,
        ),
    )
    .field(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(side: u64, steps: u64, images: u64) -> Work {
        Work {
            width: side,
            height: side,
            steps,
            images,
        }
    }

    #[test]
    fn the_cpu_budget_allows_a_round_and_refuses_hours() {
        assert!(admit(work(512, 50, 4), DeviceKind::Cpu, "steps").is_ok());
        assert!(admit(work(1024, 50, 1), DeviceKind::Cpu, "steps").is_ok());
        let refused = admit(work(2048, 100, 1), DeviceKind::Cpu, "steps").unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Unprocessable);
        assert_eq!(refused.field.as_deref(), Some("steps"));
        assert!(refused.message.contains("2048x2048"), "{}", refused.message);
        assert!(admit(work(2048, 100, 1), DeviceKind::Cuda, "steps").is_ok());
        assert!(admit(work(u64::MAX, u64::MAX, 9), DeviceKind::Cuda, "steps").is_err());
    }
}
