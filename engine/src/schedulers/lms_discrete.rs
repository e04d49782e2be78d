//! `LMSDiscreteScheduler`: linear multistep over the last (up to) four derivatives, with
//! coefficients integrated exactly (they are polynomials of degree < 4, so 4-point
//! Gauss–Legendre is exact where diffusers calls scipy's `quad`).

use super::config::{ClassConfig, SchedulerError};
use super::euler_discrete::SigmaSchedule;
use super::{NoiseSource, Scheduler};

/// LMS.
pub struct LmsDiscreteScheduler {
    schedule: SigmaSchedule,
    derivatives: Vec<Vec<f32>>,
}

const ORDER: usize = 4;

impl LmsDiscreteScheduler {
    /// Sets the scheduler up for `n` steps.
    pub fn new(c: &ClassConfig, n: usize) -> Result<Self, SchedulerError> {
        Ok(Self {
            schedule: SigmaSchedule::new(c, n, true)?,
            derivatives: Vec::new(),
        })
    }

    /// ∫ over [σ_t, σ_{t+1}] of the Lagrange basis polynomial `current` of the last `order`
    /// sigmas.
    fn coefficient(&self, order: usize, t: usize, current: usize) -> f64 {
        let sig = |i: usize| f64::from(self.schedule.sigmas[i]);
        let basis = |tau: f64| {
            (0..order)
                .filter(|&k| k != current)
                .map(|k| (tau - sig(t - k)) / (sig(t - current) - sig(t - k)))
                .product::<f64>()
        };
        let (a, b) = (sig(t), sig(t + 1));
        let nodes = [
            (-0.861_136_311_594_052_6, 0.347_854_845_137_453_9),
            (-0.339_981_043_584_856_3, 0.652_145_154_862_546_1),
            (0.339_981_043_584_856_3, 0.652_145_154_862_546_1),
            (0.861_136_311_594_052_6, 0.347_854_845_137_453_9),
        ];
        let half = (b - a) / 2.0;
        let mid = (a + b) / 2.0;
        nodes
            .iter()
            .map(|(x, w)| w * basis(mid + half * x))
            .sum::<f64>()
            * half
    }
}

impl Scheduler for LmsDiscreteScheduler {
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
        let sigma = self.schedule.sigmas[step_index];
        let derivative: Vec<f32> = model_output
            .iter()
            .zip(sample)
            .map(|(&m, &x)| (x - self.schedule.pred_original(m, x, sigma)) / sigma)
            .collect();
        self.derivatives.push(derivative);
        if self.derivatives.len() > ORDER {
            self.derivatives.remove(0);
        }
        let order = (step_index + 1).min(ORDER).min(self.derivatives.len());
        let coeffs: Vec<f32> = (0..order)
            .map(|k| self.coefficient(order, step_index, k) as f32)
            .collect();
        let mut out = sample.to_vec();
        for (coeff, d) in coeffs.iter().zip(self.derivatives.iter().rev()) {
            for (o, v) in out.iter_mut().zip(d) {
                *o += coeff * v;
            }
        }
        Ok(out)
    }

    fn add_noise(&self, original: &[f32], noise: &[f32], step_index: usize) -> Vec<f32> {
        self.schedule.add_noise(original, noise, step_index)
    }
}
