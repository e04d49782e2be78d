//! The `preference` strategy over HTTP on the tiny model: the semantic basis recorded at
//! creation, shared seeds and "new seed", the belief in session reads, and the model state as a
//! pure function of the log — recomputing it after the fact, at any round (time travel) and in
//! a fork gives the numbers recorded when each round's feedback arrived.

mod http_common;

use axum::http::StatusCode;
use http_common::TestServer;
use serde_json::{json, Value};
use stablesteering::services::steering_inputs::steering_inputs;
use stablesteering::steering::preference::{update, SessionState, Tuning};
use stablesteering::store::AsOf;
use uuid::Uuid;

fn yaml(mode: &str) -> String {
    format!(
        "feedback_mode: {mode}\nimage_size: 64x64\nnum_inference_steps: 2\ncandidate_count: 4\nsteering_dimension: 3\n"
    )
}

async fn create(server: &TestServer, mode: &str) -> String {
    let (status, body) = server
        .send(
            "POST",
            "/setup/session",
            Some(json!({"experiment_name": "pref", "prompt": "a lighthouse at dusk", "config_yaml": yaml(mode)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["session"]["id"].as_str().unwrap().to_string()
}

/// Generates a round and gives winner-only feedback on slot `pick`; returns the round.
async fn round(server: &TestServer, sid: &str, pick: usize) -> Value {
    let (status, round) = server
        .send("POST", &format!("/sessions/{sid}/rounds/next"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{round}");
    let winner = round["candidate_metadata"][pick]["id"].clone();
    let rid = round["round_id"].as_str().unwrap();
    let (status, fb) = server
        .send(
            "POST",
            &format!("/rounds/{rid}/feedback"),
            Some(
                json!({"feedback_type": "winner_only", "payload": {"winner_candidate_id": winner}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{fb}");
    assert_eq!(fb["update_summary"]["method"], "ideal_point_laplace");
    round
}

/// The recorded update summary of every round, by round index.
async fn summaries(server: &TestServer, sid: &str) -> Vec<Value> {
    let (_, state) = server
        .send("GET", &format!("/api/sessions/{sid}"), None)
        .await;
    state["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["update_summary"].clone())
        .collect()
}

/// The summary the model gives now for `session` (recomputed from the log).
fn recomputed(server: &TestServer, session: Uuid) -> serde_json::Map<String, Value> {
    let inputs = steering_inputs(&server.state.store, session).unwrap();
    let state = SessionState::compute(
        &inputs.config,
        &inputs.rounds,
        &inputs.tags,
        Tuning::default(),
    );
    let winner = inputs.rounds.last().unwrap().winner().unwrap().id.clone();
    let next_z = state.incumbent.as_ref().unwrap().candidate.z.clone();
    update::summary(&inputs.config, &state, &winner, &next_z)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preference_session_records_its_basis_shares_seeds_and_shows_its_belief() {
    let server = TestServer::start().await;
    let sid = create(&server, "winner_only").await;
    let (_, state) = server
        .send("GET", &format!("/api/sessions/{sid}"), None)
        .await;
    let belief = &state["belief"];
    assert_eq!(belief["basis"], "semantic", "{belief}");
    let labels: Vec<&str> = belief["axes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), 3);
    assert!(
        labels
            .iter()
            .all(|l| !l.is_empty() && !l.starts_with("axis")),
        "{labels:?}"
    );
    assert_eq!(belief["rounds_used"], 0);

    let r1 = round(&server, &sid, 2).await;
    let seeds: Vec<&Value> = r1["candidate_metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["seed"])
        .collect();
    assert!(
        seeds.iter().all(|s| *s == seeds[0]),
        "one shared seed: {seeds:?}"
    );
    let (_, state) = server
        .send("GET", &format!("/api/sessions/{sid}"), None)
        .await;
    let after1 = state["belief"].clone();
    assert_eq!(after1["rounds_used"], 1);
    assert_eq!(
        after1["recommended_candidate_id"],
        r1["candidate_metadata"][2]["id"]
    );
    assert_ne!(after1["axes"], belief["axes"], "the belief moved");

    // Round 2 pins the model's pick with its image; predicted scores come from the posterior.
    let r2 = round(&server, &sid, 1).await;
    let pinned = &r2["candidate_metadata"][0];
    assert_eq!(pinned["sampler_role"], "incumbent");
    assert_eq!(
        pinned["artifact_hash"],
        r1["candidate_metadata"][2]["artifact_hash"]
    );
    assert!(pinned["predicted_uncertainty"].as_f64().unwrap() > 0.0);

    // New seed: the next round renders every candidate, the incumbent too, with the new seed.
    let (status, renewed) = server
        .send("POST", &format!("/api/sessions/{sid}/seed"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_eq!(renewed["epoch"], 1);
    let (status, again) = server
        .send("POST", &format!("/api/sessions/{sid}/seed"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again, renewed,
        "asking again before the next round answers the pending seed"
    );
    let r3 = round(&server, &sid, 0).await;
    for c in r3["candidate_metadata"].as_array().unwrap() {
        assert_eq!(c["seed"], renewed["seed"], "{c}");
    }
    assert_ne!(
        r3["candidate_metadata"][0]["artifact_hash"],
        pinned["artifact_hash"]
    );
    let (_, state) = server
        .send("GET", &format!("/api/sessions/{sid}"), None)
        .await;
    assert_eq!(state["belief"]["seed_renewals"], 1);
    assert_eq!(state["belief"]["history"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_time_travel_and_forks_recompute_the_recorded_numbers() {
    let server = TestServer::start().await;
    let sid = create(&server, "winner_only").await;
    for pick in [3, 1, 2] {
        round(&server, &sid, pick).await;
    }
    let recorded = summaries(&server, &sid).await;
    let session: Uuid = sid.parse().unwrap();
    // Replay: the model recomputed from the whole log gives the last round's summary.
    assert_eq!(Value::Object(recomputed(&server, session)), recorded[2]);

    // Time travel: the belief read at round 2 is round 2's.
    let (_, at2) = server
        .send("GET", &format!("/api/sessions/{sid}/rounds/2"), None)
        .await;
    let axes_means: Vec<f64> = at2["belief"]["axes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["mean"].as_f64().unwrap())
        .collect();
    let recorded_means: Vec<f64> =
        serde_json::from_value(recorded[1]["posterior"]["mean"].clone()).unwrap();
    assert_eq!(axes_means, recorded_means);
    let past = server
        .state
        .store
        .session_at(session, AsOf::EndOfRound(2))
        .unwrap();
    assert_eq!(past.rounds.len(), 2);

    // Fork at round 2: the branch's model starts exactly where the parent was at round 2.
    let (status, child) = server
        .send(
            "POST",
            &format!("/api/sessions/{sid}/fork"),
            Some(json!({"round": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    let child_id: Uuid = child["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(Value::Object(recomputed(&server, child_id)), recorded[1]);
    let (_, child_state) = server
        .send("GET", &format!("/api/sessions/{child_id}"), None)
        .await;
    assert_eq!(
        child_state["belief"]["basis"], "semantic",
        "the fork keeps the basis"
    );
    // And it continues: its next round pins the parent's round-2 pick.
    let (status, next) = server
        .send("POST", &format!("/sessions/{child_id}/rounds/next"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_eq!(next["round_index"], 3);
    let pinned: Vec<f64> =
        serde_json::from_value(next["candidate_metadata"][0]["z"].clone()).unwrap();
    let rounded: Vec<f64> = pinned.iter().map(|v| (v * 1e6).round() / 1e6).collect();
    let recorded_z: Vec<f64> = serde_json::from_value(recorded[1]["next_z"].clone()).unwrap();
    assert_eq!(rounded, recorded_z);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_their_field_and_change_nothing() {
    let server = TestServer::start().await;
    // A classic session has no shared seed to renew.
    let (status, body) = server
        .send(
            "POST",
            "/setup/session",
            Some(json!({"experiment_name": "c", "prompt": "a boat", "config_yaml": format!("strategy: classic\n{}", yaml("winner_only"))})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let classic = body["session"]["id"].as_str().unwrap().to_string();
    let before = server.event_count();
    let (status, err) = server
        .send("POST", &format!("/api/sessions/{classic}/seed"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["field"], "seed_policy");
    let (_, state) = server
        .send("GET", &format!("/api/sessions/{classic}"), None)
        .await;
    assert!(state["belief"].is_null());
    let (status, err) = server
        .send(
            "POST",
            &format!("/api/sessions/{}/seed", Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    // Bad wave-2 config keys are refused with the key and line.
    let (status, err) = server
        .send(
            "POST",
            "/setup/session",
            Some(json!({"experiment_name": "x", "prompt": "a boat", "config_yaml": "strategy: bayes\n"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["field"], "strategy");
    assert_eq!(err["line"], 1);
    assert_eq!(server.event_count(), before);
}
