//! Choosing a round's new candidates: a pool (posterior samples' optima, full and tempered, the
//! posterior mean, probes along the most uncertain directions, perturbations of the incumbent,
//! well-spread directions), then greedy batch qEUBO — each pick maximises the expected utility of the best
//! image shown, the pinned incumbent included — or an ablation (Thompson, posterior mean,
//! random in the trust region). The (1+λ)-ES fallback lives here too.

use super::posterior::{gauss, project, Posterior};
use crate::steering::kinds::Acquisition;
use crate::steering::rng::PyRandom;

/// Posterior samples whose optima join the pool.
const THOMPSON_POOL: usize = 32;
/// Tempered posterior samples (spread × [`TEMPERED_SCALE`]) whose optima join the pool.
const TEMPERED_POOL: usize = 32;
/// Spread of the tempered samples relative to the posterior's.
const TEMPERED_SCALE: f64 = 0.5;
/// Posterior samples qEUBO averages over.
const EUBO_SAMPLES: usize = 128;
/// Random perturbations of the incumbent in the pool.
const PERTURBATIONS: usize = 8;
/// Most uncertain directions probed (both signs).
const PROBE_DIRECTIONS: usize = 3;

/// One proposed candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// Steering vector.
    pub z: Vec<f64>,
    /// Where it came from (`thompson`, `posterior_mean`, `probe`, `perturbation`, `spread`,
    /// `random`, `es`).
    pub role: &'static str,
    /// Its marginal expected-utility gain when picked (qEUBO), else 0.
    pub gain: f64,
}

/// What a proposal step needs.
pub struct ProposalInput<'a> {
    /// The posterior.
    pub posterior: &'a Posterior,
    /// The pinned incumbent's z (the prompt's z = 0 in round 1).
    pub incumbent: &'a [f64],
    /// Trust region radius around the incumbent.
    pub radius: f64,
    /// Largest ‖z‖.
    pub cap: f64,
    /// New candidates wanted.
    pub count: usize,
}

fn random_direction(d: usize, rng: &mut PyRandom) -> Vec<f64> {
    loop {
        let v: Vec<f64> = (0..d).map(|_| gauss(rng)).collect();
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if n > 1e-12 {
            return v.into_iter().map(|x| x / n).collect();
        }
    }
}

fn along(centre: &[f64], direction: &[f64], length: f64) -> Vec<f64> {
    centre
        .iter()
        .zip(direction)
        .map(|(c, v)| c + length * v)
        .collect()
}

/// A random orthonormal frame of `count ≤ d` directions (Gram–Schmidt of Gaussian vectors).
fn spread_frame(d: usize, count: usize, rng: &mut PyRandom) -> Vec<Vec<f64>> {
    let mut frame: Vec<Vec<f64>> = Vec::new();
    while frame.len() < count.min(d) {
        let mut v = random_direction(d, rng);
        for u in &frame {
            let p: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= p * b);
        }
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if n > 1e-6 {
            frame.push(v.into_iter().map(|x| x / n).collect());
        }
    }
    frame
}

/// The candidate pool around the incumbent.
fn pool(input: &ProposalInput<'_>, rng: &mut PyRandom) -> Vec<Proposal> {
    let d = input.incumbent.len();
    let (centre, r, cap) = (input.incumbent, input.radius, input.cap);
    let fit = |z: Vec<f64>, role| Proposal {
        z: project(&z, centre, r, cap),
        role,
        gain: 0.0,
    };
    let mut out = Vec::new();
    for _ in 0..THOMPSON_POOL {
        out.push(fit(input.posterior.sample(rng).1, "thompson"));
    }
    // Tempered draws (half the spread) sit nearer the posterior's modes: in high dimensions a
    // full draw is far from the mode in every direction at once, and these do better there.
    for _ in 0..TEMPERED_POOL {
        out.push(fit(
            input.posterior.sample_scaled(rng, TEMPERED_SCALE).1,
            "thompson",
        ));
    }
    out.push(fit(input.posterior.mean(), "posterior_mean"));
    for (_, direction) in input
        .posterior
        .uncertain_directions()
        .into_iter()
        .take(PROBE_DIRECTIONS)
    {
        out.push(fit(along(centre, &direction, 0.7 * r), "probe"));
        out.push(fit(along(centre, &direction, -0.7 * r), "probe"));
    }
    for _ in 0..PERTURBATIONS {
        let direction = random_direction(d, rng);
        let length = r * rng.uniform(0.3, 1.0);
        out.push(fit(along(centre, &direction, length), "perturbation"));
    }
    for direction in spread_frame(d, 4, rng) {
        out.push(fit(along(centre, &direction, 0.8 * r), "spread"));
        out.push(fit(along(centre, &direction, -0.8 * r), "spread"));
    }
    out
}

