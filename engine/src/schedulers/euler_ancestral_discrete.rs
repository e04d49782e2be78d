//! `EulerAncestralDiscreteScheduler`: an Euler step to a lower sigma plus fresh noise, so each
//! step draws from the candidate's noise stream.

use super::config::{ClassConfig, SchedulerError};
use super::euler_discrete::SigmaSchedule;
use super::{NoiseSource, Scheduler};

/// Euler ancestral ("Euler a").
pub struct EulerAncestralDiscreteScheduler {
    schedule: SigmaSchedule,
}

impl EulerAncestralDiscreteScheduler {
    /// Sets the scheduler up for `n` steps.
    pub fn new(c: &ClassConfig, n: usize) -> Result<Self, SchedulerError> {
        Ok(Self {
            schedule: SigmaSchedule::new(c, n, false)?,
        })
    }
}

impl Scheduler for EulerAncestralDiscreteScheduler {
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
        noise: &mut dyn NoiseSource,
    ) -> Result<Vec<f32>, SchedulerError> {
        self.schedule.check(step_index)?;
        let s = &self.schedule;
        let sigma_from = s.sigmas[step_index];
        let sigma_to = s.sigmas[step_index + 1];
        let sigma_up = (sigma_to * sigma_to * (sigma_from * sigma_from - sigma_to * sigma_to)
            / (sigma_from * sigma_from))
            .sqrt();
        let sigma_down = (sigma_to * sigma_to - sigma_up * sigma_up).sqrt();
        let dt = sigma_down - sigma_from;
        // diffusers draws the noise on every step, the last included.
        let fresh = noise.standard_normal(sample.len());
        Ok(model_output
            .iter()
            .zip(sample)
            .zip(fresh)
            .map(|((&m, &x), n)| {
                let x0 = s.pred_original(m, x, sigma_from);
                let derivative = (x - x0) / sigma_from;
                x + derivative * dt + n * sigma_up
            })
            .collect())
    }

    fn add_noise(&self, original: &[f32], noise: &[f32], step_index: usize) -> Vec<f32> {
        self.schedule.add_noise(original, noise, step_index)
    }
}
