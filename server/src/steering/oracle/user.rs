//! The simulated user: a hidden target `t` in z-space, utility `−‖z − t‖`, choices drawn with
//! Gumbel noise at temperature T (so every pairwise choice follows Bradley–Terry
//! `σ((u_i − u_j)/T)` and the full order is a Plackett–Luce sample), and a raw feedback payload
//! synthesized in any of the six modes (then normalized by the server's own code).

use serde_json::{json, Map, Value};

use crate::steering::kinds::FeedbackMode;
use crate::steering::math::norm;
use crate::steering::rng::PyRandom;

/// A synthetic user with a hidden target.
#[derive(Debug, Clone)]
pub struct SimulatedUser {
    /// Hidden target in z-space.
    pub target: Vec<f64>,
    /// Choice temperature (0 = noise-free argmax).
    pub temperature: f64,
    rng: PyRandom,
}

impl SimulatedUser {
    /// A user with `target`, choice `temperature` and a noise stream seeded by `seed`.
    pub fn new(target: Vec<f64>, temperature: f64, seed: u128) -> Self {
        SimulatedUser {
            target,
            temperature,
            rng: PyRandom::new(seed),
        }
    }

    /// `‖z − t‖`.
    pub fn distance(&self, z: &[f64]) -> f64 {
        let diff: Vec<f64> = z.iter().zip(&self.target).map(|(a, b)| a - b).collect();
        norm(&diff)
    }

    fn gumbel(&mut self) -> f64 {
        let u = self.rng.random().max(f64::MIN_POSITIVE);
        -(-u.ln()).ln()
    }

    /// Perceived utilities `u_j + T·G_j` and the order they induce (best first, ties by slot).
    fn perceive(&mut self, candidates: &[(String, Vec<f64>)]) -> (Vec<f64>, Vec<usize>) {
        let perceived: Vec<f64> = candidates
            .iter()
            .map(|(_, z)| {
                let utility = -self.distance(z);
                if self.temperature > 0.0 {
                    utility + self.temperature * self.gumbel()
                } else {
                    utility
                }
            })
            .collect();
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|a, b| perceived[*b].total_cmp(&perceived[*a]).then(a.cmp(b)));
        (perceived, order)
    }

    /// A raw payload of `mode` for the round's `(id, z)` candidates (pairwise and top_k need two;
    /// an empty round gives an empty payload, which normalization refuses).
    pub fn feedback(&mut self, mode: FeedbackMode, candidates: &[(String, Vec<f64>)]) -> Value {
        if candidates.is_empty() {
            return json!({});
        }
        let (perceived, order) = self.perceive(candidates);
        let id = |slot: usize| candidates[slot].0.clone();
        let n = candidates.len();
        let ratings = || {
            let max = perceived.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let min = perceived.iter().copied().fold(f64::INFINITY, f64::min);
            let map: Map<String, Value> = perceived
                .iter()
                .enumerate()
                .map(|(slot, v)| {
                    let rating = if max > min {
                        1 + (4.0 * (v - min) / (max - min)).round() as i64
                    } else {
                        3
                    };
                    (id(slot), Value::from(rating))
                })
                .collect();
            Value::Object(map)
        };
        let half = (n / 2).max(1);
        match mode {
            FeedbackMode::WinnerOnly => json!({"winner_candidate_id": id(order[0])}),
            FeedbackMode::Pairwise => json!({
                "winner_candidate_id": id(order[0]),
                "loser_candidate_id": id(order[n - 1]),
            }),
            FeedbackMode::TopK => {
                json!({"ranking": order.iter().map(|s| id(*s)).collect::<Vec<_>>()})
            }
            FeedbackMode::ScalarRating => json!({"ratings": ratings()}),
            FeedbackMode::ApproveReject => {
                let approvals: Map<String, Value> = (0..n)
                    .map(|slot| (id(slot), Value::from(order[..half].contains(&slot))))
                    .collect();
                json!({"approvals": approvals, "winner_candidate_id": id(order[0])})
            }
            FeedbackMode::CritiqueRating => {
                let tags: Map<String, Value> = order
                    .iter()
                    .enumerate()
                    .filter_map(|(rank, slot)| {
                        let tag = if rank < n / 2 {
                            "good_composition"
                        } else if rank >= n - n / 2 {
                            "wrong_composition"
                        } else {
                            return None;
                        };
                        Some((id(*slot), json!([tag])))
                    })
                    .collect();
                json!({"ratings": ratings(), "critique_tags": tags})
            }
        }
    }
}

/// A target of norm in `[r_min, r_max]` in a uniformly random direction (Box–Muller normals).
pub fn draw_target(dimension: usize, radius: (f64, f64), seed: u128) -> Vec<f64> {
    let mut rng = PyRandom::new(seed);
    let mut direction: Vec<f64> = (0..dimension)
        .map(|_| {
            let u1 = rng.random().max(f64::MIN_POSITIVE);
            let u2 = rng.random();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect();
    let length = norm(&direction);
    if length == 0.0 {
        direction = vec![0.0; dimension];
        if let Some(first) = direction.first_mut() {
            *first = 1.0;
        }
    } else {
        direction.iter_mut().for_each(|v| *v /= length);
    }
    let r = rng.uniform(radius.0, radius.1);
    direction.into_iter().map(|v| v * r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steering::feedback::normalize;

    fn round() -> Vec<(String, Vec<f64>)> {
        vec![
            ("far".into(), vec![1.0, 0.0]),
            ("near".into(), vec![0.1, 0.1]),
            ("mid".into(), vec![0.5, 0.0]),
            ("other".into(), vec![-0.5, 0.0]),
        ]
    }

    #[test]
    fn noise_free_user_picks_the_nearest_in_every_mode() {
        for mode in FeedbackMode::ALL {
            let mut user = SimulatedUser::new(vec![0.1, 0.1], 0.0, 1);
            let payload = user.feedback(*mode, &round());
            let normalized = normalize(*mode, &payload).unwrap_or_else(|e| panic!("{mode}: {e}"));
            assert_eq!(normalized.winner_candidate_id, "near", "{mode}");
        }
    }

    #[test]
    fn empty_round_gives_an_empty_payload() {
        let mut user = SimulatedUser::new(vec![0.0], 0.0, 1);
        assert_eq!(
            user.feedback(FeedbackMode::TopK, &[]),
            serde_json::json!({})
        );
    }

    #[test]
    fn targets_have_the_requested_norm() {
        for seed in 0..20 {
            let t = draw_target(16, (0.2, 0.5), seed);
            let r = norm(&t);
            assert!((0.2..=0.5).contains(&r), "{r}");
        }
    }

    #[test]
    fn hot_user_sometimes_errs() {
        let mut wrong = 0;
        let mut user = SimulatedUser::new(vec![0.1, 0.1], 1.0, 7);
        for _ in 0..200 {
            let payload = user.feedback(FeedbackMode::WinnerOnly, &round());
            if payload["winner_candidate_id"] != "near" {
                wrong += 1;
            }
        }
        assert!(wrong > 20 && wrong < 190, "{wrong}");
    }
}
