//! Edge cases: dimension 1, candidate count 1, zero vectors, empty or malformed feedback, seed
//! policies (incl. `fixed-across-rounds`), carried-forward incumbents and calibration, plus the
//! inputs on which the reference crashes (unhashable ranking items, unknown winner, mismatched
//! dimensions), which return typed errors here.

use serde_json::{json, Value};
use stablesteering::steering::composition::{
    calibration_mean, compose_calibration_round, compose_round, CalibrationError, CompositionError,
    RoundCandidate, RoundRecord, SessionView,
};
use stablesteering::steering::config::StrategyConfig;
use stablesteering::steering::feedback::{
    normalize, normalize_for_round, FeedbackMode, NormalizedFeedback,
};
use stablesteering::steering::kinds::{SamplerKind, SeedPolicy, UpdaterKind};
use stablesteering::steering::math::norm;
use stablesteering::steering::oracle::SimulatedUser;
use stablesteering::steering::updaters::{update, UpdateCandidate, UpdateError};

/// Runs `rounds` rounds with a noise-free simulated user and returns the history.
fn run(config: &StrategyConfig, rounds: u32) -> Vec<RoundRecord> {
    let mut z = vec![0.0; config.steering_dimension as usize];
    let target: Vec<f64> = (0..z.len())
        .map(|i| if i == 0 { 0.3 } else { -0.1 })
        .collect();
    let mut user = SimulatedUser::new(target, 0.0, 3);
    let mut history: Vec<RoundRecord> = Vec::new();
    let mut incumbent: Option<String> = None;
    for round in 0..rounds {
        let view = SessionView {
            session_id: "ses_edge",
            config,
            current_z: &z,
            current_round: round,
            incumbent_candidate_id: incumbent.as_deref(),
            rounds: &history,
        };
        let composed = compose_round(&view).unwrap_or_else(|e| panic!("{}: {e}", config.sampler));
        assert_eq!(composed.candidates.len(), config.candidate_count as usize);
        let candidates: Vec<RoundCandidate> = composed
            .candidates
            .into_iter()
            .map(|c| RoundCandidate {
                id: format!("r{round}c{}", c.candidate_index),
                image_ref: c
                    .image_ref
                    .or_else(|| Some(format!("img{round}_{}", c.candidate_index))),
                candidate_index: c.candidate_index,
                z: c.z,
                role: c.role,
                seed: c.seed,
                predicted_score: c.predicted_score,
                predicted_uncertainty: c.predicted_uncertainty,
                generation_params: c.generation_params,
            })
            .collect();
        for c in &candidates {
            assert_eq!(c.z.len(), z.len());
            assert!(c.z.iter().all(|v| v.is_finite()));
            // Ball of radius R, widened to 0.72 in round 1 and to R·scale under stagnation escape.
            let bound =
                0.72f64.max((config.trust_radius * config.stagnation_trust_radius_scale).min(1.0));
            assert!(norm(&c.z) <= bound + 1e-9, "{}", config.sampler);
        }
        let shown: Vec<(String, Vec<f64>)> = candidates
            .iter()
            .map(|c| (c.id.clone(), c.z.clone()))
            .collect();
        let mode = if candidates.len() < 2 {
            FeedbackMode::WinnerOnly
        } else {
            config.feedback_mode
        };
        let payload = user.feedback(mode, &shown);
        let ids: Vec<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
        let normalized =
            normalize_for_round(mode, mode, &payload, &ids).unwrap_or_else(|e| panic!("{e}"));
        let update_candidates: Vec<UpdateCandidate> = candidates
            .iter()
            .map(|c| UpdateCandidate {
                id: c.id.clone(),
                z: c.z.clone(),
                carried_forward: c.generation_params.get("carried_forward")
                    == Some(&Value::Bool(true)),
            })
            .collect();
        let outcome = update(
            config.updater,
            &z,
            config.trust_radius,
            &update_candidates,
            &normalized,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(outcome.next_z.iter().all(|v| v.is_finite()));
        history.push(RoundRecord {
            id: format!("round{round}"),
            round_index: round + 1,
            incumbent_z: std::mem::replace(&mut z, outcome.next_z),
            candidates,
            winner_candidate_id: Some(outcome.winner_candidate_id.clone()),
        });
        incumbent = Some(outcome.winner_candidate_id);
    }
    history
}

#[test]
fn dimension_one_works_for_every_sampler_and_updater() {
    for sampler in SamplerKind::ALL {
        for updater in UpdaterKind::ALL {
            let config = StrategyConfig {
                sampler: *sampler,
                updater: *updater,
                feedback_mode: FeedbackMode::TopK,
                steering_dimension: 1,
                stagnation_patience: 1,
                stagnation_trust_radius_scale: 2.0,
                ..StrategyConfig::default()
            };
            let history = run(&config, 4);
            assert_eq!(history.len(), 4);
        }
    }
}

#[test]
fn candidate_count_one_shows_only_the_pinned_candidate() {
    for sampler in SamplerKind::ALL {
        let config = StrategyConfig {
            sampler: *sampler,
            candidate_count: 1,
            feedback_mode: FeedbackMode::WinnerOnly,
            ..StrategyConfig::default()
        };
        let history = run(&config, 3);
        assert_eq!(history[0].candidates[0].role, "baseline_prompt");
        assert_eq!(history[1].candidates[0].role, "incumbent");
        assert_eq!(
            history[2].candidates[0].image_ref,
            history[0].candidates[0].image_ref
        );
        assert!(history.iter().all(|r| norm(&r.candidates[0].z) == 0.0));
    }
}

#[test]
fn carried_incumbent_keeps_seed_and_image_and_fixed_across_rounds_keeps_slot_seeds() {
    let config = StrategyConfig {
        seed_policy: SeedPolicy::FixedAcrossRounds,
        sampler: SamplerKind::RandomLocal,
        ..StrategyConfig::default()
    };
    let history = run(&config, 4);
    for pair in history.windows(2) {
        let (previous, next) = (&pair[0], &pair[1]);
        let winner = previous.winner().expect("winner");
        let carried = &next.candidates[0];
        assert_eq!(carried.role, "incumbent");
        assert_eq!(carried.seed, winner.seed);
        assert_eq!(carried.image_ref, winner.image_ref);
        assert_eq!(carried.generation_params["seed_preserved"], true);
        for slot in 1..next.candidates.len() {
            assert_eq!(
                next.candidates[slot].seed, previous.candidates[slot].seed,
                "slot {slot}"
            );
            assert_eq!(
                next.candidates[slot].generation_params["seed_group"],
                format!("slot:{slot}")
            );
        }
    }
    // The other policies change the slot seeds every round.
    let config = StrategyConfig {
        sampler: SamplerKind::RandomLocal,
        ..StrategyConfig::default()
    };
    let history = run(&config, 3);
    assert_ne!(history[1].candidates[1].seed, history[2].candidates[1].seed);
    assert_ne!(
        history[0].candidates[0].seed, 0,
        "the baseline's placeholder seed is replaced"
    );
}

#[test]
fn zero_vectors_and_single_candidates_update_cleanly() {
    let candidates: Vec<UpdateCandidate> = (0..3)
        .map(|i| UpdateCandidate {
            id: format!("c{i}"),
            z: vec![0.0; 4],
            carried_forward: i == 0,
        })
        .collect();
    let payloads = [
        (
            FeedbackMode::ScalarRating,
            json!({"ratings": {"c0": 3, "c1": 3, "c2": 3}}),
        ),
        (FeedbackMode::TopK, json!({"ranking": ["c2", "c0"]})),
        (
            FeedbackMode::ApproveReject,
            json!({"approvals": {"c1": true, "c2": false}}),
        ),
        (
            FeedbackMode::Pairwise,
            json!({"winner_candidate_id": "c0", "loser_candidate_id": "c1"}),
        ),
    ];
    for (mode, payload) in payloads {
        let normalized = normalize(mode, &payload).unwrap_or_else(|e| panic!("{e}"));
        for kind in UpdaterKind::ALL {
            let out = update(*kind, &[0.0; 4], 0.55, &candidates, &normalized)
                .unwrap_or_else(|e| panic!("{e}"));
            // Every updater except the scalar-term defect of challenger_mixture stays at the origin.
            if *kind != UpdaterKind::ChallengerMixturePreference {
                assert!(
                    out.next_z.iter().all(|v| *v == 0.0),
                    "{kind} {mode}: {:?}",
                    out.next_z
                );
            }
        }
    }
}

#[test]
fn empty_feedback_is_refused_in_every_mode_with_the_field_named() {
    for mode in FeedbackMode::ALL {
        let err = normalize(*mode, &json!({})).expect_err(mode.as_str());
        assert!(err.field.starts_with("payload."), "{mode}: {}", err.field);
        assert!(err.message.contains("requires"), "{mode}: {}", err.message);
    }
}

#[test]
fn reference_crash_inputs_are_typed_errors_here() {
    // The reference raises TypeError (unhashable) on dict items in a ranking.
    let err = normalize(
        FeedbackMode::TopK,
        &json!({"ranking": [{"a": 1}, {"b": 2}]}),
    )
    .unwrap_err();
    assert_eq!(err.field, "payload.ranking");
    // The reference accepts a list as a winner id and crashes later.
    let err = normalize(
        FeedbackMode::Pairwise,
        &json!({"winner_candidate_id": ["x"], "loser_candidate_id": "b"}),
    )
    .unwrap_err();
    assert_eq!(err.field, "payload.winner_candidate_id");
    // StopIteration / KeyError in the reference updaters.
    let candidates = [UpdateCandidate {
        id: "a".into(),
        z: vec![0.1, 0.1],
        carried_forward: false,
    }];
    let fb = NormalizedFeedback::winner_only("zz");
    for kind in UpdaterKind::ALL {
        let err = update(*kind, &[0.0, 0.0], 0.55, &candidates, &fb).unwrap_err();
        assert_eq!(err, UpdateError::UnknownWinner { id: "zz".into() });
    }
    // The reference silently truncates mismatched dimensions.
    let fb = NormalizedFeedback::winner_only("a");
    let err = update(UpdaterKind::WinnerAverage, &[0.0], 0.55, &candidates, &fb).unwrap_err();
    assert!(matches!(
        err,
        UpdateError::BadCandidateVector {
            expected: 1,
            got: 2,
            ..
        }
    ));
}

#[test]
fn composition_refuses_a_state_of_the_wrong_dimension() {
    let config = StrategyConfig::default();
    let z = [0.0; 3];
    let view = SessionView {
        session_id: "s",
        config: &config,
        current_z: &z,
        current_round: 0,
        incumbent_candidate_id: None,
        rounds: &[],
    };
    assert_eq!(
        compose_round(&view).unwrap_err(),
        CompositionError::DimensionMismatch {
            expected: 5,
            got: 3
        }
    );
}

#[test]
fn calibration_round_and_submission() {
    let config = StrategyConfig::default();
    let round = compose_calibration_round("ses_cal", &config, &[0.0; 5], 0)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(round.candidates.len(), 15);
    assert_eq!(round.round_index, 0);
    for c in &round.candidates {
        assert_eq!(c.role, "style_probe");
        assert_eq!(c.generation_params["calibration"], true);
        assert!((norm(&c.z) - 0.9).abs() < 0.05, "radius 0.9 plus jitter");
    }
    let probes: Vec<RoundCandidate> = round
        .candidates
        .iter()
        .map(|c| RoundCandidate {
            id: format!("p{}", c.candidate_index),
            candidate_index: c.candidate_index,
            z: c.z.clone(),
            role: c.role.clone(),
            seed: c.seed,
            image_ref: None,
            predicted_score: None,
            predicted_uncertainty: None,
            generation_params: c.generation_params.clone(),
        })
        .collect();
    let chosen: Vec<String> = (0..5).map(|i| format!("p{i}")).collect();
    let mean = calibration_mean(&probes, &chosen).unwrap_or_default();
    let expected: f64 = (0..5).map(|i| probes[i].z[2]).sum::<f64>() / 5.0;
    assert!((mean[2] - expected).abs() < 1e-15);
    assert_eq!(
        calibration_mean(&probes, &[]),
        Err(CalibrationError::EmptySelection)
    );
    assert_eq!(
        calibration_mean(&probes, &["p1".into(), "bogus".into()]),
        Err(CalibrationError::UnknownCandidate("bogus".into()))
    );
    assert_eq!(
        calibration_mean(&probes, &["p1".into(), "p1".into()]),
        Err(CalibrationError::Duplicate("p1".into()))
    );
}
