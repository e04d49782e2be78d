//! Baselines without a model, at the same image budget: slot 0 pins the current image (the
//! prompt z = 0 at the start seed in round 1), the other K − 1 slots are
//! - `random_z`: uniform points in the trust ball ‖z‖ ≤ R around the prompt (shared seed);
//! - `seed_best_of_n`: the prompt z = 0 under fresh seeds (best-of-N over seeds, no steering);
//! - `es_1+lambda`: the (1+λ)-ES, children `parent + s·N(0, I/d)` (shared seed) within
//!   ‖z‖ ≤ 2R; the pick becomes the parent; the step `s` (start R/2) grows ×1.3 when a child
//!   wins and shrinks ×0.8 when the parent wins, within [R/8, 2R].
//!
//! Each keeps the user's last pick.

use serde_json::Value;

use super::contender::{Contender, ContenderError, Kept, SessionSetup};
use super::respond::Shown;
use super::user::{gauss, TRUST_RADIUS};
use crate::steering::feedback::normalize;
use crate::steering::kinds::FeedbackMode;
use crate::steering::math::norm;
use crate::steering::rng::PyRandom;
use crate::steering::seeds::seed_token;

/// ES step growth when a child wins.
pub const ES_GROW: f64 = 1.3;
/// ES step shrink when the parent wins.
pub const ES_SHRINK: f64 = 0.8;

/// Which baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineKind {
    /// Uniform z in the trust ball.
    RandomZ,
    /// Fresh seeds at z = 0.
    SeedBestOfN,
    /// (1+λ)-ES.
    OnePlusLambda,
}

/// A model-free baseline's session.
pub struct SimpleBaseline {
    kind: BaselineKind,
    setup: SessionSetup,
    rng: PyRandom,
    parent: Kept,
    step: f64,
    round: u32,
    last: Vec<Shown>,
}

/// Uniform point in the ball of radius `r` in `d` dimensions.
pub fn in_ball(d: usize, r: f64, rng: &mut PyRandom) -> Vec<f64> {
    let v: Vec<f64> = (0..d).map(|_| gauss(rng)).collect();
    let n = norm(&v).max(1e-12);
    let radius = r * rng.random().powf(1.0 / d.max(1) as f64);
    v.into_iter().map(|x| x * radius / n).collect()
}

/// `z` scaled back into ‖z‖ ≤ cap.
pub fn capped(mut z: Vec<f64>, cap: f64) -> Vec<f64> {
    let n = norm(&z);
    if n > cap {
        z.iter_mut().for_each(|v| *v *= cap / n);
    }
    z
}

/// The slot the user picked in `shown`, from a raw payload of `mode`.
pub fn picked_slot(
    mode: FeedbackMode,
    payload: &Value,
    shown: &[Shown],
) -> Result<usize, ContenderError> {
    let normalized = normalize(mode, payload)?;
    shown
        .iter()
        .position(|s| s.id == normalized.winner_candidate_id)
        .ok_or_else(|| {
            ContenderError::Round(format!("unknown winner {}", normalized.winner_candidate_id))
        })
}

impl SimpleBaseline {
    /// A fresh session of `kind`.
    pub fn new(setup: &SessionSetup, kind: BaselineKind) -> Self {
        let seed = seed_token(&[&setup.session_id, &format!("{kind:?}"), &"baseline"]);
        SimpleBaseline {
            kind,
            setup: setup.clone(),
            rng: PyRandom::new(u128::from(seed)),
            parent: Kept {
                z: vec![0.0; setup.d],
                seed: setup.start_seed,
            },
            step: TRUST_RADIUS / 2.0,
            round: 0,
            last: Vec::new(),
        }
    }

    fn child(&mut self, slot: usize) -> (Vec<f64>, u64) {
        let d = self.setup.d;
        let shared = self.setup.start_seed;
        match self.kind {
            BaselineKind::RandomZ => (in_ball(d, TRUST_RADIUS, &mut self.rng), shared),
            BaselineKind::SeedBestOfN => {
                let seed = seed_token(&[&self.setup.session_id, &self.round, &slot, &"best-of-n"]);
                (vec![0.0; d], u64::from(seed))
            }
            BaselineKind::OnePlusLambda => {
                let scale = self.step / (d.max(1) as f64).sqrt();
                let z: Vec<f64> = self
                    .parent
                    .z
                    .iter()
                    .map(|p| p + scale * gauss(&mut self.rng))
                    .collect();
                (capped(z, 2.0 * TRUST_RADIUS), shared)
            }
        }
    }
}

impl Contender for SimpleBaseline {
    fn propose(&mut self) -> Result<Vec<Shown>, ContenderError> {
        self.round += 1;
        let round = self.round;
        let mut shown = vec![Shown {
            id: format!("r{round}c0"),
            z: self.parent.z.clone(),
            seed: self.parent.seed,
            pinned: true,
        }];
        for slot in 1..self.setup.k {
            let (z, seed) = self.child(slot);
            shown.push(Shown {
                id: format!("r{round}c{slot}"),
                z,
                seed,
                pinned: false,
            });
        }
        self.last.clone_from(&shown);
        Ok(shown)
    }

    fn feedback(&mut self, payload: &Value) -> Result<Kept, ContenderError> {
        let slot = picked_slot(self.setup.mode, payload, &self.last)?;
        let chosen = &self.last[slot];
        self.step = if slot == 0 {
            (self.step * ES_SHRINK).max(TRUST_RADIUS / 8.0)
        } else {
            (self.step * ES_GROW).min(2.0 * TRUST_RADIUS)
        };
        self.parent = Kept {
            z: chosen.z.clone(),
            seed: chosen.seed,
        };
        Ok(self.parent.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_ball_stays_inside_and_spreads() {
        let mut rng = PyRandom::new(5);
        let points: Vec<Vec<f64>> = (0..500).map(|_| in_ball(5, 0.55, &mut rng)).collect();
        assert!(points.iter().all(|p| norm(p) <= 0.55 + 1e-12));
        let outer = points.iter().filter(|p| norm(p) > 0.55 * 0.87).count();
        assert!(outer > 200, "{outer}: most volume is near the shell");
    }
}
