//! CMA-ES baseline (Hansen's default constants, n = d, λ = K): slot 0 shows the mean m (y = 0),
//! the other K − 1 slots `m + σ·y`, `y ~ N(0, C)` (shared seed, ‖z‖ ≤ 2R). The feedback gives a
//! ranked prefix — the full ranking (`top_k`), every candidate by stars (`scalar_rating`,
//! `critique_rating`), the approved ones winner first (`approve_reject`) or just the winner —
//! and the best μ = min(prefix, ⌊K/2⌋) of it are recombined with log weights; step-size by
//! cumulative path length, rank-one + rank-μ covariance update. σ starts at R/(2√d) (a step
//! of about R/2). The incumbent is the new mean, pinned in the next round.

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use serde_json::Value;

use super::baselines::capped;
use super::contender::{Contender, ContenderError, Kept, SessionSetup};
use super::respond::Shown;
use super::user::{gauss, TRUST_RADIUS};
use crate::steering::feedback::{normalize, NormalizedFeedback};
use crate::steering::rng::PyRandom;
use crate::steering::seeds::seed_token;

/// A CMA-ES session.
pub struct CmaEs {
    setup: SessionSetup,
    rng: PyRandom,
    mean: DVector<f64>,
    sigma: f64,
    cov: DMatrix<f64>,
    path_sigma: DVector<f64>,
    path_c: DVector<f64>,
    generation: u32,
    /// The last round: ids and the steps y of every slot.
    last: Vec<(String, DVector<f64>)>,
}

/// The ranked prefix the feedback reveals, by id, best first.
fn ranked_ids(n: &NormalizedFeedback) -> Vec<String> {
    if let Some(ranking) = &n.ranking {
        return ranking.clone();
    }
    if let Some(ratings) = &n.ratings {
        let mut sorted: Vec<(usize, &(String, i64))> = ratings.iter().enumerate().collect();
        sorted.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(a.0.cmp(&b.0)));
        let mut out: Vec<String> = vec![n.winner_candidate_id.clone()];
        out.extend(sorted.into_iter().map(|(_, (id, _))| id.clone()));
        return dedup_keep_first(out);
    }
    if let Some(approved) = &n.approved_candidate_ids {
        let mut out = vec![n.winner_candidate_id.clone()];
        out.extend(approved.iter().cloned());
        return dedup_keep_first(out);
    }
    vec![n.winner_candidate_id.clone()]
}

fn dedup_keep_first(ids: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// Constants of one update with `mu` selected out of `lambda` in `n` dimensions.
struct Constants {
    weights: Vec<f64>,
    mu_eff: f64,
    c_sigma: f64,
    d_sigma: f64,
    c_c: f64,
    c_1: f64,
    c_mu: f64,
    chi_n: f64,
}

impl Constants {
    fn new(n: usize, mu: usize) -> Self {
        let n = n as f64;
        let raw: Vec<f64> = (1..=mu)
            .map(|i| ((mu as f64) + 0.5).ln() - (i as f64).ln())
            .collect();
        let total: f64 = raw.iter().sum();
        let weights: Vec<f64> = raw.iter().map(|w| w / total).collect();
        let mu_eff = 1.0 / weights.iter().map(|w| w * w).sum::<f64>();
        let c_sigma = (mu_eff + 2.0) / (n + mu_eff + 5.0);
        let d_sigma = 1.0 + 2.0 * (((mu_eff - 1.0) / (n + 1.0)).sqrt() - 1.0).max(0.0) + c_sigma;
        let c_c = (4.0 + mu_eff / n) / (n + 4.0 + 2.0 * mu_eff / n);
        let c_1 = 2.0 / ((n + 1.3).powi(2) + mu_eff);
        let c_mu =
            (1.0 - c_1).min(2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((n + 2.0).powi(2) + mu_eff));
        let chi_n = n.sqrt() * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));
        Constants {
            weights,
            mu_eff,
            c_sigma,
            d_sigma,
            c_c,
            c_1,
            c_mu: c_mu.max(0.0),
            chi_n,
        }
    }
}

impl CmaEs {
    /// A fresh session.
    pub fn new(setup: &SessionSetup) -> Self {
        let d = setup.d;
        let seed = seed_token(&[&setup.session_id, &"cma-es"]);
        CmaEs {
            setup: setup.clone(),
            rng: PyRandom::new(u128::from(seed)),
            mean: DVector::zeros(d),
            sigma: TRUST_RADIUS / (2.0 * (d.max(1) as f64).sqrt()),
            cov: DMatrix::identity(d, d),
            path_sigma: DVector::zeros(d),
            path_c: DVector::zeros(d),
            generation: 0,
            last: Vec::new(),
        }
    }

