//! What the v2 suite runs: the options, the four suites (main grid, user types, seed effect,
//! ablations) and the deduplicated list of configurations ("groups": d × K × mode × user) with
//! the strategies each one compares. A group shared by two suites runs once.
//!
//! Budgets B ∈ {5, 10, 15} are read as prefixes of 15-round sessions: no strategy knows its
//! budget, so round 10 of a 15-round session is exactly a 10-round session.

use serde::{Deserialize, Serialize};

use super::contender::{ContenderSpec, PreferenceVariant, BEST_CLASSIC, REFERENCE_DEFAULT};
use super::user::{UserKind, UserSpec};
use crate::steering::kinds::{Acquisition, FeedbackMode, SeedPolicy};

/// Settings of a v2 run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct V2Options {
    /// Sessions per configuration (paired across strategies).
    pub sessions: usize,
    /// Rounds per session (the largest budget).
    pub rounds: u32,
    /// Budgets reported (prefixes of the sessions).
    pub budgets: Vec<u32>,
    /// Steering dimensions of the main grid and the user suite.
    pub dimensions: Vec<usize>,
    /// Steering dimensions of the seed suite and the ablations.
    pub seed_dimensions: Vec<usize>,
    /// Images per round.
    pub candidate_counts: Vec<usize>,
    /// Feedback modes of the main grid.
    pub modes: Vec<FeedbackMode>,
    /// Feedback modes of the user, seed and ablation suites.
    pub suite_modes: Vec<FeedbackMode>,
    /// User types of the user suite (default noise).
    pub user_kinds: Vec<UserKind>,
    /// Extra temperatures of the isotropic user in the user suite.
    pub temperatures: Vec<f64>,
    /// σ_s of the seed suite.
    pub seed_sigmas: Vec<f64>,
    /// Preference variants of the ablation suite.
    pub ablations: Vec<PreferenceVariant>,
    /// Bootstrap resamples per interval.
    pub resamples: usize,
    /// Worker threads.
    pub threads: usize,
    /// Sessions per mode of the timing pass (d = 16, K = 6 unless quick).
    pub timing_sessions: usize,
    /// Dimension of the timing pass.
    pub timing_dimension: usize,
}

/// The ablation variants (everything else as the product default).
pub fn ablation_variants() -> Vec<PreferenceVariant> {
    let base = PreferenceVariant::default();
    vec![
        PreferenceVariant {
            memory: Some(1),
            ..base
        },
        PreferenceVariant {
            acquisition: Acquisition::Thompson,
            ..base
        },
        PreferenceVariant {
            acquisition: Acquisition::PosteriorMean,
            ..base
        },
        PreferenceVariant {
            acquisition: Acquisition::Random,
            ..base
        },
        PreferenceVariant {
            trust_region: false,
            ..base
        },
        PreferenceVariant {
            prior_width: 0.2,
            ..base
        },
        PreferenceVariant {
            prior_width: 0.8,
            ..base
        },
    ]
}

impl Default for V2Options {
    /// The full suite: 200 sessions, B ≤ 15, d ∈ {3, 5, 8, 12, 16}, K ∈ {4, 6}.
    fn default() -> Self {
        V2Options {
            sessions: 200,
            rounds: 15,
            budgets: vec![5, 10, 15],
            dimensions: vec![3, 5, 8, 12, 16],
            seed_dimensions: vec![5, 8, 16],
            candidate_counts: vec![4, 6],
            modes: FeedbackMode::ALL.to_vec(),
            suite_modes: vec![FeedbackMode::WinnerOnly],
            user_kinds: UserKind::ALL.to_vec(),
            temperatures: vec![0.02, 0.1],
            seed_sigmas: vec![0.0, 0.05, 0.1, 0.2],
            ablations: ablation_variants(),
            resamples: super::stats::RESAMPLES,
            threads: 2,
            timing_sessions: 20,
            timing_dimension: 16,
        }
    }
}

impl V2Options {
    /// A small grid for tests: d = 5, K = 4, two modes, two user types, σ_s = 0.1, one
    /// ablation, 12 sessions of 10 rounds.
    pub fn quick() -> Self {
        V2Options {
            sessions: 12,
            rounds: 10,
            budgets: vec![5, 10],
            dimensions: vec![5],
            seed_dimensions: vec![5],
            candidate_counts: vec![4],
            modes: vec![FeedbackMode::WinnerOnly, FeedbackMode::TopK],
            user_kinds: vec![UserKind::Isotropic, UserKind::Anisotropic],
            temperatures: vec![0.1],
            seed_sigmas: vec![0.1],
            ablations: vec![PreferenceVariant {
                memory: Some(1),
                ..PreferenceVariant::default()
            }],
            resamples: 1000,
            timing_sessions: 1,
            timing_dimension: 5,
            ..V2Options::default()
        }
    }
}

/// Which part of the report a configuration belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suite {
    /// Isotropic user, every mode.
    Main,
    /// User types and temperatures.
    Users,
    /// Seed effect σ_s.
    Seeds,
    /// Preference variants.
    Ablations,
}

/// One configuration: sessions 0..n of every strategy meet the same users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupKey {
    /// Steering dimension.
    pub d: usize,
    /// Images per round.
    pub k: usize,
    /// Feedback mode.
    pub mode: FeedbackMode,
    /// The user type.
    pub user: UserSpec,
}