/// Greedy batch qEUBO over the pool: `count` picks, each maximising E[max utility] of the set
/// (incumbent included) over posterior samples.
fn qeubo(input: &ProposalInput<'_>, pool: Vec<Proposal>, rng: &mut PyRandom) -> Vec<Proposal> {
    let samples: Vec<(f64, Vec<f64>)> = (0..EUBO_SAMPLES)
        .map(|_| input.posterior.sample(rng))
        .collect();
    let utility = |z: &[f64], (beta, t): &(f64, Vec<f64>)| -> f64 {
        -beta * z.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()
    };
    let table: Vec<Vec<f64>> = pool
        .iter()
        .map(|p| samples.iter().map(|s| utility(&p.z, s)).collect())
        .collect();
    let mut best: Vec<f64> = samples
        .iter()
        .map(|s| utility(input.incumbent, s))
        .collect();
    let mut current = best.iter().sum::<f64>() / best.len() as f64;
    let mut taken = vec![false; pool.len()];
    let mut out = Vec::new();
    for _ in 0..input.count.min(pool.len()) {
        let mut pick: Option<(usize, f64)> = None;
        for (k, row) in table.iter().enumerate() {
            if taken[k] {
                continue;
            }
            let value =
                row.iter().zip(&best).map(|(u, b)| u.max(*b)).sum::<f64>() / best.len() as f64;
            if pick.is_none_or(|(_, v)| value > v) {
                pick = Some((k, value));
            }
        }
        let Some((k, value)) = pick else { break };
        taken[k] = true;
        best.iter_mut()
            .zip(&table[k])
            .for_each(|(b, u)| *b = b.max(*u));
        let mut chosen = pool[k].clone();
        chosen.gain = value - current;
        current = value;
        out.push(chosen);
    }
    out
}

/// The new candidates of a model-driven round.
pub fn propose(
    input: &ProposalInput<'_>,
    acquisition: Acquisition,
    rng: &mut PyRandom,
) -> Vec<Proposal> {
    let d = input.incumbent.len();
    match acquisition {
        Acquisition::Qeubo => {
            let pool = pool(input, rng);
            qeubo(input, pool, rng)
        }
        Acquisition::Thompson => (0..input.count)
            .map(|_| Proposal {
                z: project(
                    &input.posterior.sample(rng).1,
                    input.incumbent,
                    input.radius,
                    input.cap,
                ),
                role: "thompson",
                gain: 0.0,
            })
            .collect(),
        Acquisition::PosteriorMean => {
            let mean = project(
                &input.posterior.mean(),
                input.incumbent,
                input.radius,
                input.cap,
            );
            let mut out = vec![Proposal {
                z: mean.clone(),
                role: "posterior_mean",
                gain: 0.0,
            }];
            while out.len() < input.count {
                let direction = random_direction(d, rng);
                let z = along(&mean, &direction, 0.3 * input.radius);
                out.push(Proposal {
                    z: project(&z, input.incumbent, input.radius, input.cap),
                    role: "perturbation",
                    gain: 0.0,
                });
            }
            out.truncate(input.count);
            out
        }
        Acquisition::Random => (0..input.count)
            .map(|_| {
                let direction = random_direction(d, rng);
                let length = input.radius * rng.random().powf(1.0 / d.max(1) as f64);
                Proposal {
                    z: project(
                        &along(input.incumbent, &direction, length),
                        input.incumbent,
                        input.radius,
                        input.cap,
                    ),
                    role: "random",
                    gain: 0.0,
                }
            })
            .collect(),
    }
}

/// The (1+λ)-ES fallback: λ Gaussian steps of scale `radius` around the incumbent (the
/// trust region's ×1.3 / ×0.8 is the 1/5th-style step-size rule).
pub fn evolution_strategy(input: &ProposalInput<'_>, rng: &mut PyRandom) -> Vec<Proposal> {
    let d = input.incumbent.len();
    let scale = input.radius / (d.max(1) as f64).sqrt();
    (0..input.count)
        .map(|_| {
            let z: Vec<f64> = input
                .incumbent
                .iter()
                .map(|c| c + scale * gauss(rng))
                .collect();
            Proposal {
                z: project(&z, input.incumbent, input.radius * 2.0, input.cap),
                role: "es",
                gain: 0.0,
            }
        })
        .collect()
}
