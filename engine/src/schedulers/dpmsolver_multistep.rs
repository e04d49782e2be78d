//! `DPMSolverMultistepScheduler` as DPM-Solver++ (Lu et al. 2022): data-prediction updates of
//! order 1 and 2 (midpoint or Heun), lower order at the end, optionally on Karras sigmas.

use serde_json::Value;

use super::config::{ClassConfig, PredictionType, SchedulerError, TimestepSpacing};
use super::sigmas::{interp, karras, linspace, round, sigma_to_t, trailing, train_sigmas};
use super::{NoiseSource, Scheduler};

/// DPM-Solver++ multistep.
pub struct DpmSolverMultistepScheduler {
    timesteps: Vec<f64>,
    sigmas: Vec<f32>,
    prediction: PredictionType,
    order: usize,
    heun: bool,
    model_outputs: Vec<Vec<f32>>,
    lower_order_nums: usize,
}

/// `_sigma_to_alpha_sigma_t`.
fn alpha_sigma(sigma: f32) -> (f32, f32) {
    let alpha = 1.0 / (sigma * sigma + 1.0).sqrt();
    (alpha, sigma * alpha)
}

fn lambda(sigma: f32) -> f32 {
    let (a, s) = alpha_sigma(sigma);
    a.ln() - s.ln()
}

impl DpmSolverMultistepScheduler {
    /// Sets the scheduler up for `n` steps; `karras` overrides `use_karras_sigmas`.
    pub fn new(
        c: &ClassConfig,
        n: usize,
        karras_override: Option<bool>,
    ) -> Result<Self, SchedulerError> {
        c.require(
            "algorithm_type",
            Value::from("dpmsolver++"),
            &[Value::from("dpmsolver++")],
            "only dpmsolver++ is supported",
        )?;
        c.require(
            "thresholding",
            Value::Bool(false),
            &[Value::Bool(false)],
            "dynamic thresholding is not supported",
        )?;
        c.require(
            "final_sigmas_type",
            Value::from("zero"),
            &[Value::from("zero")],
            "only a final sigma of zero is supported",
        )?;
        c.require(
            "variance_type",
            Value::Null,
            &[Value::Null],
            "learned variance is not supported",
        )?;
        for key in [
            "use_exponential_sigmas",
            "use_beta_sigmas",
            "use_lu_lambdas",
            "use_flow_sigmas",
            "use_dynamic_shifting",
        ] {
            c.require(
                key,
                Value::Bool(false),
                &[Value::Bool(false)],
                "not supported",
            )?;
        }
        let order = c.usize("solver_order", 2)?;
        if !(1..=2).contains(&order) {
            return Err(SchedulerError::Unsupported {
                key: "solver_order".into(),
                value: order.to_string(),
                reason: "orders 1 and 2 are supported".into(),
            });
        }
        let solver_type = c.str("solver_type", "midpoint")?;
        let heun = match solver_type.as_str() {
            "midpoint" => false,
            "heun" => true,
            other => {
                return Err(SchedulerError::Unsupported {
                    key: "solver_type".into(),
                    value: other.into(),
                    reason: "expected midpoint or heun".into(),
                })
            }
        };
        let train = c.train_steps()?;
        let table = train_sigmas(&c.alphas_cumprod()?);
        let last = train as f64; // lambda_min_clipped = -inf clips nothing
        let offset = c.usize("steps_offset", 0)? as f64;
        let mut timesteps: Vec<f64> = match c.spacing()? {
            TimestepSpacing::Linspace => {
                let v = linspace(0.0, last - 1.0, n + 1);
                v.into_iter().map(round).rev().take(n).collect()
            }
            TimestepSpacing::Leading => {
                let ratio = (last as usize / (n + 1)) as f64;
                (0..=n)
                    .rev()
                    .take(n)
                    .map(|i| i as f64 * ratio + offset)
                    .collect()
            }
            TimestepSpacing::Trailing => trailing(last, train as f64 / n as f64),
        };
        let karras_on = karras_override.unwrap_or(c.bool("use_karras_sigmas", false)?);
        let sigmas: Vec<f64> = if karras_on {
            let log_sigmas: Vec<f64> = table.iter().map(|&s| f64::from(s.ln())).collect();
            let s = karras(f64::from(table[0]), f64::from(table[table.len() - 1]), n);
            timesteps = s
                .iter()
                .map(|&x| round(sigma_to_t(x, &log_sigmas)))
                .collect();
            s
        } else {
            timesteps.iter().map(|&t| interp(t, &table)).collect()
        };
        let mut sigmas: Vec<f32> = sigmas.into_iter().map(|s| s as f32).collect();
        sigmas.push(0.0);
        Ok(Self {
            timesteps,
            sigmas,
            prediction: c.prediction_type()?,
            order,
            heun,
            model_outputs: Vec::new(),
            lower_order_nums: 0,
        })
    }

