//! The v2 simulated user: a hidden target `t_r` in z-space (fixed, drifting, or replaced at
//! round 6), a metric `‖v‖_A = sqrt(vᵀAv)` with diagonal `A` (isotropic, anisotropic or sparse),
//! and a seed effect: `U_r(z, seed) = −‖z − t_r‖_A + σ_s·g(seed)` with `g` a deterministic
//! standard normal per (user, seed).
//!
//! Every user of session `i` at dimension `d` derives everything from one key
//! `seed_token("v2-user", d, i)`, whatever its kind, temperature or the strategy it meets: the
//! isotropic, anisotropic, drifting and changing users of a session share their first target and
//! their noise stream (common random numbers across strategies and across user types).

use serde::{Deserialize, Serialize};

use crate::steering::math::norm;
use crate::steering::oracle::draw_target;
use crate::steering::rng::PyRandom;
use crate::steering::seeds::seed_token;

/// Trust radius R of every session (the targets are placed relative to it).
pub const TRUST_RADIUS: f64 = 0.55;
/// Norm range of the default targets.
pub const TARGET_RADIUS: (f64, f64) = (0.2, 0.5);
/// Norm range of out-of-ball targets: `[R, 1.6 R]`.
pub const OUT_OF_BALL_RADIUS: (f64, f64) = (TRUST_RADIUS, 1.6 * TRUST_RADIUS);
/// Expected norm of one round's drift step.
pub const DRIFT_STEP: f64 = 0.03;
/// The round from which a changing user wants a fresh target.
pub const CHANGE_ROUND: u32 = 6;
/// Anisotropic axis weights are log-uniform in this range before renormalising to mean 1.
pub const ANISOTROPY: (f64, f64) = (0.25, 4.0);

/// How the user's taste is shaped and how it moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    /// `A = I`, fixed target with ‖t‖ ∈ [0.2, 0.5].
    Isotropic,
    /// Diagonal weights log-uniform in [0.25, 4], renormalised to mean 1; same target.
    Anisotropic,
    /// Weight 1 on 2–3 random axes, 0 elsewhere; the target lives in those axes.
    Sparse,
    /// Isotropic, ‖t‖ ∈ [R, 1.6 R] (outside the starting trust ball), same direction.
    OutOfBall,
    /// Isotropic; the target takes a random step of expected norm 0.03 every round.
    Drift,
    /// Isotropic; a fresh target from round 6 on.
    ChangeOfMind,
}

impl UserKind {
    /// Every kind, in report order.
    pub const ALL: [UserKind; 6] = [
        UserKind::Isotropic,
        UserKind::Anisotropic,
        UserKind::Sparse,
        UserKind::OutOfBall,
        UserKind::Drift,
        UserKind::ChangeOfMind,
    ];

    /// Report name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Isotropic => "isotropic",
            UserKind::Anisotropic => "anisotropic",
            UserKind::Sparse => "sparse",
            UserKind::OutOfBall => "out_of_ball",
            UserKind::Drift => "drift",
            UserKind::ChangeOfMind => "change_of_mind",
        }
    }
}

/// A user type with its noise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UserSpec {
    /// Shape and dynamics of the taste.
    pub kind: UserKind,
    /// Gumbel temperature of the choices.
    pub temperature: f64,
    /// σ_s: weight of the seed effect on utility.
    pub seed_sigma: f64,
    /// Probability that a round's answer is uniformly random.
    pub lapse: f64,
    /// Utility bonus of the pinned slot 0 (status-quo bias), in distance units.
    pub status_quo: f64,
}

impl UserSpec {
    /// The default noise: T = 0.05, 5 % lapses, +0.01 status quo, no seed effect.
    pub fn new(kind: UserKind) -> Self {
        UserSpec {
            kind,
            temperature: 0.05,
            seed_sigma: 0.0,
            lapse: 0.05,
            status_quo: 0.01,
        }
    }

