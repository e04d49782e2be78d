//! The posterior over the ideal point: one Laplace Gaussian per β of the grid, mixed by their
//! evidence. Everything downstream — scores, samples, the belief shown to the user — reads it.

use nalgebra::DMatrix;

use super::evidence::RoundEvidence;
use super::laplace::{fit, log_likelihood, LaplaceFit};
use crate::steering::rng::PyRandom;

/// The β grid (utility sharpness), mixed by Laplace evidence.
pub const BETA_GRID: [f64; 5] = [5.0, 10.0, 20.0, 40.0, 80.0];

/// One mixture component.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Its fit.
    pub fit: LaplaceFit,
    /// Mixture weight (sums to 1 over components).
    pub weight: f64,
    /// Covariance (inverse precision), row-major.
    pub covariance: Vec<f64>,
    /// Lower Cholesky factor of the covariance (for sampling), row-major.
    factor: Vec<f64>,
}

/// The posterior of the session's ideal point.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// Dimension of z.
    pub d: usize,
    /// Components, in grid order.
    pub components: Vec<Component>,
}

/// Prior standard deviation per axis for a prior width (expected ‖t‖) in dimension `d`.
pub fn prior_sd(prior_width: f64, d: usize) -> f64 {
    prior_width / (d.max(1) as f64).sqrt()
}

/// Fits the posterior on `rounds`; each β starts from the previous β's mode (deterministic).
pub fn fit_posterior(rounds: &[RoundEvidence], d: usize, prior_width: f64) -> Posterior {
    let sd = prior_sd(prior_width, d);
    let mut start = vec![0.0; d];
    let mut fits = Vec::with_capacity(BETA_GRID.len());
    for beta in BETA_GRID {
        let f = fit(rounds, d, beta, sd, &start);
        start.clone_from(&f.mean);
        fits.push(f);
    }
    let best = fits
        .iter()
        .map(|f| f.log_evidence)
        .fold(f64::NEG_INFINITY, f64::max);
    let raw: Vec<f64> = fits
        .iter()
        .map(|f| {
            if f.log_evidence.is_finite() {
                (f.log_evidence - best).exp()
            } else {
                0.0
            }
        })
        .collect();
    let total: f64 = raw.iter().sum();
    let components = fits
        .into_iter()
        .zip(raw)
        .map(|(fit, w)| {
            let weight = if total > 0.0 {
                w / total
            } else {
                1.0 / BETA_GRID.len() as f64
            };
            let (covariance, factor) = invert(&fit.precision, d, sd);
            Component {
                fit,
                weight,
                covariance,
                factor,
            }
        })
        .collect();
    Posterior { d, components }
}

/// Covariance and its lower Cholesky factor; a precision that is not positive definite (it
/// cannot be, barring numeric trouble) falls back to the prior.
fn invert(precision: &[f64], d: usize, prior_sd: f64) -> (Vec<f64>, Vec<f64>) {
    let prior = || {
        let mut c = vec![0.0; d * d];
        let mut f = vec![0.0; d * d];
        for i in 0..d {
            c[i * d + i] = prior_sd * prior_sd;
            f[i * d + i] = prior_sd;
        }
        (c, f)
    };
    let Some(chol) = DMatrix::from_row_slice(d, d, precision).cholesky() else {
        return prior();
    };
    let cov = chol.inverse();
    let cov = (&cov + cov.transpose()) * 0.5;
    let Some(factor) = cov.clone().cholesky() else {
        return prior();
    };
    let l = factor.l();
    (row_major(&cov), row_major(&l))
}

