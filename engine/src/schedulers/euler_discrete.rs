//! `EulerDiscreteScheduler` (Karras et al. 2022, Algorithm 2 without churn): first-order steps
//! in sigma space, optionally on Karras sigmas.

use serde_json::Value;

use super::config::{ClassConfig, PredictionType, SchedulerError};
use super::sigmas::{float_timesteps, init_noise_sigma, interp, karras, sigma_to_t, train_sigmas};
use super::{NoiseSource, Scheduler};

/// The schedule shared by Euler, Euler ancestral and LMS: timesteps, sigmas (with the final
/// zero) and the starting noise level.
pub struct SigmaSchedule {
    /// Timesteps given to the UNet.
    pub timesteps: Vec<f64>,
    /// One more sigma than timesteps; the last is 0.
    pub sigmas: Vec<f32>,
    /// `init_noise_sigma`.
    pub init_noise_sigma: f64,
    /// What the UNet predicts.
    pub prediction: PredictionType,
}

impl SigmaSchedule {
    /// Builds the schedule like `set_timesteps` of these classes; `karras_allowed` is false
    /// for classes without `use_karras_sigmas`.
    pub fn new(c: &ClassConfig, n: usize, karras_allowed: bool) -> Result<Self, SchedulerError> {
        c.require(
            "interpolation_type",
            Value::from("linear"),
            &[Value::from("linear")],
            "only linear interpolation is supported",
        )?;
        for key in ["use_exponential_sigmas", "use_beta_sigmas"] {
            c.require(
                key,
                Value::Bool(false),
                &[Value::Bool(false)],
                "not supported",
            )?;
        }
        c.require(
            "timestep_type",
            Value::from("discrete"),
            &[Value::from("discrete")],
            "only discrete timesteps are supported",
        )?;
        c.require(
            "final_sigmas_type",
            Value::from("zero"),
            &[Value::from("zero")],
            "only a final sigma of zero is supported",
        )?;
        let train = c.train_steps()?;
        let spacing = c.spacing()?;
        let table = train_sigmas(&c.alphas_cumprod()?);
        let mut timesteps = float_timesteps(spacing, train, n, c.usize("steps_offset", 0)?);
        let mut sigmas: Vec<f64> = timesteps.iter().map(|&t| interp(t, &table)).collect();
        if karras_allowed && c.bool("use_karras_sigmas", false)? {
            let log_sigmas: Vec<f64> = table.iter().map(|&s| f64::from(s.ln())).collect();
            sigmas = karras(sigmas[sigmas.len() - 1], sigmas[0], n);
            timesteps = sigmas.iter().map(|&s| sigma_to_t(s, &log_sigmas)).collect();
        }
        let mut sigmas: Vec<f32> = sigmas.into_iter().map(|s| s as f32).collect();
        sigmas.push(0.0);
        Ok(Self {
            timesteps: timesteps.into_iter().map(|t| f64::from(t as f32)).collect(),
            init_noise_sigma: init_noise_sigma(&sigmas, spacing),
            sigmas,
            prediction: c.prediction_type()?,
        })
    }

    /// `sample / sqrt(sigma² + 1)`.
    pub fn scale(&self, sample: &[f32], step_index: usize) -> Vec<f32> {
        let sigma = self.sigmas[step_index.min(self.sigmas.len() - 1)];
        let d = (sigma * sigma + 1.0).sqrt();
        sample.iter().map(|x| x / d).collect()
    }

    /// The denoised estimate at `sigma`.
    pub fn pred_original(&self, m: f32, x: f32, sigma: f32) -> f32 {
        match self.prediction {
            PredictionType::Epsilon => x - sigma * m,
            PredictionType::VPrediction => {
                m * (-sigma / (sigma * sigma + 1.0).sqrt()) + x / (sigma * sigma + 1.0)
            }
            PredictionType::Sample => m,
        }
    }

    /// `original + noise * sigma`.
    pub fn add_noise(&self, original: &[f32], noise: &[f32], step_index: usize) -> Vec<f32> {
        let sigma = self.sigmas[step_index.min(self.sigmas.len() - 1)];
        original
            .iter()
            .zip(noise)
            .map(|(&o, &n)| o + n * sigma)
            .collect()
    }

    /// Checks a step index.
    pub fn check(&self, step_index: usize) -> Result<(), SchedulerError> {
        if step_index < self.timesteps.len() {
            Ok(())
        } else {
            Err(SchedulerError::StepIndex {
                index: step_index,
                len: self.timesteps.len(),
            })
        }
    }
}

/// Euler.
pub struct EulerDiscreteScheduler {
    schedule: SigmaSchedule,
}

impl EulerDiscreteScheduler {
    /// Sets the scheduler up for `n` steps.
    pub fn new(c: &ClassConfig, n: usize) -> Result<Self, SchedulerError> {
        Ok(Self {
            schedule: SigmaSchedule::new(c, n, true)?,
        })
    }
}

impl Scheduler for EulerDiscreteScheduler {
    fn timesteps(&self) -> &[f64] {
        &self.schedule.timesteps
    }

    fn init_noise_sigma(&self) -> f64 {
        self.schedule.init_noise_sigma
    }

    fn scale_model_input(&self, sample: &[f32], step_index: usize) -> Vec<f32> {
        self.schedule.scale(sample, step_index)
    }

    fn step(
        &mut self,
        model_output: &[f32],
        step_index: usize,
        sample: &[f32],
        _noise: &mut dyn NoiseSource,
    ) -> Result<Vec<f32>, SchedulerError> {
        self.schedule.check(step_index)?;
        let s = &self.schedule;
        let sigma = s.sigmas[step_index];
        let dt = s.sigmas[step_index + 1] - sigma;
        Ok(model_output
            .iter()
            .zip(sample)
            .map(|(&m, &x)| {
                let x0 = s.pred_original(m, x, sigma);
                let derivative = (x - x0) / sigma;
                x + derivative * dt
            })
            .collect())
    }

    fn add_noise(&self, original: &[f32], noise: &[f32], step_index: usize) -> Vec<f32> {
        self.schedule.add_noise(original, noise, step_index)
    }
}
