//! One v2 session: a contender and a simulated user for B rounds, scored every round against
//! that round's target.
//!
//! Closure at round r of an image (z, seed): `(U_r(z, seed) − U_r(start)) / dist_r(start)`,
//! start = the prompt z = 0 at the start seed (the `shared` seed of epoch 0, the seed the plain
//! preference strategy's round 1 renders with); for σ_s = 0 and a fixed target this is
//! `1 − d/d_start`. "Best" is the best image shown so far (re-scored against the current target
//! when it moves), "incumbent" the image the strategy keeps after the round's feedback.

use std::time::Instant;

use super::contender::{start, ContenderError, ContenderSpec, SessionSetup};
use super::respond::{respond, Shown};
use super::user::{UserSpec, V2User};
use crate::steering::kinds::FeedbackMode;
use crate::steering::seeds::{seed_token, shared_seed};

/// Success: the best image shown within this distance (‖·‖_A) of the current target.
pub const SUCCESS_DISTANCE: f64 = 0.12;

/// What one session measured, one entry per round.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionOutcome {
    /// Closure of the best image shown so far.
    pub best: Vec<f64>,
    /// Closure of the incumbent after the round's feedback.
    pub incumbent: Vec<f64>,
    /// Smallest ‖z − t_r‖_A among the images shown so far.
    pub best_distance: Vec<f64>,
    /// Time of propose + apply feedback per round (ns; the domain calls alone for domain
    /// contenders); measured, not deterministic.
    pub step_ns: Vec<u64>,
}

impl SessionOutcome {
    /// First round (1-based) whose best closure reaches `level`.
    pub fn rounds_to(&self, level: f64) -> Option<u32> {
        self.best
            .iter()
            .position(|c| *c >= level)
            .map(|r| r as u32 + 1)
    }

    /// Whether the best image came within the success distance by round `round`.
    pub fn success_by(&self, round: u32) -> bool {
        self.best_distance
            .iter()
            .take(round as usize)
            .any(|d| *d <= SUCCESS_DISTANCE)
    }
}

/// Everything that identifies one session of one contender.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// Steering dimension.
    pub d: usize,
    /// Images per round.
    pub k: usize,
    /// Feedback mode.
    pub mode: FeedbackMode,
    /// The user type.
    pub user: UserSpec,
    /// The strategy.
    pub contender: ContenderSpec,
    /// Session number within its configuration (the common-random-numbers index).
    pub index: usize,
    /// Rounds B.
    pub rounds: u32,
}

/// The session id of session `index` in dimension `d`: shared by every contender, mode, K
/// and user type (so every domain draw is common too).
pub fn session_id(d: usize, index: usize) -> String {
    format!("v2-d{d}-s{index}")
}

fn score(user: &V2User, round: u32, shown: &[(Vec<f64>, u64)]) -> (f64, f64) {
    let mut best_u = f64::NEG_INFINITY;
    let mut best_d = f64::INFINITY;
    for (z, seed) in shown {
        best_u = best_u.max(user.utility(z, *seed, round));
        best_d = best_d.min(user.distance(z, round));
    }
    (best_u, best_d)
}

/// Runs one session.
pub fn run_session(spec: &SessionSpec) -> Result<SessionOutcome, ContenderError> {
    let id = session_id(spec.d, spec.index);
    let start_seed = u64::from(shared_seed(&id, 0));
    let key = seed_token(&[&"v2-user", &spec.d, &spec.index]);
    let user = V2User::new(spec.user, spec.d, key, spec.rounds, start_seed);
    let setup = SessionSetup {
        session_id: id,
        d: spec.d,
        k: spec.k,
        mode: spec.mode,
        start_seed,
    };
    let mut contender = start(&spec.contender, &setup)?;
    let mut seen: Vec<(Vec<f64>, u64)> = Vec::new();
    let mut out = SessionOutcome {
        best: Vec::new(),
        incumbent: Vec::new(),
        best_distance: Vec::new(),
        step_ns: Vec::new(),
    };
    for round in 1..=spec.rounds {
        let started = Instant::now();
        let shown: Vec<Shown> = contender.propose()?;
        let proposing = started.elapsed();
        let payload = respond(&user, spec.mode, round, &shown);
        let started = Instant::now();
        let kept = contender.feedback(&payload)?;
        let wall = (proposing + started.elapsed()).as_nanos() as u64;
        out.step_ns.push(contender.step_cost_ns().unwrap_or(wall));
        seen.extend(shown.into_iter().map(|s| (s.z, s.seed)));
        let (start_u, start_d) = user.start(round);
        let (best_u, best_d) = score(&user, round, &seen);
        out.best.push((best_u - start_u) / start_d);
        out.best_distance.push(best_d);
        out.incumbent
            .push((user.utility(&kept.z, kept.seed, round) - start_u) / start_d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::user::UserKind;
    use super::*;

    fn spec(contender: ContenderSpec) -> SessionSpec {
        SessionSpec {
            d: 5,
            k: 4,
            mode: FeedbackMode::WinnerOnly,
            user: UserSpec::new(UserKind::Isotropic),
            contender,
            index: 3,
            rounds: 6,
        }
    }

    #[test]
    fn every_contender_runs_and_best_is_monotone() {
        for contender in [
            ContenderSpec::preference(),
            super::super::contender::BEST_CLASSIC,
            ContenderSpec::RandomZ,
            ContenderSpec::SeedBestOfN,
            ContenderSpec::OnePlusLambda,
            ContenderSpec::CmaEs,
        ] {
            let a = run_session(&spec(contender)).unwrap_or_else(|e| panic!("{e}"));
            let b = run_session(&spec(contender)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(a.best, b.best);
            assert_eq!(a.incumbent, b.incumbent);
            assert_eq!(a.best.len(), 6);
            assert!(a.best.windows(2).all(|w| w[1] >= w[0] - 1e-12));
            assert!(a.best[0] >= -1e-12, "round 1 shows the prompt");
        }
    }
}
