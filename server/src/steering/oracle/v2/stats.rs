//! Bootstrap 95 % intervals with deterministic resampling: one set of resampled session
//! indices per configuration (MT19937 seeded from the configuration's key), shared by every
//! metric and every strategy of it, so differences and ratios between strategies are paired
//! (common random numbers: session i of every strategy met the same user).

use serde::{Deserialize, Serialize};

use crate::steering::rng::PyRandom;

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 2000;

/// A mean (or ratio, difference, share) with its percentile bootstrap 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Point estimate on the full sample.
    pub value: f64,
    /// 2.5 % percentile of the resampled statistic.
    pub lo: f64,
    /// 97.5 % percentile.
    pub hi: f64,
}

impl Estimate {
    /// Half the interval's width.
    pub fn half_width(&self) -> f64 {
        (self.hi - self.lo) / 2.0
    }

    /// Whether the interval lies strictly above `level`.
    pub fn above(&self, level: f64) -> bool {
        self.lo > level
    }
}

/// Resampled index sets for samples of size `n`.
#[derive(Debug, Clone)]
pub struct Resampler {
    n: usize,
    /// `RESAMPLES × n` indices, row-major.
    indices: Vec<u32>,
    resamples: usize,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] * (1.0 - frac) + sorted[hi] * frac
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

impl Resampler {
    /// `resamples` index sets of size `n` from the stream seeded by `seed`.
    pub fn new(n: usize, resamples: usize, seed: u32) -> Self {
        let mut rng = PyRandom::new(u128::from(seed));
        let indices = (0..n * resamples)
            .map(|_| ((rng.random() * n as f64) as usize).min(n.saturating_sub(1)) as u32)
            .collect();
        Resampler {
            n,
            indices,
            resamples,
        }
    }

    fn interval(&self, value: f64, mut stats: Vec<f64>) -> Estimate {
        stats.retain(|s| s.is_finite());
        stats.sort_by(f64::total_cmp);
        Estimate {
            value,
            lo: percentile(&stats, 0.025),
            hi: percentile(&stats, 0.975),
        }
    }

    /// Resampled means of `a` and of `b` (paired: the same indices).
    fn paired_means(&self, a: &[f64], b: &[f64]) -> Vec<(f64, f64)> {
        let n = self.n.max(1) as f64;
        self.indices
            .chunks(self.n.max(1))
            .take(self.resamples)
            .map(|rows| {
                let (sa, sb) = rows.iter().fold((0.0, 0.0), |(x, y), i| {
                    let i = *i as usize;
                    (
                        x + a.get(i).copied().unwrap_or(0.0),
                        y + b.get(i).copied().unwrap_or(0.0),
                    )
                });
                (sa / n, sb / n)
            })
            .collect()
    }

    /// The mean of `values` (one per session, length n).
    pub fn mean(&self, values: &[f64]) -> Estimate {
        let stats = self
            .paired_means(values, &[])
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        self.interval(mean(values), stats)
    }

    /// The paired difference of means `a − b`.
    pub fn difference(&self, a: &[f64], b: &[f64]) -> Estimate {
        let stats = self
            .paired_means(a, b)
            .into_iter()
            .map(|(x, y)| x - y)
            .collect();
        self.interval(mean(a) - mean(b), stats)
    }

    /// The paired ratio of means `a / b` (resamples with a non-positive denominator are left
    /// out; the value is NaN when the full-sample denominator is not positive).
    pub fn ratio(&self, a: &[f64], b: &[f64]) -> Estimate {
        let stats = self
            .paired_means(a, b)
            .into_iter()
            .map(|(x, y)| if y > 0.0 { x / y } else { f64::NAN })
            .collect();
        let (ma, mb) = (mean(a), mean(b));
        self.interval(if mb > 0.0 { ma / mb } else { f64::NAN }, stats)
    }
}

/// Median of finite values, `None` when fewer than half are finite (never-reached counts as
/// infinite).
pub fn median_rounds(values: &[Option<u32>]) -> Option<f64> {
    let mut v: Vec<f64> = values
        .iter()
        .map(|r| r.map(f64::from).unwrap_or(f64::INFINITY))
        .collect();
    v.sort_by(f64::total_cmp);
    let m = percentile(&v, 0.5);
    m.is_finite().then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_cover_the_mean_and_pairing_cancels_shared_noise() {
        let mut rng = PyRandom::new(3);
        let noise: Vec<f64> = (0..200).map(|_| rng.random()).collect();
        let a: Vec<f64> = noise.iter().map(|x| x + 0.1).collect();
        let r = Resampler::new(200, 1000, 11);
        let m = r.mean(&a);
        assert!(m.lo < m.value && m.value < m.hi);
        let diff = r.difference(&a, &noise);
        assert!((diff.value - 0.1).abs() < 1e-12 && diff.half_width() < 1e-9);
        let ratio = r.ratio(&a, &noise);
        assert!(ratio.value > 1.0 && ratio.lo > 1.0);
        let again = Resampler::new(200, 1000, 11).mean(&a);
        assert_eq!(m, again, "deterministic");
        assert_eq!(median_rounds(&[Some(2), Some(4), None]), Some(4.0));
        assert_eq!(median_rounds(&[Some(2), None, None]), None);
    }
}
