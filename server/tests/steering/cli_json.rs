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

mod next {
    use serde_json::{json, Value};
    use stablesteering::steering::cli_next::next_json;

    fn dist(z: &Value, t: &[f64]) -> f64 {
        z.as_array()
            .unwrap()
            .iter()
            .zip(t)
            .map(|(a, b)| (a.as_f64().unwrap() - b).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    /// Drives `rounds` rounds of a session through `steer next` with a noise-free user in `mode`.
    fn drive(config: Value, t: &[f64], rounds: usize, mode: &str) -> (Vec<Value>, Value) {
        let mut history: Vec<Value> = Vec::new();
        let mut last = Value::Null;
        for _ in 0..rounds {
            let request = json!({"config": config, "seed": 11, "history": history});
            let out: Value =
                serde_json::from_str(&next_json(&request.to_string()).unwrap()).unwrap();
            let candidates = out["candidates"].as_array().unwrap().clone();
            let mut order: Vec<&Value> = candidates.iter().collect();
            order.sort_by(|a, b| dist(&a["z"], t).total_cmp(&dist(&b["z"], t)));
            let payload = match mode {
                "top_k" => {
                    json!({"ranking": order.iter().map(|c| c["id"].clone()).collect::<Vec<_>>()})
                }
                _ => json!({"winner_candidate_id": order[0]["id"]}),
            };
            history.push(json!({
                "candidates": candidates.iter().map(|c| json!({"id": c["id"], "z": c["z"], "role": c["role"]})).collect::<Vec<_>>(),
                "feedback": {"feedback_type": mode, "payload": payload},
            }));
            last = out;
        }
        (history, last)
    }

    #[test]
    fn a_whole_preference_session_steers_toward_the_user() {
        let t = [0.3, -0.25, 0.2];
        let config =
            json!({"steering_dimension": 3, "candidate_count": 5, "feedback_mode": "winner_only"});
        let (history, last) = drive(config.clone(), &t, 8, "winner_only");
        assert_eq!(last["round_index"], 8);
        let start = dist(&json!([0.0, 0.0, 0.0]), &t);
        let request = json!({"config": config, "seed": 11, "history": history});
        let out: Value = serde_json::from_str(&next_json(&request.to_string()).unwrap()).unwrap();
        assert!(
            dist(&out["recommended_z"], &t) < 0.5 * start,
            "{}",
            out["recommended_z"]
        );
        assert_eq!(out["candidates"][0]["role"], "incumbent");
        // Deterministic: the same request gives the same round.
        assert_eq!(next_json(&request.to_string()).unwrap(), out.to_string());
    }

    #[test]
    fn classic_configs_run_the_reference_strategy() {
        let config = json!({"strategy": "classic", "steering_dimension": 3, "candidate_count": 4, "feedback_mode": "top_k"});
        let (_, last) = drive(config, &[0.2, 0.2, 0.0], 3, "top_k");
        let roles: Vec<&str> = last["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles[0], "incumbent");
        assert!(
            roles[1..].iter().all(|r| !r.is_empty() && *r != "thompson"),
            "{roles:?}"
        );
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases = [
            (json!({"seed": 1, "history": [], "extra": 1}), "request"),
            (
                json!({"config": {"steering_dimension": 40}, "seed": 1}),
                "config.steering_dimension",
            ),
            (
                json!({"config": {"steering_dimension": 2}, "seed": 1, "history": [
                {"candidates": [{"id": "a", "z": [0.0, 0.0]}, {"id": "a", "z": [0.1, 0.0]}],
                 "feedback": {"feedback_type": "winner_only", "payload": {"winner_candidate_id": "a"}}}]}),
                "history[0].candidates[1].id",
            ),
            (
                json!({"config": {"steering_dimension": 2, "feedback_mode": "winner_only"}, "seed": 1, "history": [
                {"candidates": [{"id": "a", "z": [0.0, 0.0]}, {"id": "b", "z": [0.1, 0.0]}],
                 "feedback": {"feedback_type": "winner_only", "payload": {"winner_candidate_id": "zz"}}}]}),
                "history[0].feedback.payload.winner_candidate_id",
            ),
            (
                json!({"config": {"steering_dimension": 2, "feedback_mode": "top_k"}, "seed": 1, "history": [
                {"candidates": [{"id": "a", "z": [0.0, 0.0]}, {"id": "b", "z": [0.1, 0.0]}],
                 "feedback": {"feedback_type": "winner_only", "payload": {"winner_candidate_id": "a"}}}]}),
                "history[0].feedback.feedback_type",
            ),
        ];
        for (request, field) in cases {
            let err = next_json(&request.to_string()).expect_err(&request.to_string());
            assert_eq!(err.field, field, "{request}: {err}");
        }
        assert!(next_json("not json").is_err());
    }
}