/// A configuration with the strategies it compares and the suites that show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The configuration.
    pub key: GroupKey,
    /// Strategies, in report order.
    pub contenders: Vec<ContenderSpec>,
    /// Suites that show it.
    pub suites: Vec<Suite>,
}

/// The strategies of the main grid.
pub fn main_contenders() -> Vec<ContenderSpec> {
    vec![
        ContenderSpec::preference(),
        ContenderSpec::RandomZ,
        ContenderSpec::OnePlusLambda,
        ContenderSpec::CmaEs,
        REFERENCE_DEFAULT,
        BEST_CLASSIC,
    ]
}

fn seed_contenders() -> Vec<ContenderSpec> {
    let base = PreferenceVariant::default();
    vec![
        ContenderSpec::preference(),
        ContenderSpec::Preference(PreferenceVariant {
            seed_casting: true,
            ..base
        }),
        ContenderSpec::Preference(PreferenceVariant {
            seed_policy: SeedPolicy::FixedPerCandidate,
            ..base
        }),
        ContenderSpec::SeedBestOfN,
        ContenderSpec::RandomZ,
        BEST_CLASSIC,
    ]
}

fn add(groups: &mut Vec<Group>, key: GroupKey, contenders: &[ContenderSpec], suite: Suite) {
    let index = match groups.iter().position(|g| g.key == key) {
        Some(i) => i,
        None => {
            groups.push(Group {
                key,
                contenders: Vec::new(),
                suites: Vec::new(),
            });
            groups.len() - 1
        }
    };
    let group = &mut groups[index];
    for c in contenders {
        if !group.contenders.contains(c) {
            group.contenders.push(*c);
        }
    }
    if !group.suites.contains(&suite) {
        group.suites.push(suite);
    }
}

fn grid(
    groups: &mut Vec<Group>,
    o: &V2Options,
    dims: &[usize],
    modes: &[FeedbackMode],
    users: &[UserSpec],
    contenders: &[ContenderSpec],
    suite: Suite,
) {
    for &d in dims {
        for user in users {
            for &k in &o.candidate_counts {
                for &mode in modes {
                    let key = GroupKey {
                        d,
                        k,
                        mode,
                        user: *user,
                    };
                    add(groups, key, contenders, suite);
                }
            }
        }
    }
}

/// Every configuration of a run, deduplicated.
pub fn plan(o: &V2Options) -> Vec<Group> {
    let mut groups = Vec::new();
    let iso = UserSpec::new(UserKind::Isotropic);
    grid(
        &mut groups,
        o,
        &o.dimensions,
        &o.modes,
        &[iso],
        &main_contenders(),
        Suite::Main,
    );
    let mut users: Vec<UserSpec> = o.user_kinds.iter().map(|k| UserSpec::new(*k)).collect();
    users.extend(o.temperatures.iter().map(|t| UserSpec {
        temperature: *t,
        ..iso
    }));
    let mut user_contenders = main_contenders();
    user_contenders.retain(|c| *c != REFERENCE_DEFAULT);
    grid(
        &mut groups,
        o,
        &o.dimensions,
        &o.suite_modes,
        &users,
        &user_contenders,
        Suite::Users,
    );
    let seeded: Vec<UserSpec> = o
        .seed_sigmas
        .iter()
        .map(|s| UserSpec {
            seed_sigma: *s,
            ..iso
        })
        .collect();
    for user in &seeded {
        let mut contenders = seed_contenders();
        if user.seed_sigma == 0.0 {
            // Without a seed effect fixed-per-candidate seeds change nothing: it is `preference`.
            contenders.retain(|c| c.label() != "pref seeds=fixed-per-candidate");
        }
        grid(
            &mut groups,
            o,
            &o.seed_dimensions,
            &o.suite_modes,
            std::slice::from_ref(user),
            &contenders,
            Suite::Seeds,
        );
    }
    let mut ablation = vec![ContenderSpec::preference()];
    ablation.extend(o.ablations.iter().map(|v| ContenderSpec::Preference(*v)));
    grid(
        &mut groups,
        o,
        &o.dimensions,
        &o.suite_modes,
        &[iso],
        &ablation,
        Suite::Ablations,
    );
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_configurations_run_once() {
        let o = V2Options::default();
        let groups = plan(&o);
        let iso_winner: Vec<&Group> = groups
            .iter()
            .filter(|g| {
                g.key.d == 5
                    && g.key.k == 4
                    && g.key.mode == FeedbackMode::WinnerOnly
                    && g.key.user == UserSpec::new(UserKind::Isotropic)
            })
            .collect();
        assert_eq!(iso_winner.len(), 1);
        let g = iso_winner[0];
        assert_eq!(
            g.suites,
            vec![Suite::Main, Suite::Users, Suite::Seeds, Suite::Ablations]
        );
        let count = |p: fn(&ContenderSpec) -> bool| g.contenders.iter().filter(|c| p(c)).count();
        assert_eq!(count(|c| *c == ContenderSpec::preference()), 1);
        assert_eq!(g.contenders.len(), 6 + 2 + 7);
    }
}
