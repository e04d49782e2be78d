//! `scheduler_config.json` read as diffusers' `from_config` reads it: keys the source config
//! recorded as defaulted (`_use_default_values`) are dropped, keys the target class does not
//! know are ignored, and missing keys take the *target class's* default (SD 1.5's config has
//! no `timestep_spacing`: PNDM then uses "leading" but Euler "linspace").

use std::path::Path;

use serde_json::{Map, Value};

/// Why a scheduler cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchedulerError {
    /// A scheduler name that is not one of ours.
    #[error("unknown scheduler `{0}`: expected one of ddim, pndm, euler, euler-a, dpmpp-2m, dpmpp-2m-karras, lms")]
    UnknownKind(String),
    /// The config file is unreadable.
    #[error("{0}")]
    Unreadable(String),
    /// A key has a value we cannot use.
    #[error("scheduler config key `{key}` = {value}: {reason}")]
    Unsupported {
        /// The key.
        key: String,
        /// Its value.
        value: String,
        /// Why, or what is supported.
        reason: String,
    },
    /// The step count is out of range.
    #[error("num_inference_steps = {steps}: must be between 1 and num_train_timesteps ({train})")]
    Steps {
        /// Requested.
        steps: usize,
        /// Training timesteps.
        train: usize,
    },
    /// A step index outside the schedule.
    #[error("step index {index} is outside the schedule of {len} timesteps")]
    StepIndex {
        /// Requested.
        index: usize,
        /// Timesteps.
        len: usize,
    },
}

/// What the model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredictionType {
    /// The noise.
    Epsilon,
    /// The velocity `alpha * noise - sigma * x0` (SD 2.x 768).
    VPrediction,
    /// The clean sample.
    Sample,
}

/// How inference timesteps are spread over the training range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestepSpacing {
    /// Evenly from 0 to N−1, endpoints included.
    Linspace,
    /// Multiples of N / n from 0, plus `steps_offset`.
    Leading,
    /// Multiples of N / n down from N, minus 1.
    Trailing,
}

/// A scheduler config as read from disk.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    raw: Map<String, Value>,
}

/// The config as seen by one class (defaults applied on access).
#[derive(Debug, Clone)]
pub struct ClassConfig {
    raw: Map<String, Value>,
    class: &'static str,
}

impl SchedulerConfig {
    /// Parses JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, SchedulerError> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(mut raw)) => {
                // diffusers drops keys the saving class only had by default.
                if let Some(Value::Array(defaulted)) = raw.remove("_use_default_values") {
                    for key in defaulted.iter().filter_map(Value::as_str) {
                        raw.remove(key);
                    }
                }
                raw.retain(|_, v| !v.is_null());
                Ok(Self { raw })
            }
            Ok(_) => Err(SchedulerError::Unreadable(
                "scheduler config is not a JSON object".into(),
            )),
            Err(e) => Err(SchedulerError::Unreadable(format!(
                "scheduler config is not valid JSON: {e}"
            ))),
        }
    }

    /// Reads a `scheduler_config.json`.
    pub fn from_file(path: &Path) -> Result<Self, SchedulerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SchedulerError::Unreadable(format!("{}: {e}", path.display())))?;
        Self::from_json_str(&text)
            .map_err(|e| SchedulerError::Unreadable(format!("{}: {e}", path.display())))
    }

    /// Sets a key (like `from_config(config, key=value)`).
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.raw.insert(key.to_string(), value);
        self
    }

    /// The view of `class` (a diffusers class name).
    pub fn for_class(&self, class: &'static str) -> ClassConfig {
        ClassConfig {
            raw: self.raw.clone(),
            class,
        }
    }
}

