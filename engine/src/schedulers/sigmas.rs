//! Timestep spacing and the sigma tables the sigma-based schedulers share (numpy float64 math
//! in diffusers' `set_timesteps`, stored as float32 tensors afterwards).

use super::config::TimestepSpacing;

/// `np.round` (ties to even).
pub fn round(x: f64) -> f64 {
    x.round_ties_even()
}

/// `np.linspace(start, end, n)`.
pub fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![start],
        _ => {
            let step = (end - start) / (n - 1) as f64;
            let mut v: Vec<f64> = (0..n).map(|i| start + step * i as f64).collect();
            v[n - 1] = end;
            v
        }
    }
}

/// Integer timesteps (descending) of DDIM/PNDM-style spacing, before any class tweak.
pub fn integer_timesteps(
    spacing: TimestepSpacing,
    train: usize,
    n: usize,
    offset: usize,
) -> Vec<f64> {
    match spacing {
        TimestepSpacing::Linspace => linspace(0.0, (train - 1) as f64, n)
            .into_iter()
            .map(round)
            .rev()
            .collect(),
        TimestepSpacing::Leading => {
            let ratio = train / n;
            (0..n).rev().map(|i| (i * ratio + offset) as f64).collect()
        }
        TimestepSpacing::Trailing => trailing(train as f64, train as f64 / n as f64),
    }
}

/// `np.round(np.arange(last, 0, -ratio)) - 1`.
pub fn trailing(last: f64, ratio: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut i = 0usize;
    loop {
        let v = last - ratio * i as f64;
        if v <= 0.0 {
            break;
        }
        out.push(round(v) - 1.0);
        i += 1;
    }
    out
}

/// Float timesteps (descending) of the sigma schedulers (Euler, LMS): linspace stays
/// fractional, as `np.linspace(..., dtype=np.float32)` gives.
pub fn float_timesteps(
    spacing: TimestepSpacing,
    train: usize,
    n: usize,
    offset: usize,
) -> Vec<f64> {
    match spacing {
        TimestepSpacing::Linspace => linspace(0.0, (train - 1) as f64, n)
            .into_iter()
            .map(|t| f64::from(t as f32))
            .rev()
            .collect(),
        TimestepSpacing::Leading => {
            let ratio = train / n;
            (0..n)
                .rev()
                .map(|i| (i * ratio) as f64 + offset as f64)
                .collect()
        }
        TimestepSpacing::Trailing => trailing(train as f64, train as f64 / n as f64),
    }
}

/// `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5` in f32, as torch computes it.
pub fn train_sigmas(alphas_cumprod: &[f32]) -> Vec<f32> {
    alphas_cumprod
        .iter()
        .map(|&a| ((1.0 - a) / a).sqrt())
        .collect()
}

/// `np.interp(x, arange(len(table)), table)`.
pub fn interp(x: f64, table: &[f32]) -> f64 {
    let last = table.len() - 1;
    if x <= 0.0 {
        return f64::from(table[0]);
    }
    if x >= last as f64 {
        return f64::from(table[last]);
    }
    let j = x.floor() as usize;
    let (a, b) = (f64::from(table[j]), f64::from(table[j + 1]));
    let slope = b - a;
    slope * (x - j as f64) + a
}

/// Karras et al. (2022) sigmas between the ends of `sigmas` (descending), ρ = 7.
pub fn karras(sigma_min: f64, sigma_max: f64, n: usize) -> Vec<f64> {
    let rho = 7.0;
    let min_inv = sigma_min.powf(1.0 / rho);
    let max_inv = sigma_max.powf(1.0 / rho);
    linspace(0.0, 1.0, n)
        .into_iter()
        .map(|r| (max_inv + r * (min_inv - max_inv)).powf(rho))
        .collect()
}

/// diffusers' `_sigma_to_t`: the fractional training timestep of `sigma` by linear
/// interpolation in log-sigma.
pub fn sigma_to_t(sigma: f64, log_sigmas: &[f64]) -> f64 {
    let log_sigma = sigma.max(1e-10).ln();
    let last = log_sigmas.len() - 2;
    let low = log_sigmas
        .iter()
        .rposition(|&l| log_sigma - l >= 0.0)
        .unwrap_or(0)
        .min(last);
    let high = low + 1;
    let (lo, hi) = (log_sigmas[low], log_sigmas[high]);
    let w = ((lo - log_sigma) / (lo - hi)).clamp(0.0, 1.0);
    (1.0 - w) * low as f64 + w * high as f64
}

/// `init_noise_sigma` of the sigma schedulers.
pub fn init_noise_sigma(sigmas: &[f32], spacing: TimestepSpacing) -> f64 {
    let max = sigmas.iter().copied().fold(0f32, f32::max);
    match spacing {
        TimestepSpacing::Linspace | TimestepSpacing::Trailing => f64::from(max),
        TimestepSpacing::Leading => f64::from((max * max + 1.0).sqrt()),
    }
}
