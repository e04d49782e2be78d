//! How the v2 user answers a round, in any of the six feedback modes.
//!
//! Perceived value of slot j: `v_j = U_r(z_j, seed_j) + b·[j is the pinned slot 0] + T·G_j`
//! with `G_j` standard Gumbel (so choices follow Bradley–Terry / Plackett–Luce at temperature
//! T) and a status-quo bias `b` (+0.01). With probability 5 % the round is a lapse: a uniformly
//! random order, random stars and random approvals. Stars and approvals use ABSOLUTE thresholds
//! on `c_j = (v_j − U_r(start)) / dist_r(start)`, the perceived fraction of the starting
//! distance closed (never rescaled per round): stars 1 below −0.2, 2 below 0.1, 3 below 0.4,
//! 4 below 0.7, else 5; approve when `c_j ≥ 0.25` (the chosen one is always approved).
//! Critique tags: `good_composition` at ≥ 4 stars, `wrong_composition` at ≤ 2.
//!
//! The noise of round r comes from its own stream `seed_token(key, r, "v2-noise")` and always
//! consumes the same draws, so every strategy sees the same noise in the same round.

use serde_json::{json, Map, Value};

use super::user::V2User;
use crate::steering::kinds::FeedbackMode;
use crate::steering::rng::PyRandom;
use crate::steering::seeds::seed_token;

/// Star thresholds on the perceived closure (a value below `STAR_CUTS[k]` gets `k + 1` stars).
pub const STAR_CUTS: [f64; 4] = [-0.2, 0.1, 0.4, 0.7];
/// Perceived closure from which a candidate is approved.
pub const APPROVE_CUT: f64 = 0.25;

/// A candidate as the user sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// Candidate id (unique in the session).
    pub id: String,
    /// Steering vector.
    pub z: Vec<f64>,
    /// Render seed.
    pub seed: u64,
    /// The pinned slot (incumbent or prompt), which gets the status-quo bonus.
    pub pinned: bool,
}

/// One round's noise, drawn in a fixed order whatever is used.
struct RoundNoise {
    lapse: bool,
    gumbel: Vec<f64>,
    shuffle: Vec<f64>,
    stars: Vec<f64>,
    approve: Vec<f64>,
}

impl RoundNoise {
    fn draw(user: &V2User, round: u32, n: usize) -> Self {
        let mut rng = PyRandom::new(u128::from(seed_token(&[&user.key, &round, &"v2-noise"])));
        let lapse = rng.random() < user.spec.lapse;
        let take = |rng: &mut PyRandom| (0..n).map(|_| rng.random()).collect::<Vec<f64>>();
        let uniforms = take(&mut rng);
        let gumbel = uniforms
            .into_iter()
            .map(|u| -(-u.max(f64::MIN_POSITIVE).ln()).ln())
            .collect();
        RoundNoise {
            lapse,
            gumbel,
            shuffle: take(&mut rng),
            stars: take(&mut rng),
            approve: take(&mut rng),
        }
    }
}

fn star_of(closure: f64) -> i64 {
    1 + STAR_CUTS.iter().filter(|cut| closure >= **cut).count() as i64
}

/// What the user perceives: the order (best first) and each slot's stars and approval.
struct Perception {
    order: Vec<usize>,
    stars: Vec<i64>,
    approved: Vec<bool>,
}

fn perceive(user: &V2User, round: u32, shown: &[Shown]) -> Perception {
    let n = shown.len();
    let noise = RoundNoise::draw(user, round, n);
    if noise.lapse {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = ((noise.shuffle[i] * (i + 1) as f64) as usize).min(i);
            order.swap(i, j);
        }
        let stars = noise
            .stars
            .iter()
            .map(|u| 1 + (u * 5.0).min(4.0) as i64)
            .collect();
        let mut approved: Vec<bool> = noise.approve.iter().map(|u| *u < 0.5).collect();
        if let Some(first) = order.first() {
            approved[*first] = true;
        }
        return Perception {
            order,
            stars,
            approved,
        };
    }
    let (start_u, start_d) = user.start(round);
    let t = user.spec.temperature;
    let perceived: Vec<f64> = shown
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let bias = if c.pinned { user.spec.status_quo } else { 0.0 };
            user.utility(&c.z, c.seed, round) + bias + t * noise.gumbel[j]
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| perceived[*b].total_cmp(&perceived[*a]).then(a.cmp(b)));
    let closure: Vec<f64> = perceived.iter().map(|v| (v - start_u) / start_d).collect();
    let mut approved: Vec<bool> = closure.iter().map(|c| *c >= APPROVE_CUT).collect();
    if let Some(first) = order.first() {
        approved[*first] = true;
    }
    Perception {
        order,
        stars: closure.iter().map(|c| star_of(*c)).collect(),
        approved,
    }
}

