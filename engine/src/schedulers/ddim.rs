//! `DDIMScheduler` (Song et al. 2020) with η = 0: deterministic steps between integer
//! timesteps.

use serde_json::Value;

use super::config::{ClassConfig, PredictionType, SchedulerError};
use super::sigmas::integer_timesteps;
use super::{NoiseSource, Scheduler};

/// DDIM.
pub struct DdimScheduler {
    timesteps: Vec<f64>,
    alphas_cumprod: Vec<f32>,
    final_alpha_cumprod: f32,
    step_ratio: usize,
    prediction: PredictionType,
    clip_sample: Option<f32>,
}

impl DdimScheduler {
    /// Sets the scheduler up for `n` steps.
    pub fn new(c: &ClassConfig, n: usize) -> Result<Self, SchedulerError> {
        c.require(
            "thresholding",
            Value::Bool(false),
            &[Value::Bool(false)],
            "dynamic thresholding is not supported",
        )?;
        let train = c.train_steps()?;
        let alphas_cumprod = c.alphas_cumprod()?;
        let final_alpha_cumprod = if c.bool("set_alpha_to_one", true)? {
            1.0
        } else {
            alphas_cumprod[0]
        };
        let timesteps = integer_timesteps(c.spacing()?, train, n, c.usize("steps_offset", 0)?);
        if timesteps.iter().any(|&t| t < 0.0 || t >= train as f64) {
            return Err(SchedulerError::Unsupported {
                key: "steps_offset".into(),
                value: c.usize("steps_offset", 0)?.to_string(),
                reason: "moves a timestep outside the training range".into(),
            });
        }
        let clip = c.bool("clip_sample", true)?;
        Ok(Self {
            timesteps,
            alphas_cumprod,
            final_alpha_cumprod,
            step_ratio: train / n,
            prediction: c.prediction_type()?,
            clip_sample: clip
                .then(|| c.f64("clip_sample_range", 1.0))
                .transpose()?
                .map(|r| r as f32),
        })
    }
}

impl Scheduler for DdimScheduler {
    fn timesteps(&self) -> &[f64] {
        &self.timesteps
    }

    fn init_noise_sigma(&self) -> f64 {
        1.0
    }

    fn scale_model_input(&self, sample: &[f32], _step_index: usize) -> Vec<f32> {
        sample.to_vec()
    }

    fn step(
        &mut self,
        model_output: &[f32],
        step_index: usize,
        sample: &[f32],
        _noise: &mut dyn NoiseSource,
    ) -> Result<Vec<f32>, SchedulerError> {
        let t = *self
            .timesteps
            .get(step_index)
            .ok_or(SchedulerError::StepIndex {
                index: step_index,
                len: self.timesteps.len(),
            })? as i64;
        let prev = t - self.step_ratio as i64;
        let a_t = self.alphas_cumprod[t as usize];
        let a_prev = if prev >= 0 {
            self.alphas_cumprod[prev as usize]
        } else {
            self.final_alpha_cumprod
        };
        let b_t = 1.0 - a_t;
        let (sa, sb) = (a_t.sqrt(), b_t.sqrt());
        let direction = (1.0 - a_prev).sqrt();
        let sa_prev = a_prev.sqrt();
        Ok(model_output
            .iter()
            .zip(sample)
            .map(|(&m, &x)| {
                let (mut x0, eps) = match self.prediction {
                    PredictionType::Epsilon => ((x - sb * m) / sa, m),
                    PredictionType::Sample => (m, (x - sa * m) / sb),
                    PredictionType::VPrediction => (sa * x - sb * m, sa * m + sb * x),
                };
                if let Some(r) = self.clip_sample {
                    x0 = x0.clamp(-r, r);
                }
                sa_prev * x0 + direction * eps
            })
            .collect())
    }

    fn add_noise(&self, original: &[f32], noise: &[f32], step_index: usize) -> Vec<f32> {
        let t = self.timesteps[step_index.min(self.timesteps.len() - 1)] as usize;
        let a = self.alphas_cumprod[t];
        let (s, s1) = (a.sqrt(), (1.0 - a).sqrt());
        original
            .iter()
            .zip(noise)
            .map(|(&o, &n)| s * o + s1 * n)
            .collect()
    }
}