fn unsupported(key: &str, value: &Value, reason: impl Into<String>) -> SchedulerError {
    SchedulerError::Unsupported {
        key: key.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

impl ClassConfig {
    fn value(&self, key: &str) -> Option<&Value> {
        self.raw.get(key)
    }

    /// A float key with a default.
    pub fn f64(&self, key: &str, default: f64) -> Result<f64, SchedulerError> {
        match self.value(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| unsupported(key, v, "expected a number")),
        }
    }

    /// An integer key with a default.
    pub fn usize(&self, key: &str, default: usize) -> Result<usize, SchedulerError> {
        match self.value(key) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| unsupported(key, v, "expected a non-negative integer")),
        }
    }

    /// A boolean key with a default.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, SchedulerError> {
        match self.value(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| unsupported(key, v, "expected true or false")),
        }
    }

    /// A string key with a default.
    pub fn str(&self, key: &str, default: &str) -> Result<String, SchedulerError> {
        match self.value(key) {
            None => Ok(default.to_string()),
            Some(v) => v
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| unsupported(key, v, "expected a string")),
        }
    }

    /// Rejects a value other than the one we implement.
    pub fn require(
        &self,
        key: &str,
        default: Value,
        allowed: &[Value],
        reason: &str,
    ) -> Result<(), SchedulerError> {
        let v = self.value(key).cloned().unwrap_or(default);
        if allowed.contains(&v) {
            Ok(())
        } else {
            Err(unsupported(key, &v, reason))
        }
    }

    /// `num_train_timesteps` (1000 everywhere).
    pub fn train_steps(&self) -> Result<usize, SchedulerError> {
        let n = self.usize("num_train_timesteps", 1000)?;
        if !(2..=100_000).contains(&n) {
            return Err(unsupported(
                "num_train_timesteps",
                &Value::from(n),
                "must be between 2 and 100000",
            ));
        }
        Ok(n)
    }

    /// Errors unless 1 ≤ steps ≤ num_train_timesteps.
    pub fn check_steps(&self, steps: usize) -> Result<(), SchedulerError> {
        let train = self.train_steps()?;
        if steps == 0 || steps > train {
            return Err(SchedulerError::Steps { steps, train });
        }
        Ok(())
    }

    /// `prediction_type` (default epsilon).
    pub fn prediction_type(&self) -> Result<PredictionType, SchedulerError> {
        let v = self.str("prediction_type", "epsilon")?;
        match v.as_str() {
            "epsilon" => Ok(PredictionType::Epsilon),
            "v_prediction" => Ok(PredictionType::VPrediction),
            "sample" => Ok(PredictionType::Sample),
            _ => Err(unsupported(
                "prediction_type",
                &Value::from(v),
                "expected epsilon, v_prediction or sample",
            )),
        }
    }

    /// `timestep_spacing` with this class's default.
    pub fn spacing(&self) -> Result<TimestepSpacing, SchedulerError> {
        let default = match self.class {
            "DDIMScheduler" | "PNDMScheduler" => "leading",
            _ => "linspace",
        };
        let v = self.str("timestep_spacing", default)?;
        match v.as_str() {
            "linspace" => Ok(TimestepSpacing::Linspace),
            "leading" => Ok(TimestepSpacing::Leading),
            "trailing" => Ok(TimestepSpacing::Trailing),
            _ => Err(unsupported(
                "timestep_spacing",
                &Value::from(v),
                "expected linspace, leading or trailing",
            )),
        }
    }

    /// `alphas_cumprod` from the beta schedule, in f32 as torch computes it.
    pub fn alphas_cumprod(&self) -> Result<Vec<f32>, SchedulerError> {
        let n = self.train_steps()?;
        let start = self.f64("beta_start", 0.0001)?;
        let end = self.f64("beta_end", 0.02)?;
        let betas: Vec<f32> = if let Some(trained) = self.value("trained_betas") {
            let list = trained.as_array().filter(|a| a.len() == n).ok_or_else(|| {
                unsupported(
                    "trained_betas",
                    trained,
                    "expected a list with num_train_timesteps numbers",
                )
            })?;
            list.iter()
                .map(|v| {
                    v.as_f64()
                        .map(|b| b as f32)
                        .ok_or_else(|| unsupported("trained_betas", v, "not a number"))
                })
                .collect::<Result<_, _>>()?
        } else {
            let schedule = self.str("beta_schedule", "linear")?;
            match schedule.as_str() {
                "linear" => linspace_f32(start, end, n),
                "scaled_linear" => linspace_f32(start.sqrt(), end.sqrt(), n)
                    .into_iter()
                    .map(|b| b * b)
                    .collect(),
                "squaredcos_cap_v2" => cosine_betas(n),
                _ => {
                    return Err(unsupported(
                        "beta_schedule",
                        &Value::from(schedule),
                        "expected linear, scaled_linear or squaredcos_cap_v2",
                    ))
                }
            }
        };
        if betas.iter().any(|b| !(0.0..1.0).contains(b)) {
            return Err(unsupported(
                "beta_start",
                &Value::from(start),
                "betas must lie in [0, 1)",
            ));
        }
        let mut acc = 1f32;
        let mut cumprod: Vec<f32> = betas
            .iter()
            .map(|b| {
                acc *= 1.0 - b;
                acc
            })
            .collect();
        if self.bool("rescale_betas_zero_snr", false)? {
            cumprod = rescale_zero_terminal_snr(&cumprod);
        }
        Ok(cumprod)
    }
}

/// `torch.linspace(start, end, n, dtype=float32)`.
fn linspace_f32(start: f64, end: f64, n: usize) -> Vec<f32> {
    if n == 1 {
        return vec![start as f32];
    }
    let step = (end - start) / (n - 1) as f64;
    (0..n)
        .map(|i| {
            // torch fills the second half from the end for symmetry.
            if i < n / 2 {
                (start + step * i as f64) as f32
            } else {
                (end - step * (n - 1 - i) as f64) as f32
            }
        })
        .collect()
}

/// `betas_for_alpha_bar` with the cosine schedule (`squaredcos_cap_v2`).
fn cosine_betas(n: usize) -> Vec<f32> {
    let alpha_bar = |t: f64| {
        ((t + 0.008) / 1.008 * std::f64::consts::PI / 2.0)
            .cos()
            .powi(2)
    };
    (0..n)
        .map(|i| {
            let t1 = i as f64 / n as f64;
            let t2 = (i + 1) as f64 / n as f64;
            (1.0 - alpha_bar(t2) / alpha_bar(t1)).min(0.999) as f32
        })
        .collect()
}

/// `rescale_zero_terminal_snr` (Lin et al. 2023), applied to `alphas_cumprod`.
fn rescale_zero_terminal_snr(cumprod: &[f32]) -> Vec<f32> {
    let sqrt: Vec<f64> = cumprod.iter().map(|&a| f64::from(a).sqrt()).collect();
    let first = sqrt[0];
    let last = sqrt[sqrt.len() - 1];
    let scaled: Vec<f64> = sqrt
        .iter()
        .map(|s| (s - last) * first / (first - last))
        .collect();
    let mut out: Vec<f32> = scaled.iter().map(|s| (s * s) as f32).collect();
    // diffusers replaces an exact zero to keep sigmas finite.
    if let Some(l) = out.last_mut() {
        *l = (*l).max(2f32.powi(-24));
    }
    out
}