    /// A short label, e.g. `isotropic T=0.05` or `isotropic T=0.05 s=0.1`.
    pub fn label(&self) -> String {
        let mut out = format!("{} T={}", self.kind.as_str(), self.temperature);
        if self.seed_sigma > 0.0 {
            out.push_str(&format!(" s={}", self.seed_sigma));
        }
        out
    }
}

/// One simulated user of one session.
#[derive(Debug, Clone)]
pub struct V2User {
    /// The session's user key (all random draws derive from it).
    pub key: u32,
    /// The type.
    pub spec: UserSpec,
    /// Diagonal of A.
    pub weights: Vec<f64>,
    /// The target of each round (index 0 = round 1).
    targets: Vec<Vec<f64>>,
    /// The seed of the reference image: z = 0 rendered with it is "the start".
    pub start_seed: u64,
}

/// Standard normal by Box–Muller from the stream.
pub fn gauss(rng: &mut PyRandom) -> f64 {
    let u1 = rng.random().max(f64::MIN_POSITIVE);
    let u2 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// SplitMix64: a fixed, well-mixed 64-bit hash.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn axis_weights(kind: UserKind, d: usize, rng: &mut PyRandom) -> Vec<f64> {
    match kind {
        UserKind::Anisotropic => {
            let (lo, hi) = (ANISOTROPY.0.ln(), ANISOTROPY.1.ln());
            let raw: Vec<f64> = (0..d).map(|_| rng.uniform(lo, hi).exp()).collect();
            let mean = raw.iter().sum::<f64>() / d.max(1) as f64;
            raw.into_iter().map(|w| w / mean).collect()
        }
        UserKind::Sparse => {
            let count = (2 + usize::from(rng.random() < 0.5)).min(d);
            let mut axes: Vec<usize> = (0..d).collect();
            for i in 0..count {
                let j = i + ((rng.random() * (d - i) as f64) as usize).min(d - i - 1);
                axes.swap(i, j);
            }
            let mut weights = vec![0.0; d];
            for &a in &axes[..count] {
                weights[a] = 1.0;
            }
            weights
        }
        _ => vec![1.0; d],
    }
}

/// The first target: drawn in the relevant axes for a sparse user, else in all `d` axes
/// (the same direction for every kind of the session).
fn first_target(kind: UserKind, key: u32, weights: &[f64]) -> Vec<f64> {
    let d = weights.len();
    let seed = u128::from(seed_token(&[&key, &"target"]));
    match kind {
        UserKind::Sparse => {
            let axes: Vec<usize> = (0..d).filter(|a| weights[*a] > 0.0).collect();
            let inner = draw_target(axes.len(), TARGET_RADIUS, seed);
            let mut t = vec![0.0; d];
            for (a, v) in axes.iter().zip(inner) {
                t[*a] = v;
            }
            t
        }
        UserKind::OutOfBall => draw_target(d, OUT_OF_BALL_RADIUS, seed),
        _ => draw_target(d, TARGET_RADIUS, seed),
    }
}

impl V2User {
    /// The user of session key `key` in dimension `d`, for sessions of up to `rounds` rounds;
    /// `start_seed` is the render seed of the reference image (z = 0).
    pub fn new(spec: UserSpec, d: usize, key: u32, rounds: u32, start_seed: u64) -> Self {
        let mut rng = PyRandom::new(u128::from(seed_token(&[
            &key,
            &"shape",
            &spec.kind.as_str(),
        ])));
        let weights = axis_weights(spec.kind, d, &mut rng);
        let first = first_target(spec.kind, key, &weights);
        let mut targets = vec![first];
        let mut walk = PyRandom::new(u128::from(seed_token(&[&key, &"drift"])));
        let fresh = draw_target(d, TARGET_RADIUS, u128::from(seed_token(&[&key, &"change"])));
        for round in 2..=rounds.max(1) {
            let previous = targets.last().cloned().unwrap_or_default();
            let next = match spec.kind {
                UserKind::Drift => {
                    let scale = DRIFT_STEP / (d.max(1) as f64).sqrt();
                    previous
                        .iter()
                        .map(|v| v + scale * gauss(&mut walk))
                        .collect()
                }
                UserKind::ChangeOfMind if round == CHANGE_ROUND => fresh.clone(),
                _ => previous,
            };
            targets.push(next);
        }
        V2User {
            key,
            spec,
            weights,
            targets,
            start_seed,
        }
    }