    /// The data prediction x0 from the model output at `sigma`.
    fn convert(&self, model_output: &[f32], sample: &[f32], sigma: f32) -> Vec<f32> {
        let (alpha_t, sigma_t) = alpha_sigma(sigma);
        model_output
            .iter()
            .zip(sample)
            .map(|(&m, &x)| match self.prediction {
                PredictionType::Epsilon => (x - sigma_t * m) / alpha_t,
                PredictionType::Sample => m,
                PredictionType::VPrediction => alpha_t * x - sigma_t * m,
            })
            .collect()
    }
}

impl Scheduler for DpmSolverMultistepScheduler {
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
        i: usize,
        sample: &[f32],
        _noise: &mut dyn NoiseSource,
    ) -> Result<Vec<f32>, SchedulerError> {
        let len = self.timesteps.len();
        if i >= len {
            return Err(SchedulerError::StepIndex { index: i, len });
        }
        // With a final sigma of zero diffusers always takes a first-order last step; with
        // order <= 2 every other step after the first is second order.
        let lower_final = i == len - 1;
        let x0 = self.convert(model_output, sample, self.sigmas[i]);
        self.model_outputs.push(x0);
        if self.model_outputs.len() > self.order {
            self.model_outputs.remove(0);
        }
        let (alpha_t, sigma_t) = alpha_sigma(self.sigmas[i + 1]);
        let (_, sigma_s0) = alpha_sigma(self.sigmas[i]);
        let lambda_t = lambda(self.sigmas[i + 1]);
        let lambda_s0 = lambda(self.sigmas[i]);
        let h = lambda_t - lambda_s0;
        let ratio = sigma_t / sigma_s0;
        let e = alpha_t * ((-h).exp() - 1.0);
        let first_order = self.order == 1 || self.lower_order_nums < 1 || lower_final;
        let out = if first_order {
            let m0 = &self.model_outputs[self.model_outputs.len() - 1];
            sample
                .iter()
                .zip(m0)
                .map(|(&x, &d0)| ratio * x - e * d0)
                .collect()
        } else {
            let n = self.model_outputs.len();
            let (m0, m1) = (&self.model_outputs[n - 1], &self.model_outputs[n - 2]);
            let lambda_s1 = lambda(self.sigmas[i - 1]);
            let h0 = lambda_s0 - lambda_s1;
            let r0 = h0 / h;
            let heun_coeff = alpha_t * (((-h).exp() - 1.0) / h + 1.0);
            sample
                .iter()
                .zip(m0.iter().zip(m1))
                .map(|(&x, (&d0, &m1))| {
                    let d1 = (1.0 / r0) * (d0 - m1);
                    if self.heun {
                        ratio * x - e * d0 + heun_coeff * d1
                    } else {
                        ratio * x - e * d0 - 0.5 * e * d1
                    }
                })
                .collect()
        };
        if self.lower_order_nums < self.order {
            self.lower_order_nums += 1;
        }
        Ok(out)
    }

    fn add_noise(&self, original: &[f32], noise: &[f32], step_index: usize) -> Vec<f32> {
        let (alpha_t, sigma_t) = alpha_sigma(self.sigmas[step_index.min(self.sigmas.len() - 1)]);
        original
            .iter()
            .zip(noise)
            .map(|(&o, &n)| alpha_t * o + sigma_t * n)
            .collect()
    }
}