    /// `B·D` and `C^{-1/2}` of the covariance (eigenvalues floored for safety).
    fn factors(&self) -> (DMatrix<f64>, DMatrix<f64>) {
        let eigen = SymmetricEigen::new(self.cov.clone());
        let values = eigen.eigenvalues.map(|v| v.max(1e-12));
        let b = eigen.eigenvectors;
        let bd = &b * DMatrix::from_diagonal(&values.map(f64::sqrt));
        let inv_sqrt = &b * DMatrix::from_diagonal(&values.map(|v| 1.0 / v.sqrt())) * b.transpose();
        (bd, inv_sqrt)
    }

    fn update(&mut self, selected: &[DVector<f64>]) {
        let n = self.setup.d;
        let k = Constants::new(n, selected.len());
        let mut y_w = DVector::zeros(n);
        for (w, y) in k.weights.iter().zip(selected) {
            y_w += y * *w;
        }
        let (_, inv_sqrt) = self.factors();
        self.mean += &y_w * self.sigma;
        self.path_sigma = &self.path_sigma * (1.0 - k.c_sigma)
            + inv_sqrt * &y_w * (k.c_sigma * (2.0 - k.c_sigma) * k.mu_eff).sqrt();
        let ps_norm = self.path_sigma.norm();
        self.sigma *= ((k.c_sigma / k.d_sigma) * (ps_norm / k.chi_n - 1.0)).exp();
        self.sigma = self.sigma.clamp(1e-4, 2.0 * TRUST_RADIUS);
        self.generation += 1;
        let decay = (1.0 - (1.0 - k.c_sigma).powi(2 * self.generation as i32)).sqrt();
        let h_sigma = ps_norm / decay.max(1e-12) < (1.4 + 2.0 / (n as f64 + 1.0)) * k.chi_n;
        let h = if h_sigma { 1.0 } else { 0.0 };
        self.path_c =
            &self.path_c * (1.0 - k.c_c) + &y_w * (h * (k.c_c * (2.0 - k.c_c) * k.mu_eff).sqrt());
        let mut rank_mu = DMatrix::zeros(n, n);
        for (w, y) in k.weights.iter().zip(selected) {
            rank_mu += y * y.transpose() * *w;
        }
        let rank_one = &self.path_c * self.path_c.transpose();
        let keep = 1.0 - k.c_1 - k.c_mu + (1.0 - h) * k.c_1 * k.c_c * (2.0 - k.c_c);
        self.cov = &self.cov * keep + rank_one * k.c_1 + rank_mu * k.c_mu;
        self.cov = (&self.cov + self.cov.transpose()) * 0.5;
        let m = capped(self.mean.iter().copied().collect(), 2.0 * TRUST_RADIUS);
        self.mean = DVector::from_vec(m);
    }
}

impl Contender for CmaEs {
    fn propose(&mut self) -> Result<Vec<Shown>, ContenderError> {
        let round = self.generation + 1;
        let (bd, _) = self.factors();
        let d = self.setup.d;
        let mut shown = Vec::with_capacity(self.setup.k);
        self.last.clear();
        for slot in 0..self.setup.k {
            let y = if slot == 0 {
                DVector::zeros(d)
            } else {
                let z = DVector::from_iterator(d, (0..d).map(|_| gauss(&mut self.rng)));
                &bd * z
            };
            let x: Vec<f64> = (&self.mean + &y * self.sigma).iter().copied().collect();
            let x = capped(x, 2.0 * TRUST_RADIUS);
            let y = (DVector::from_vec(x.clone()) - &self.mean) / self.sigma;
            let id = format!("r{round}c{slot}");
            shown.push(Shown {
                id: id.clone(),
                z: x,
                seed: self.setup.start_seed,
                pinned: slot == 0,
            });
            self.last.push((id, y));
        }
        Ok(shown)
    }

    fn feedback(&mut self, payload: &Value) -> Result<Kept, ContenderError> {
        let normalized = normalize(self.setup.mode, payload)?;
        let mu = (self.setup.k / 2).max(1);
        let selected: Vec<DVector<f64>> = ranked_ids(&normalized)
            .iter()
            .filter_map(|id| {
                self.last
                    .iter()
                    .find(|(i, _)| i == id)
                    .map(|(_, y)| y.clone())
            })
            .take(mu)
            .collect();
        if selected.is_empty() {
            return Err(ContenderError::Round(
                "no ranked candidate of the round".into(),
            ));
        }
        self.update(&selected);
        Ok(Kept {
            z: self.mean.iter().copied().collect(),
            seed: self.setup.start_seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_decrease() {
        let k = Constants::new(5, 3);
        assert!((k.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(k.weights.windows(2).all(|w| w[0] > w[1]));
        assert!(k.c_1 + k.c_mu < 1.0);
    }
}
