//! Noise schedulers, each a port of the diffusers class of the same name, built from the
//! model's own `scheduler_config.json` the way `Scheduler.from_config` does. They work on flat
//! f32 latents on the CPU (batch-major NCHW): the math is a few multiply-adds per element,
//! and keeping it off the device makes every backend share one exact implementation.

mod config;
mod ddim;
mod dpmsolver_multistep;
mod euler_ancestral_discrete;
mod euler_discrete;
mod lms_discrete;
mod pndm;
mod sigmas;

use std::fmt;
use std::str::FromStr;

pub use config::{PredictionType, SchedulerConfig, SchedulerError, TimestepSpacing};

/// Which sampler the user asked for; the CLI and API names are in [`SchedulerKind::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchedulerKind {
    /// `DDIMScheduler` (`ddim`).
    Ddim,
    /// `PNDMScheduler` with PLMS steps (`pndm`).
    Pndm,
    /// `EulerDiscreteScheduler` (`euler`).
    Euler,
    /// `EulerAncestralDiscreteScheduler` (`euler-a`).
    #[serde(rename = "euler-a")]
    EulerAncestral,
    /// `DPMSolverMultistepScheduler`, DPM-Solver++ 2M (`dpmpp-2m`).
    #[serde(rename = "dpmpp-2m")]
    DpmSolverMultistep,
    /// The same with Karras sigmas (`dpmpp-2m-karras`).
    #[serde(rename = "dpmpp-2m-karras")]
    DpmSolverMultistepKarras,
    /// `LMSDiscreteScheduler` (`lms`).
    Lms,
}

impl SchedulerKind {
    /// Every kind, in display order.
    pub const ALL: [SchedulerKind; 7] = [
        Self::Ddim,
        Self::Pndm,
        Self::Euler,
        Self::EulerAncestral,
        Self::DpmSolverMultistep,
        Self::DpmSolverMultistepKarras,
        Self::Lms,
    ];

    /// The CLI / API name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ddim => "ddim",
            Self::Pndm => "pndm",
            Self::Euler => "euler",
            Self::EulerAncestral => "euler-a",
            Self::DpmSolverMultistep => "dpmpp-2m",
            Self::DpmSolverMultistepKarras => "dpmpp-2m-karras",
            Self::Lms => "lms",
        }
    }

    /// The diffusers class it ports.
    pub fn diffusers_class(self) -> &'static str {
        match self {
            Self::Ddim => "DDIMScheduler",
            Self::Pndm => "PNDMScheduler",
            Self::Euler => "EulerDiscreteScheduler",
            Self::EulerAncestral => "EulerAncestralDiscreteScheduler",
            Self::DpmSolverMultistep | Self::DpmSolverMultistepKarras => {
                "DPMSolverMultistepScheduler"
            }
            Self::Lms => "LMSDiscreteScheduler",
        }
    }
}

impl fmt::Display for SchedulerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SchedulerKind {
    type Err = SchedulerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL
            .into_iter()
            .find(|k| k.name() == wanted)
            .ok_or_else(|| SchedulerError::UnknownKind(s.to_string()))
    }
}

/// Source of the per-step noise of ancestral samplers.
pub trait NoiseSource {
    /// `len` standard-normal values (the size of the latents).
    fn standard_normal(&mut self, len: usize) -> Vec<f32>;
}

/// One scheduler, set up for a number of inference steps.
pub trait Scheduler: Send {
    /// The timesteps the UNet is evaluated at, in order (diffusers' `scheduler.timesteps`).
    fn timesteps(&self) -> &[f64];
    /// Standard deviation of the starting noise.
    fn init_noise_sigma(&self) -> f64;
    /// Scales the latents before the UNet sees them at `timesteps()[step_index]`.
    fn scale_model_input(&self, sample: &[f32], step_index: usize) -> Vec<f32>;
    /// One denoising step from `timesteps()[step_index]`. Steps must be taken in order; a
    /// fresh scheduler may start at any index (img2img).
    fn step(
        &mut self,
        model_output: &[f32],
        step_index: usize,
        sample: &[f32],
        noise: &mut dyn NoiseSource,
    ) -> Result<Vec<f32>, SchedulerError>;
    /// Noises clean latents to the level of `timesteps()[step_index]` (img2img).
    fn add_noise(&self, original: &[f32], noise: &[f32], step_index: usize) -> Vec<f32>;
}

/// Builds `kind` from the model's scheduler config for `num_inference_steps` steps.
pub fn build(
    kind: SchedulerKind,
    config: &SchedulerConfig,
    num_inference_steps: usize,
) -> Result<Box<dyn Scheduler>, SchedulerError> {
    let c = config.for_class(kind.diffusers_class());
    c.check_steps(num_inference_steps)?;
    Ok(match kind {
        SchedulerKind::Ddim => Box::new(ddim::DdimScheduler::new(&c, num_inference_steps)?),
        SchedulerKind::Pndm => Box::new(pndm::PndmScheduler::new(&c, num_inference_steps)?),
        SchedulerKind::Euler => Box::new(euler_discrete::EulerDiscreteScheduler::new(
            &c,
            num_inference_steps,
        )?),
        SchedulerKind::EulerAncestral => Box::new(
            euler_ancestral_discrete::EulerAncestralDiscreteScheduler::new(
                &c,
                num_inference_steps,
            )?,
        ),
        SchedulerKind::DpmSolverMultistep => Box::new(
            dpmsolver_multistep::DpmSolverMultistepScheduler::new(&c, num_inference_steps, None)?,
        ),
        SchedulerKind::DpmSolverMultistepKarras => {
            Box::new(dpmsolver_multistep::DpmSolverMultistepScheduler::new(
                &c,
                num_inference_steps,
                Some(true),
            )?)
        }
        SchedulerKind::Lms => Box::new(lms_discrete::LmsDiscreteScheduler::new(
            &c,
            num_inference_steps,
        )?),
    })
}