fn row_major(m: &DMatrix<f64>) -> Vec<f64> {
    let (r, c) = m.shape();
    let mut out = Vec::with_capacity(r * c);
    for i in 0..r {
        for j in 0..c {
            out.push(m[(i, j)]);
        }
    }
    out
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// A standard normal draw (Box–Muller on the session's MT19937).
pub fn gauss(rng: &mut PyRandom) -> f64 {
    let u1 = rng.random().max(f64::MIN_POSITIVE);
    let u2 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

impl Posterior {
    /// Mixture mean of t.
    pub fn mean(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.d];
        for c in &self.components {
            for (o, m) in out.iter_mut().zip(&c.fit.mean) {
                *o += c.weight * m;
            }
        }
        out
    }

    /// Mixture covariance of t, row-major.
    pub fn covariance(&self) -> Vec<f64> {
        let d = self.d;
        let mean = self.mean();
        let mut out = vec![0.0; d * d];
        for c in &self.components {
            for i in 0..d {
                for j in 0..d {
                    let dm = (c.fit.mean[i] - mean[i]) * (c.fit.mean[j] - mean[j]);
                    out[i * d + j] += c.weight * (c.covariance[i * d + j] + dm);
                }
            }
        }
        out
    }

    /// Marginal standard deviation of each coordinate of t.
    pub fn sd(&self) -> Vec<f64> {
        let cov = self.covariance();
        (0..self.d)
            .map(|i| cov[i * self.d + i].max(0.0).sqrt())
            .collect()
    }

    /// Eigenvectors of the covariance, most uncertain first, with their variances.
    pub fn uncertain_directions(&self) -> Vec<(f64, Vec<f64>)> {
        let d = self.d;
        let cov = DMatrix::from_row_slice(d, d, &self.covariance());
        let eig = cov.symmetric_eigen();
        let mut pairs: Vec<(f64, Vec<f64>)> = (0..d)
            .map(|k| {
                (
                    eig.eigenvalues[k],
                    eig.eigenvectors.column(k).iter().copied().collect(),
                )
            })
            .collect();
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        pairs
    }

    /// Posterior expected score `−E‖z − t‖²` (β-free; higher is better).
    pub fn expected_score(&self, z: &[f64]) -> f64 {
        -self
            .components
            .iter()
            .map(|c| {
                let trace: f64 = (0..self.d).map(|i| c.covariance[i * self.d + i]).sum();
                c.weight * (sq_dist(z, &c.fit.mean) + trace)
            })
            .sum::<f64>()
    }

    /// Posterior standard deviation of `‖z − t‖²`.
    pub fn score_sd(&self, z: &[f64]) -> f64 {
        let d = self.d;
        let mut first = 0.0;
        let mut second = 0.0;
        for c in &self.components {
            let diff: Vec<f64> = z.iter().zip(&c.fit.mean).map(|(a, b)| a - b).collect();
            let trace: f64 = (0..d).map(|i| c.covariance[i * d + i]).sum();
            let mean = sq_dist(z, &c.fit.mean) + trace;
            let mut tr_sq = 0.0;
            let mut quad = 0.0;
            for i in 0..d {
                for j in 0..d {
                    let cij = c.covariance[i * d + j];
                    tr_sq += cij * cij;
                    quad += diff[i] * cij * diff[j];
                }
            }
            let var = 2.0 * tr_sq + 4.0 * quad;
            first += c.weight * mean;
            second += c.weight * (var + mean * mean);
        }
        (second - first * first).max(0.0).sqrt()
    }

    /// One draw `(β, t)` from the mixture.
    pub fn sample(&self, rng: &mut PyRandom) -> (f64, Vec<f64>) {
        self.sample_scaled(rng, 1.0)
    }

    /// One draw with the spread scaled by `scale` (a tempered posterior: `scale` < 1 samples
    /// closer to each component's mode).
    pub fn sample_scaled(&self, rng: &mut PyRandom, scale: f64) -> (f64, Vec<f64>) {
        let u = rng.random();
        let mut acc = 0.0;
        let mut chosen = self.components.len() - 1;
        for (k, c) in self.components.iter().enumerate() {
            acc += c.weight;
            if u < acc {
                chosen = k;
                break;
            }
        }
        let c = &self.components[chosen];
        let eps: Vec<f64> = (0..self.d).map(|_| scale * gauss(rng)).collect();
        let d = self.d;
        let t = (0..d)
            .map(|i| c.fit.mean[i] + (0..=i).map(|j| c.factor[i * d + j] * eps[j]).sum::<f64>())
            .collect();
        (c.fit.beta, t)
    }

    /// β weights as `(β, weight)`.
    pub fn beta_weights(&self) -> Vec<(f64, f64)> {
        self.components
            .iter()
            .map(|c| (c.fit.beta, c.weight))
            .collect()
    }

    /// Log predictive likelihood of `rounds`: plugged in at the posterior mean, mixed over the β
    /// grid with the posterior's weights (so one overconfident β cannot call the model wrong).
    pub fn predictive_log_likelihood(&self, rounds: &[RoundEvidence]) -> f64 {
        let mean = self.mean();
        let lls: Vec<f64> = self
            .components
            .iter()
            .map(|c| c.weight.ln() + log_likelihood(rounds, self.d, c.fit.beta, &mean))
            .collect();
        let max = lls.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !max.is_finite() {
            return max;
        }
        max + lls.iter().map(|l| (l - max).exp()).sum::<f64>().ln()
    }
}

/// Log-likelihood of `rounds` under a constant model (every choice uniform over its set, every
/// sign constraint a coin flip).
pub fn constant_model_log_likelihood(rounds: &[RoundEvidence]) -> f64 {
    use super::choices::Term;
    rounds
        .iter()
        .flat_map(|r| r.terms.iter())
        .map(|t| match t {
            Term::Choice { among, weight, .. } => -weight * (among.len() as f64).ln(),
            Term::Sign { weight, .. } => -weight * std::f64::consts::LN_2,
        })
        .sum()
}

/// Projects `z` into the ball of `radius` around `centre`, then into the ball of `cap` around 0.
pub fn project(z: &[f64], centre: &[f64], radius: f64, cap: f64) -> Vec<f64> {
    let mut out: Vec<f64> = z.to_vec();
    let dist = sq_dist(z, centre).sqrt();
    if dist > radius && dist > 0.0 {
        let s = radius / dist;
        out = centre.iter().zip(z).map(|(c, v)| c + s * (v - c)).collect();
    }
    let norm = out.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > cap && norm > 0.0 {
        out.iter_mut().for_each(|v| *v *= cap / norm);
    }
    out
}
