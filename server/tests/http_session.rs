//! A whole steering session over HTTP in each of the six feedback modes, with the bundled tiny
//! model on the CPU: create → generate (sync) → feedback → generate (async) → feedback → replay,
//! asserting content (images, roles, carried-forward incumbent, z movement, replay shape).

mod http_common;
#[path = "pg_common/mod.rs"]
mod pg_common;

use axum::http::StatusCode;
use http_common::TestServer;
use serde_json::{json, Value};

fn ids(round: &Value) -> Vec<String> {
    round["candidate_metadata"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

fn payload(mode: &str, c: &[String]) -> Value {
    match mode {
        "scalar_rating" => json!({"ratings": {&c[0]: 2, &c[1]: 5, &c[2]: 3, &c[3]: 1}}),
        "pairwise" => json!({"winner_candidate_id": &c[1], "loser_candidate_id": &c[2]}),
        "winner_only" => json!({"winner_candidate_id": &c[1]}),
        "approve_reject" => json!({"winner_candidate_id": &c[1],
            "approvals": {&c[0]: false, &c[1]: true, &c[2]: true, &c[3]: false}}),
        "top_k" => {
            json!({"ranking": [&c[1], &c[2], &c[0]], "ranks": {&c[1]: 1, &c[2]: 2, &c[0]: 3}})
        }
        "critique_rating" => json!({"ratings": {&c[0]: 2, &c[1]: 5, &c[2]: 3, &c[3]: 1},
            "critique_tags": {&c[1]: ["good_composition"], &c[3]: ["too_dark"]}}),
        other => panic!("unknown mode {other}"),
    }
}

async fn run_mode(server: &TestServer, mode: &str) {
    let sid = server
        .create_session(mode, &format!("a lighthouse, {mode}"))
        .await;

    // Round 1, synchronous.
    let (status, round1) = server
        .send("POST", &format!("/sessions/{sid}/rounds/next"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{mode}: {round1}");
    let c1 = ids(&round1);
    assert_eq!(c1.len(), 4, "{mode}: candidate_count");
    assert_eq!(
        round1["candidate_metadata"][0]["sampler_role"],
        "baseline_prompt"
    );
    for c in round1["candidate_metadata"].as_array().unwrap() {
        let url = c["image_path"]
            .as_str()
            .expect("every candidate has an image");
        let (status, png) = server.send_raw("GET", url, None, "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&png[1..4], b"PNG", "{mode}: artifact is a PNG");
    }
    let rid1 = round1["round_id"].as_str().unwrap().to_string();

    // Feedback: c1[1] wins in every mode.
    let (status, fb) = server
        .send(
            "POST",
            &format!("/rounds/{rid1}/feedback"),
            Some(json!({"feedback_type": mode, "payload": payload(mode, &c1), "critique_text": "more light"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{mode}: {fb}");
    assert_eq!(fb["winner_candidate_id"], c1[1].as_str(), "{mode}: winner");
    let z1: Vec<f64> = serde_json::from_value(fb["next_incumbent_state"].clone()).unwrap();
    assert_eq!(z1.len(), 4);
    assert!(
        z1.iter().any(|v| *v != 0.0),
        "{mode}: z moved away from the prompt"
    );
    assert!(fb["update_summary"]["updater"].is_string());

    // Round 2, asynchronous: the winner is carried forward with its image.
    let (status, handle) = server
        .send("POST", &format!("/sessions/{sid}/rounds/next/async"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{mode}: {handle}");
    let job = server.wait_job(handle["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "succeeded", "{mode}: {job}");
    assert_eq!(job["runner_invocations"], 1);
    let (_, session) = server.send("GET", &format!("/sessions/{sid}"), None).await;
    assert_eq!(session["current_round"], 2);
    assert_eq!(session["status"], "awaiting_feedback");
    let (_, replay) = server
        .send("GET", &format!("/sessions/{sid}/replay"), None)
        .await;
    let rounds = replay["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 2);
    let first_winner = rounds[0]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == c1[1].as_str())
        .unwrap()
        .clone();
    let incumbent = &rounds[1]["candidates"][0];
    assert_eq!(incumbent["sampler_role"], "incumbent");
    assert_eq!(incumbent["artifact_hash"], first_winner["artifact_hash"]);
    assert_eq!(incumbent["z"], first_winner["z"]);
    assert_eq!(rounds[1]["incumbent_z"], json!(z1));

    // Feedback on round 2 through the async route.
    let round2: Value = json!({"candidate_metadata": rounds[1]["candidates"]});
    let c2 = ids(&round2);
    let rid2 = rounds[1]["id"].as_str().unwrap();
    let (status, handle) = server
        .send(
            "POST",
            &format!("/rounds/{rid2}/feedback/async"),
            Some(json!({"feedback_type": mode, "payload": payload(mode, &c2)})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{mode}: {handle}");
    let job = server.wait_job(handle["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "succeeded", "{mode}: {job}");
    assert_eq!(job["runner_invocations"], 0, "feedback does not render");

    let (_, replay) = server
        .send("GET", &format!("/sessions/{sid}/replay"), None)
        .await;
    assert_eq!(replay["schema_version"], "1.0");
    assert_eq!(replay["session"]["status"], "ready");
    assert_eq!(
        replay["session"]["experiment_id"].as_str().map(str::len),
        Some(36)
    );
    for round in replay["rounds"].as_array().unwrap() {
        let fb = round["feedback_events"].as_array().unwrap();
        assert_eq!(fb.len(), 1, "{mode}: one feedback per round");
        assert_eq!(fb[0]["type"], mode);
        assert!(round["latency_ms"].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(replay["trajectory"].as_array().unwrap().len(), 2);
    if mode == "critique_rating" {
        let tags = &replay["rounds"][0]["feedback_events"][0]["critique_tags"];
        assert_eq!(tags[&c1[1]], json!(["good_composition"]));
    }
    let (status, report) = server
        .send("GET", &format!("/sessions/{sid}/convergence/json"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["rounds_completed"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_session_in_every_feedback_mode() {
    every_feedback_mode(&TestServer::start().await).await;
}

/// The same flows with the log on PostgreSQL (`serve --store postgres://…`), then a second
/// server on the same database: it replays the log and sees the same sessions and history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_flows_on_postgresql_and_a_restart() {
    let cluster = tokio::task::spawn_blocking(pg_common::Cluster::start)
        .await
        .unwrap();
    let url = cluster.fresh_database();
    let server = TestServer::start_on_postgres(&url).await;
    every_feedback_mode(&server).await;
    let sid = time_travel_fork_and_delete_on(&server).await;
    let (_, before) = server.send("GET", &format!("/sessions/{sid}"), None).await;
    drop(server);

    let again = TestServer::start_on_postgres(&url).await;
    let (_, health) = again.send("GET", "/api/health", None).await;
    assert!(
        health["store"]["backend"]
            .as_str()
            .is_some_and(|b| b.starts_with("postgresql (")),
        "{health}"
    );
    assert_eq!(health["store"]["status"], "open");
    // The shared queue is empty once every job ended.
    assert_eq!(
        health["store"]["job_queue"],
        serde_json::json!({"queued": 0, "leased": 0}),
        "{health}"
    );
    // The faithful JSONL export reads the PostgreSQL log too.
    let (status, jsonl) = again
        .send_raw(
            "GET",
            &format!("/api/sessions/{sid}/export?format=jsonl"),
            None,
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 10, "{} lines", lines.len());
    assert_eq!(lines[0]["type"], "session.created");
    assert!(
        lines
            .windows(2)
            .all(|w| w[1]["stream_version"].as_u64()
                == w[0]["stream_version"].as_u64().map(|v| v + 1))
    );
    let (_, sessions) = again.send("GET", "/sessions", None).await;
    assert_eq!(sessions.as_array().unwrap().len(), 7, "{sessions}");
    let (status, after) = again.send("GET", &format!("/sessions/{sid}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after, before, "a restarted server sees another state");
    let (status, at2) = again
        .send("GET", &format!("/api/sessions/{sid}/rounds/2"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{at2}");
    assert_eq!(at2["rounds"].as_array().unwrap().len(), 2);
}

async fn every_feedback_mode(server: &TestServer) {
    for mode in [
        "scalar_rating",
        "pairwise",
        "winner_only",
        "approve_reject",
        "top_k",
        "critique_rating",
    ] {
        run_mode(server, mode).await;
    }
    let (_, sessions) = server.send("GET", "/sessions", None).await;
    assert_eq!(sessions.as_array().unwrap().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_travel_fork_and_delete() {
    time_travel_fork_and_delete_on(&TestServer::start().await).await;
}

/// Three rounds, time travel, a fork continued one round, the fork deleted; returns the
/// parent session's id.
async fn time_travel_fork_and_delete_on(server: &TestServer) -> String {
    let sid = server.create_session("winner_only", "a red boat").await;
    let mut winners = Vec::new();
    for _ in 0..3 {
        let (status, round) = server
            .send("POST", &format!("/sessions/{sid}/rounds/next"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{round}");
        let c = ids(&round);
        let rid = round["round_id"].as_str().unwrap();
        let (status, _) = server
            .send(
                "POST",
                &format!("/rounds/{rid}/feedback"),
                Some(json!({"feedback_type": "winner_only", "payload": {"winner_candidate_id": &c[2]}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        winners.push(c[2].clone());
    }
    // State at the end of round 2: two rounds, z of the second update.
    let (status, at2) = server
        .send("GET", &format!("/api/sessions/{sid}/rounds/2"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{at2}");
    assert_eq!(at2["rounds"].as_array().unwrap().len(), 2);
    assert_eq!(
        at2["session"]["incumbent_candidate_id"],
        winners[1].as_str()
    );
    let (_, before) = server
        .send(
            "GET",
            &format!("/api/sessions/{sid}/rounds/2?point=before_feedback"),
            None,
        )
        .await;
    assert_eq!(before["rounds"][1]["feedback_events"], json!([]));
    let (status, _) = server
        .send("GET", &format!("/api/sessions/{sid}/rounds/9"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Fork at round 1 and continue the branch: its round 2 carries round 1's winner.
    let (status, child) = server
        .send(
            "POST",
            &format!("/api/sessions/{sid}/fork"),
            Some(json!({"round": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    let cid = child["id"].as_str().unwrap().to_string();
    assert_eq!(child["lineage"]["parent"]["session_id"], sid.as_str());
    assert_eq!(child["current_round"], 1);
    let (status, round) = server
        .send("POST", &format!("/sessions/{cid}/rounds/next"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{round}");
    assert_eq!(round["round_index"], 2);
    assert_eq!(round["candidate_metadata"][0]["sampler_role"], "incumbent");
    assert_eq!(
        round["candidate_metadata"][0]["z"],
        at2["rounds"][0]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == winners[0].as_str())
            .unwrap()["z"]
    );
    // The carried incumbent shows the image it won with in the parent.
    let winner_image = at2["rounds"][0]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == winners[0].as_str())
        .unwrap()["image_path"]
        .clone();
    assert!(winner_image.is_string(), "{winner_image}");
    assert_eq!(round["candidate_metadata"][0]["image_path"], winner_image);
    let (_, parent) = server.send("GET", &format!("/sessions/{sid}"), None).await;
    assert_eq!(parent["lineage"]["children"][0]["session_id"], cid.as_str());

    // Delete: 204, then 404; unknown ids are 404 too.
    let (status, _) = server
        .send("DELETE", &format!("/sessions/{cid}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.send("GET", &format!("/sessions/{cid}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = server
        .send("DELETE", &format!("/sessions/{cid}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "not_found");
    let (status, _) = server
        .send(
            "DELETE",
            "/sessions/0190a0a0-0000-7000-8000-000000000000",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    sid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calibration_then_first_round() {
    let server = TestServer::start().await;
    let sid = server
        .create_session("scalar_rating", "a quiet forest")
        .await;
    let (status, handle) = server
        .send(
            "POST",
            &format!("/sessions/{sid}/style-calibration/generate/async"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let job = server.wait_job(handle["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["runner_invocations"], 1);
    let (_, replay) = server
        .send("GET", &format!("/sessions/{sid}/replay"), None)
        .await;
    let probes = replay["rounds"][0]["candidates"].as_array().unwrap();
    assert_eq!(probes.len(), 15);
    assert!(probes
        .iter()
        .all(|p| p["artifact_hash"].is_string() && p["sampler_role"] == "style_probe"));
    let chosen: Vec<Value> = probes.iter().take(5).map(|p| p["id"].clone()).collect();
    let (status, body) = server
        .send(
            "POST",
            &format!("/sessions/{sid}/style-calibration/submit"),
            Some(json!({"selected_ids": chosen})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let z: Vec<f64> = serde_json::from_value(body["current_z"].clone()).unwrap();
    let expected: Vec<f64> = (0..4)
        .map(|i| {
            probes
                .iter()
                .take(5)
                .map(|p| p["z"][i].as_f64().unwrap())
                .sum::<f64>()
                / 5.0
        })
        .collect();
    for (a, b) in z.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-12);
    }
    // Again: 409; then the first round starts from the calibrated z.
    let (status, _) = server
        .send(
            "POST",
            &format!("/sessions/{sid}/style-calibration/submit"),
            Some(json!({"selected_ids": chosen})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, round) = server
        .send("POST", &format!("/sessions/{sid}/rounds/next"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{round}");
    assert_eq!(round["state_summary"]["current_z"], json!(z));
}
