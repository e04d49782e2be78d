//! The ideal-point model fitted by a Laplace approximation.
//!
//! Utility `u(z) = −β‖z − t‖²`. Inside one choice set `‖t‖²` cancels, so every choice's logit
//! `β(2 z·t − ‖z‖²)` is linear in the ideal point `t` and the log-likelihood is concave; with the
//! Gaussian prior `t ~ N(0, s² I)` the posterior mode is unique. Newton's method with a
//! backtracking (Armijo) line search finds it in f64 with fixed iteration caps; the negative
//! Hessian there is the Laplace precision, and the Laplace evidence weighs β across a grid.

use nalgebra::{DMatrix, DVector};

use super::choices::Term;
use super::evidence::RoundEvidence;

/// Newton iterations at most.
const MAX_NEWTON: usize = 40;
/// Step halvings at most per iteration.
const MAX_BACKTRACK: usize = 30;
/// Stop when the Newton decrement `gᵀH⁻¹g` falls below this.
const DECREMENT_TOL: f64 = 1e-10;
/// Sharpness of a directional tag's sign constraint (per unit of z along the tag's direction).
pub const TAG_SHARPNESS: f64 = 8.0;

/// One β's Laplace fit.
#[derive(Debug, Clone, PartialEq)]
pub struct LaplaceFit {
    /// The β of this fit.
    pub beta: f64,
    /// Posterior mode of t.
    pub mean: Vec<f64>,
    /// Negative Hessian of the log posterior at the mode (the precision), row-major d×d.
    pub precision: Vec<f64>,
    /// Log-likelihood of the evidence at the mode.
    pub log_likelihood: f64,
    /// Laplace estimate of the log marginal likelihood (prior normalised).
    pub log_evidence: f64,
    /// Newton iterations used.
    pub iterations: usize,
}

/// Value, gradient and negative Hessian (row-major) of the log posterior.
struct Objective {
    value: f64,
    grad: Vec<f64>,
    neg_hess: Vec<f64>,
}

