//! `PNDMScheduler` in its PLMS form (`skip_prk_steps = true`, what every SD checkpoint ships):
//! linear multistep on the noise predictions, with diffusers' repeated second timestep.

use super::config::{ClassConfig, PredictionType, SchedulerError, TimestepSpacing};
use super::sigmas::{integer_timesteps, linspace, round, trailing};
use super::{NoiseSource, Scheduler};

/// PNDM / PLMS.
pub struct PndmScheduler {
    timesteps: Vec<f64>,
    alphas_cumprod: Vec<f32>,
    final_alpha_cumprod: f32,
    step_ratio: i64,
    prediction: PredictionType,
    ets: Vec<Vec<f32>>,
    counter: usize,
    cur_sample: Option<Vec<f32>>,
}

impl PndmScheduler {
    /// Sets the scheduler up for `n` steps.
    pub fn new(c: &ClassConfig, n: usize) -> Result<Self, SchedulerError> {
        if !c.bool("skip_prk_steps", false)? {
            return Err(SchedulerError::Unsupported {
                key: "skip_prk_steps".into(),
                value: "false".into(),
                reason: "the Runge–Kutta warm-up is not implemented; every SD checkpoint sets it to true".into(),
            });
        }
        let prediction = c.prediction_type()?;
        if prediction == PredictionType::Sample {
            return Err(SchedulerError::Unsupported {
                key: "prediction_type".into(),
                value: "\"sample\"".into(),
                reason: "PNDM supports epsilon and v_prediction".into(),
            });
        }
        let train = c.train_steps()?;
        let alphas_cumprod = c.alphas_cumprod()?;
        let final_alpha_cumprod = if c.bool("set_alpha_to_one", false)? {
            1.0
        } else {
            alphas_cumprod[0]
        };
        let offset = c.usize("steps_offset", 0)?;
        // Ascending `_timesteps` as diffusers builds them.
        let base: Vec<f64> = match c.spacing()? {
            TimestepSpacing::Linspace => linspace(0.0, (train - 1) as f64, n)
                .into_iter()
                .map(round)
                .collect(),
            TimestepSpacing::Leading => {
                integer_timesteps(TimestepSpacing::Leading, train, n, offset)
                    .into_iter()
                    .rev()
                    .collect()
            }
            TimestepSpacing::Trailing => trailing(train as f64, train as f64 / n as f64)
                .into_iter()
                .rev()
                .collect(),
        };
        // plms: _timesteps[:-1], _timesteps[-2:-1], _timesteps[-1:], reversed.
        let mut plms: Vec<f64> = base[..base.len() - 1].to_vec();
        if base.len() >= 2 {
            plms.push(base[base.len() - 2]);
        }
        plms.push(base[base.len() - 1]);
        plms.reverse();
        Ok(Self {
            timesteps: plms,
            alphas_cumprod,
            final_alpha_cumprod,
            step_ratio: (train / n) as i64,
            prediction,
            ets: Vec::new(),
            counter: 0,
            cur_sample: None,
        })
    }

    fn alpha(&self, t: i64) -> f32 {
        if t >= 0 {
            self.alphas_cumprod[t as usize]
        } else {
            self.final_alpha_cumprod
        }
    }

    fn prev_sample(&self, sample: &[f32], t: i64, prev: i64, model_output: &[f32]) -> Vec<f32> {
        let a_t = self.alpha(t);
        let a_prev = self.alpha(prev);
        let b_t = 1.0 - a_t;
        let b_prev = 1.0 - a_prev;
        let sample_coeff = (a_prev / a_t).sqrt();
        let denom = a_t * b_prev.sqrt() + (a_t * b_t * a_prev).sqrt();
        let (sa, sb) = (a_t.sqrt(), b_t.sqrt());
        sample
            .iter()
            .zip(model_output)
            .map(|(&x, &m)| {
                let m = match self.prediction {
                    PredictionType::VPrediction => sa * m + sb * x,
                    _ => m,
                };
                sample_coeff * x - (a_prev - a_t) * m / denom
            })
            .collect()
    }
}

fn combine(terms: &[(f32, &Vec<f32>)], scale: f32) -> Vec<f32> {
    let len = terms[0].1.len();
    (0..len)
        .map(|i| terms.iter().map(|(c, v)| c * v[i]).sum::<f32>() * scale)
        .collect()
}

impl Scheduler for PndmScheduler {
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
        let mut t = *self
            .timesteps
            .get(step_index)
            .ok_or(SchedulerError::StepIndex {
                index: step_index,
                len: self.timesteps.len(),
            })? as i64;
        let mut prev = t - self.step_ratio;
        if self.counter != 1 {
            let keep = self.ets.len().saturating_sub(3);
            self.ets.drain(..keep);
            self.ets.push(model_output.to_vec());
        } else {
            prev = t;
            t += self.step_ratio;
        }
        let mut sample = sample.to_vec();
        let e = &self.ets;
        let n = e.len();
        let output = if n == 1 && self.counter == 0 {
            self.cur_sample = Some(sample.clone());
            model_output.to_vec()
        } else if n == 1 && self.counter == 1 {
            let m = model_output.to_vec();
            let avg = combine(&[(1.0, &m), (1.0, &e[0])], 0.5);
            if let Some(cur) = self.cur_sample.take() {
                sample = cur;
            }
            avg
        } else if n == 2 {
            combine(&[(3.0, &e[1]), (-1.0, &e[0])], 0.5)
        } else if n == 3 {
            combine(&[(23.0, &e[2]), (-16.0, &e[1]), (5.0, &e[0])], 1.0 / 12.0)
        } else {
            combine(
                &[
                    (55.0, &e[n - 1]),
                    (-59.0, &e[n - 2]),
                    (37.0, &e[n - 3]),
                    (-9.0, &e[n - 4]),
                ],
                1.0 / 24.0,
            )
        };
        let out = self.prev_sample(&sample, t, prev, &output);
        self.counter += 1;
        Ok(out)
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