/// The raw payload of `mode` for round `round` (1-based); an empty round gives `{}`.
pub fn respond(user: &V2User, mode: FeedbackMode, round: u32, shown: &[Shown]) -> Value {
    if shown.is_empty() {
        return json!({});
    }
    let p = perceive(user, round, shown);
    let id = |slot: usize| shown[slot].id.clone();
    let n = shown.len();
    let ratings =
        || -> Map<String, Value> { (0..n).map(|s| (id(s), Value::from(p.stars[s]))).collect() };
    match mode {
        FeedbackMode::WinnerOnly => json!({"winner_candidate_id": id(p.order[0])}),
        FeedbackMode::Pairwise => json!({
            "winner_candidate_id": id(p.order[0]),
            "loser_candidate_id": id(p.order[n - 1]),
        }),
        FeedbackMode::TopK => {
            json!({"ranking": p.order.iter().map(|s| id(*s)).collect::<Vec<_>>()})
        }
        FeedbackMode::ScalarRating => json!({"ratings": ratings()}),
        FeedbackMode::ApproveReject => {
            let approvals: Map<String, Value> = (0..n)
                .map(|s| (id(s), Value::from(p.approved[s])))
                .collect();
            json!({"approvals": approvals, "winner_candidate_id": id(p.order[0])})
        }
        FeedbackMode::CritiqueRating => {
            let tags: Map<String, Value> = (0..n)
                .filter_map(|s| match p.stars[s] {
                    4.. => Some((id(s), json!(["good_composition"]))),
                    ..=2 => Some((id(s), json!(["wrong_composition"]))),
                    _ => None,
                })
                .collect();
            json!({"ratings": ratings(), "critique_tags": tags})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::user::{UserKind, UserSpec};
    use super::*;
    use crate::steering::feedback::normalize;

    fn round(user: &V2User) -> Vec<Shown> {
        let t = user.target(1).to_vec();
        let near: Vec<f64> = t.iter().map(|v| v * 0.9).collect();
        let far: Vec<f64> = t.iter().map(|v| -v).collect();
        [vec![0.0; t.len()], near, far]
            .into_iter()
            .enumerate()
            .map(|(j, z)| Shown {
                id: format!("c{j}"),
                z,
                seed: 1,
                pinned: j == 0,
            })
            .collect()
    }

    #[test]
    fn every_mode_normalizes_and_a_calm_user_picks_the_nearest() {
        let spec = UserSpec {
            temperature: 0.0,
            lapse: 0.0,
            ..UserSpec::new(UserKind::Isotropic)
        };
        let user = V2User::new(spec, 5, 9, 10, 1);
        for mode in FeedbackMode::ALL {
            let payload = respond(&user, *mode, 1, &round(&user));
            let n = normalize(*mode, &payload).unwrap_or_else(|e| panic!("{mode}: {e}"));
            assert_eq!(n.winner_candidate_id, "c1", "{mode}");
        }
        let payload = respond(&user, FeedbackMode::ScalarRating, 1, &round(&user));
        assert_eq!(payload["ratings"]["c0"], 2, "the start itself closes 0");
        assert_eq!(payload["ratings"]["c1"], 5);
        assert_eq!(payload["ratings"]["c2"], 1);
    }

    #[test]
    fn the_same_round_gets_the_same_noise() {
        let user = V2User::new(UserSpec::new(UserKind::Isotropic), 5, 9, 10, 1);
        let a = respond(&user, FeedbackMode::TopK, 3, &round(&user));
        let b = respond(&user, FeedbackMode::TopK, 3, &round(&user));
        assert_eq!(a, b);
    }

    #[test]
    fn lapses_happen_about_five_percent_of_rounds() {
        let user = V2User::new(UserSpec::new(UserKind::Isotropic), 5, 9, 10, 1);
        let lapses = (1..=2000)
            .filter(|r| RoundNoise::draw(&user, *r, 3).lapse)
            .count();
        assert!((60..=140).contains(&lapses), "{lapses}");
    }
}