/// The log-likelihood of `rounds` at `t` (no prior), for predictive checks.
pub fn log_likelihood(rounds: &[RoundEvidence], d: usize, beta: f64, t: &[f64]) -> f64 {
    let mut total = 0.0;
    let mut zt = Vec::new();
    for round in rounds {
        zt.clear();
        zt.extend((0..round.slots()).map(|s| dot(round.slot(s, d), t)));
        for term in &round.terms {
            total += term_value(round, term, d, beta, t, &zt);
        }
    }
    total
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn log_sigmoid(a: f64) -> f64 {
    // log σ(a) = −softplus(−a), computed without overflow.
    if a >= 0.0 {
        -(-a).exp().ln_1p()
    } else {
        a - a.exp().ln_1p()
    }
}

fn sigmoid(a: f64) -> f64 {
    if a >= 0.0 {
        1.0 / (1.0 + (-a).exp())
    } else {
        let e = a.exp();
        e / (1.0 + e)
    }
}

fn logit(round: &RoundEvidence, slot: usize, worst: bool, beta: f64, zt: &[f64]) -> f64 {
    let sign = if worst { -1.0 } else { 1.0 };
    sign * beta * (2.0 * zt[slot] - round.norms[slot])
}

fn term_value(
    round: &RoundEvidence,
    term: &Term,
    d: usize,
    beta: f64,
    t: &[f64],
    zt: &[f64],
) -> f64 {
    match term {
        Term::Choice {
            chosen,
            among,
            worst,
            weight,
        } => {
            let max = among
                .iter()
                .map(|s| logit(round, *s, *worst, beta, zt))
                .fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = among
                .iter()
                .map(|s| (logit(round, *s, *worst, beta, zt) - max).exp())
                .sum();
            weight * (logit(round, *chosen, *worst, beta, zt) - max - sum.ln())
        }
        Term::Sign {
            slot,
            direction,
            weight,
        } => {
            let along = dot(direction, t) - dot(direction, round.slot(*slot, d));
            weight * log_sigmoid(TAG_SHARPNESS * along)
        }
    }
}

/// Adds `w · v vᵀ` to the upper triangle of `m`.
fn add_outer(m: &mut [f64], d: usize, w: f64, v: &[f64]) {
    for i in 0..d {
        let wi = w * v[i];
        if wi == 0.0 {
            continue;
        }
        let row = &mut m[i * d..(i + 1) * d];
        for j in i..d {
            row[j] += wi * v[j];
        }
    }
}

fn objective(
    rounds: &[RoundEvidence],
    d: usize,
    beta: f64,
    prior_var: f64,
    t: &[f64],
) -> Objective {
    let mut value = -0.5 * dot(t, t) / prior_var;
    let mut grad: Vec<f64> = t.iter().map(|v| -v / prior_var).collect();
    let mut neg_hess = vec![0.0; d * d];
    let mut scratch = RoundScratch::default();
    for round in rounds {
        value += round_objective(round, d, beta, t, &mut scratch);
        scratch.accumulate(round, d, &mut grad, &mut neg_hess);
        for term in &round.terms {
            if let Term::Sign {
                slot,
                direction,
                weight,
            } = term
            {
                let along = dot(direction, t) - dot(direction, round.slot(*slot, d));
                let a = TAG_SHARPNESS * along;
                let g = weight * TAG_SHARPNESS * sigmoid(-a);
                for (gi, v) in grad.iter_mut().zip(direction) {
                    *gi += g * v;
                }
                let h = weight * TAG_SHARPNESS * TAG_SHARPNESS * sigmoid(a) * sigmoid(-a);
                add_outer(&mut neg_hess, d, h, direction);
            }
        }
    }
    for i in 0..d {
        neg_hess[i * d + i] += 1.0 / prior_var;
        for j in 0..i {
            neg_hess[i * d + j] = neg_hess[j * d + i];
        }
    }
    Objective {
        value,
        grad,
        neg_hess,
    }
}

/// Per-round accumulators in slot space. Every choice term's gradient is `Zᵀ v` and its
/// curvature `Zᵀ M Z` for a K-vector `v` and a K×K matrix `M`, so a round's terms are summed in
/// slot space first and projected to z-space once (a ranking's K − 1 nested choices cost one
/// projection instead of K − 1 rank-one sweeps).
#[derive(Default)]
struct RoundScratch {
    zt: Vec<f64>,
    probs: Vec<f64>,
    v: Vec<f64>,
    m: Vec<f64>,
    mz: Vec<f64>,
}

impl RoundScratch {
    fn reset(&mut self, round: &RoundEvidence, d: usize, t: &[f64]) {
        let k = round.slots();
        self.zt.clear();
        self.zt.extend((0..k).map(|s| dot(round.slot(s, d), t)));
        self.v.clear();
        self.v.resize(k, 0.0);
        self.m.clear();
        self.m.resize(k * k, 0.0);
    }

    /// Adds `Zᵀ v` to the gradient and `Zᵀ M Z` to the negative Hessian (upper triangle).
    fn accumulate(
        &mut self,
        round: &RoundEvidence,
        d: usize,
        grad: &mut [f64],
        neg_hess: &mut [f64],
    ) {
        let k = round.slots();
        if self.v.iter().all(|x| *x == 0.0) && self.m.iter().all(|x| *x == 0.0) {
            return;
        }
        for s in 0..k {
            let vs = self.v[s];
            if vs != 0.0 {
                for (g, z) in grad.iter_mut().zip(round.slot(s, d)) {
                    *g += vs * z;
                }
            }
        }
        // MZ (K×d), then H += Zᵀ (MZ), upper triangle only.
        self.mz.clear();
        self.mz.resize(k * d, 0.0);
        for a in 0..k {
            for b in 0..k {
                let mab = self.m[a * k + b];
                if mab == 0.0 {
                    continue;
                }
                let zb = round.slot(b, d);
                let row = &mut self.mz[a * d..(a + 1) * d];
                for (r, z) in row.iter_mut().zip(zb) {
                    *r += mab * z;
                }
            }
        }
        for a in 0..k {
            let za = round.slot(a, d);
            let row = &self.mz[a * d..(a + 1) * d];
            for i in 0..d {
                let zi = za[i];
                if zi == 0.0 {
                    continue;
                }
                let h = &mut neg_hess[i * d..(i + 1) * d];
                for j in i..d {
                    h[j] += zi * row[j];
                }
            }
        }
    }
}

/// The round's log-likelihood; fills the scratch's slot-space gradient `v` and curvature `M`.
fn round_objective(
    round: &RoundEvidence,
    d: usize,
    beta: f64,
    t: &[f64],
    scratch: &mut RoundScratch,
) -> f64 {
    scratch.reset(round, d, t);
    let k = round.slots();
    let mut value = 0.0;
    for term in &round.terms {
        let Term::Choice {
            chosen,
            among,
            worst,
            weight,
        } = term
        else {
            value += term_value(round, term, d, beta, t, &scratch.zt);
            continue;
        };
        let sign = if *worst { -1.0 } else { 1.0 };
        let RoundScratch {
            zt, probs, v, m, ..
        } = scratch;
        probs.clear();
        probs.extend(among.iter().map(|s| logit(round, *s, *worst, beta, zt)));
        let max = probs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let chosen_logit = logit(round, *chosen, *worst, beta, zt);
        probs.iter_mut().for_each(|p| *p = (*p - max).exp());
        let total: f64 = probs.iter().sum();
        value += weight * (chosen_logit - max - total.ln());
        probs.iter_mut().for_each(|p| *p /= total);
        let g = weight * sign * 2.0 * beta;
        v[*chosen] += g;
        let curvature = weight * 4.0 * beta * beta;
        for (a, pa) in among.iter().zip(probs.iter()) {
            v[*a] -= g * pa;
            m[a * k + a] += curvature * pa;
            for (b, pb) in among.iter().zip(probs.iter()) {
                m[a * k + b] -= curvature * pa * pb;
            }
        }
    }
    value
}

/// Value of the log posterior only (for the line search).
fn value_at(rounds: &[RoundEvidence], d: usize, beta: f64, prior_var: f64, t: &[f64]) -> f64 {
    -0.5 * dot(t, t) / prior_var + log_likelihood(rounds, d, beta, t)
}

/// Fits t for one β by Newton's method from `start`; the prior is `N(0, prior_sd² I)`.
pub fn fit(
    rounds: &[RoundEvidence],
    d: usize,
    beta: f64,
    prior_sd: f64,
    start: &[f64],
) -> LaplaceFit {
    let prior_var = prior_sd * prior_sd;
    let mut t = start.to_vec();
    let mut obj = objective(rounds, d, beta, prior_var, &t);
    let mut iterations = 0;
    while iterations < MAX_NEWTON {
        iterations += 1;
        let h = DMatrix::from_row_slice(d, d, &obj.neg_hess);
        let Some(chol) = h.cholesky() else { break };
        let step = chol.solve(&DVector::from_column_slice(&obj.grad));
        let decrement: f64 = step.iter().zip(&obj.grad).map(|(s, g)| s * g).sum();
        if decrement.is_nan() || decrement <= DECREMENT_TOL {
            break;
        }
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..MAX_BACKTRACK {
            let trial: Vec<f64> = t
                .iter()
                .zip(step.iter())
                .map(|(a, s)| a + alpha * s)
                .collect();
            let value = value_at(rounds, d, beta, prior_var, &trial);
            if value >= obj.value + 1e-4 * alpha * decrement {
                accepted = Some(trial);
                break;
            }
            alpha *= 0.5;
        }
        let Some(next) = accepted else { break };
        t = next;
        obj = objective(rounds, d, beta, prior_var, &t);
    }
    let log_likelihood = obj.value + 0.5 * dot(&t, &t) / prior_var;
    let log_det = DMatrix::from_row_slice(d, d, &obj.neg_hess)
        .cholesky()
        .map(|c| 2.0 * c.l().diagonal().iter().map(|v| v.ln()).sum::<f64>())
        .unwrap_or(f64::INFINITY);
    LaplaceFit {
        beta,
        log_evidence: obj.value - d as f64 * prior_sd.ln() - 0.5 * log_det,
        mean: t,
        precision: obj.neg_hess,
        log_likelihood,
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(z: &[Vec<f64>], chosen: usize) -> RoundEvidence {
        let among = (0..z.len()).collect();
        RoundEvidence::new(
            z,
            vec![Term::Choice {
                chosen,
                among,
                worst: false,
                weight: 1.0,
            }],
        )
    }

    #[test]
    fn gradient_and_hessian_match_finite_differences() {
        let rounds = vec![
            round(&[vec![0.1, 0.2], vec![-0.3, 0.4], vec![0.5, -0.1]], 2),
            RoundEvidence::new(
                &[vec![0.2, 0.0], vec![0.0, 0.3]],
                vec![
                    Term::Choice {
                        chosen: 1,
                        among: vec![0, 1],
                        worst: true,
                        weight: 0.7,
                    },
                    Term::Sign {
                        slot: 0,
                        direction: vec![0.6, 0.8],
                        weight: 1.0,
                    },
                ],
            ),
        ];
        let t = [0.13, -0.07];
        let (beta, var) = (17.0, 0.09);
        let obj = objective(&rounds, 2, beta, var, &t);
        let h = 1e-6;
        for i in 0..2 {
            let mut plus = t;
            let mut minus = t;
            plus[i] += h;
            minus[i] -= h;
            let numeric = (value_at(&rounds, 2, beta, var, &plus)
                - value_at(&rounds, 2, beta, var, &minus))
                / (2.0 * h);
            assert!((numeric - obj.grad[i]).abs() < 1e-5, "grad {i}");
            let gp = objective(&rounds, 2, beta, var, &plus).grad;
            let gm = objective(&rounds, 2, beta, var, &minus).grad;
            for j in 0..2 {
                let numeric = -(gp[j] - gm[j]) / (2.0 * h);
                assert!(
                    (numeric - obj.neg_hess[j * 2 + i]).abs() < 1e-4,
                    "hess {i}{j}"
                );
            }
        }
    }

    #[test]
    fn newton_finds_the_mode_and_moves_toward_chosen_items() {
        let rounds: Vec<RoundEvidence> = (0..6)
            .map(|k| {
                let a = k as f64 * 0.7;
                round(
                    &[
                        vec![0.4 * a.cos(), 0.4 * a.sin()],
                        vec![0.3, 0.3],
                        vec![-0.4 * a.sin(), 0.4 * a.cos()],
                    ],
                    1,
                )
            })
            .collect();
        let fit = fit(&rounds, 2, 20.0, 0.3, &[0.0, 0.0]);
        assert!(fit.iterations < MAX_NEWTON);
        assert!(fit.mean[0] > 0.1 && fit.mean[1] > 0.1, "{:?}", fit.mean);
        let obj = objective(&rounds, 2, 20.0, 0.09, &fit.mean);
        assert!(obj.grad.iter().all(|g| g.abs() < 1e-4), "{:?}", obj.grad);
    }

    #[test]
    fn no_evidence_gives_the_prior() {
        let fit = fit(&[], 3, 10.0, 0.2, &[0.0; 3]);
        assert_eq!(fit.mean, vec![0.0; 3]);
        assert!((fit.precision[0] - 25.0).abs() < 1e-9);
        assert!(
            fit.log_evidence.abs() < 1e-9,
            "{}",
            fit.log_evidence + 3.0 * 0.2f64.ln()
        );
    }
}