    /// The target of `round` (1-based; later rounds keep the last one).
    pub fn target(&self, round: u32) -> &[f64] {
        let index = (round.max(1) as usize - 1).min(self.targets.len().saturating_sub(1));
        self.targets.get(index).map(Vec::as_slice).unwrap_or(&[])
    }

    /// `‖z − t_round‖_A`.
    pub fn distance(&self, z: &[f64], round: u32) -> f64 {
        let t = self.target(round);
        let weighted: Vec<f64> = z
            .iter()
            .zip(t)
            .zip(&self.weights)
            .map(|((a, b), w)| (a - b) * w.sqrt())
            .collect();
        norm(&weighted)
    }

    /// `g(seed)`: a deterministic standard normal per (user, seed).
    pub fn seed_effect(&self, seed: u64) -> f64 {
        let h = splitmix(splitmix(u64::from(self.key)) ^ seed);
        let u1 = ((h >> 32) as f64 + 0.5) / 4_294_967_296.0;
        let u2 = ((h & 0xffff_ffff) as f64) / 4_294_967_296.0;
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// `U_round(z, seed)`.
    pub fn utility(&self, z: &[f64], seed: u64, round: u32) -> f64 {
        let effect = if self.spec.seed_sigma > 0.0 {
            self.spec.seed_sigma * self.seed_effect(seed)
        } else {
            0.0
        };
        -self.distance(z, round) + effect
    }

    /// Utility and distance of the start (z = 0 at the start seed) against round `round`'s
    /// target.
    pub fn start(&self, round: u32) -> (f64, f64) {
        let zero = vec![0.0; self.weights.len()];
        (
            self.utility(&zero, self.start_seed, round),
            self.distance(&zero, round).max(1e-12),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(kind: UserKind, d: usize) -> V2User {
        V2User::new(UserSpec::new(kind), d, 17, 15, 3)
    }

    #[test]
    fn kinds_share_the_first_target_and_shape_the_metric() {
        let iso = user(UserKind::Isotropic, 8);
        let aniso = user(UserKind::Anisotropic, 8);
        assert_eq!(iso.target(1), aniso.target(1));
        let mean = aniso.weights.iter().sum::<f64>() / 8.0;
        assert!((mean - 1.0).abs() < 1e-12);
        let sparse = user(UserKind::Sparse, 8);
        let relevant = sparse.weights.iter().filter(|w| **w > 0.0).count();
        assert!((2..=3).contains(&relevant));
        let r = sparse.distance(&[0.0; 8], 1);
        assert!((0.2..=0.5).contains(&r), "{r}");
        let far = user(UserKind::OutOfBall, 8);
        let r = norm(far.target(1));
        assert!((TRUST_RADIUS..=1.6 * TRUST_RADIUS).contains(&r), "{r}");
    }

    #[test]
    fn drift_moves_and_change_of_mind_jumps_at_round_six() {
        let drift = user(UserKind::Drift, 5);
        assert_ne!(drift.target(1), drift.target(2));
        let change = user(UserKind::ChangeOfMind, 5);
        assert_eq!(change.target(1), change.target(5));
        assert_ne!(change.target(5), change.target(6));
        assert_eq!(change.target(6), change.target(15));
    }

    #[test]
    fn seed_effect_is_deterministic_and_standard() {
        let u = user(UserKind::Isotropic, 5);
        assert_eq!(u.seed_effect(42), u.seed_effect(42));
        let draws: Vec<f64> = (0..4000).map(|s| u.seed_effect(s)).collect();
        let mean = draws.iter().sum::<f64>() / 4000.0;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4000.0;
        assert!(
            mean.abs() < 0.06 && (var - 1.0).abs() < 0.08,
            "{mean} {var}"
        );
    }
}
