//! The `steer` CLI functions against the reference goldens: `propose_json` returns the sampler's
//! raw proposals, `update_json` the updater's result, `seed_token_cli` the documented tokens.

use crate::common::{assert_close, floats, golden};
use serde_json::{json, Value};
use stablesteering::steering::cli::{propose_json, seed_token_cli, update_json};

#[test]
fn propose_json_matches_sampler_goldens() {
    let data = golden("samplers");
    for case in data["cases"].as_array().expect("cases").iter().step_by(7) {
        let request = json!({
            "sampler": case["sampler"], "current_z": case["current_z"], "round_index": case["current_round"],
            "candidate_count": case["candidate_count"], "trust_radius": case["trust_radius"], "seed": case["seed"],
        });
        let out: Value = serde_json::from_str(
            &propose_json(&request.to_string()).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_default();
        let got = out["candidates"].as_array().expect("candidates");
        let want = case["proposals"].as_array().expect("proposals");
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g["role"], w["role"]);
            assert_close(&floats(&g["z"]), &floats(&w["z"]), 1e-9, "propose_json");
        }
    }
}

#[test]
fn update_json_matches_updater_goldens() {
    let data = golden("updaters");
    let mut checked = 0;
    for case in data["cases"].as_array().expect("cases").iter().step_by(5) {
        for (updater, want) in case["results"].as_object().expect("results") {
            let request = json!({
                "updater": updater, "current_z": case["current_z"], "trust_radius": case["trust_radius"],
                "candidates": case["candidates"], "feedback": case["feedback"],
            });
            let out: Value = serde_json::from_str(
                &update_json(&request.to_string()).unwrap_or_else(|e| panic!("{e}")),
            )
            .unwrap_or_default();
            assert_close(
                &floats(&out["next_z"]),
                &floats(&want["next_z"]),
                1e-6,
                updater,
            );
            assert_eq!(
                out["winner_candidate_id"],
                want["summary"]["winner_candidate_id"]
            );
            assert_eq!(out["summary"]["method"], want["summary"]["method"]);
            checked += 1;
        }
    }
    assert!(checked >= 100);
}

#[test]
fn seed_token_cli_matches_documented_values() {
    let parts = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        seed_token_cli(&parts(&["ses_test", "1", "sampler"])),
        1301792348
    );
    assert_eq!(
        seed_token_cli(&parts(&["ses_test", "1", "candidate", "0"])),
        677343349
    );
}
