//! The runner contract (every rendering route renders through the runner exactly once per job,
//! from the snapshot recorded in its `job.queued` event), hostile input (4xx, nothing appended),
//! one job per session (concurrent generates: one 202, one 409), SSE resume, and the OpenAPI
//! document against the real router.

mod http_common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::StreamExt;
use http_common::TestServer;
use serde_json::{json, Value};
use stablesteering::artifacts::content_hash;
use tower::ServiceExt;

fn assert_snapshot_contract(job: &Value, kind: &str) {
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(
        job["runner_invocations"], 1,
        "{kind}: rendered exactly once: {job}"
    );
    let settings = &job["settings"];
    assert_eq!(settings["kind"], kind);
    assert_eq!(settings["schema"], 1);
    assert!(settings["model"]["name"].is_string());
    assert!(settings["engine_version"].is_string());
    assert!(settings["device"].is_string());
    // The recorded hash is the hash of the recorded settings: nothing else was read.
    let json = serde_json::to_string(settings).unwrap();
    assert_eq!(job["settings_hash"], content_hash(json.as_bytes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rendering_route_goes_through_the_runner_once_per_job() {
    let server = TestServer::start().await;
    let runs_before = server.state.services.runner.total_invocations();
    let sid = server.create_session("winner_only", "a tower").await;

    // Synchronous round.
    let (status, round) = server
        .send("POST", &format!("/sessions/{sid}/rounds/next"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, session) = server
        .send("GET", &format!("/sessions/{sid}/replay"), None)
        .await;
    let job_id = session["rounds"][0]["job_id"].as_str().unwrap().to_string();
    let (_, job) = server
        .send("GET", &format!("/api/jobs/{job_id}"), None)
        .await;
    assert_snapshot_contract(&job, "round");
    assert_eq!(job["settings"]["candidates"].as_array().unwrap().len(), 4);
    let winner = round["candidate_metadata"][1]["id"].as_str().unwrap();
    let rid = round["round_id"].as_str().unwrap();
    server
        .send(
            "POST",
            &format!("/rounds/{rid}/feedback"),
            Some(
                json!({"feedback_type": "winner_only", "payload": {"winner_candidate_id": winner}}),
            ),
        )
        .await;

    // Asynchronous round: the carried incumbent is not rendered again (3 of 4 in the snapshot).
    let (_, handle) = server
        .send("POST", &format!("/sessions/{sid}/rounds/next/async"), None)
        .await;
    let job = server.wait_job(handle["job_id"].as_str().unwrap()).await;
    assert_snapshot_contract(&job, "round");
    assert_eq!(job["settings"]["candidates"].as_array().unwrap().len(), 3);

    // Calibration.
    let sid2 = server.create_session("winner_only", "a bridge").await;
    let (_, handle) = server
        .send(
            "POST",
            &format!("/sessions/{sid2}/style-calibration/generate/async"),
            None,
        )
        .await;
    let job = server.wait_job(handle["job_id"].as_str().unwrap()).await;
    assert_snapshot_contract(&job, "calibration");

    // Three jobs, three runner invocations in all.
    assert_eq!(
        server.state.services.runner.total_invocations() - runs_before,
        3
    );
    let (_, diagnostics) = server.send("GET", "/diagnostics", None).await;
    assert_eq!(diagnostics["queue"]["runner_invocations"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_generates_one_accepted_one_conflict() {
    let server = TestServer::start().await;
    let sid = server.create_session("pairwise", "a cat").await;
    let path = format!("/sessions/{sid}/rounds/next/async");
    let (a, b) = tokio::join!(
        server.send("POST", &path, None),
        server.send("POST", &path, None)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::ACCEPTED, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    let conflict = if a.0 == StatusCode::CONFLICT {
        &a.1
    } else {
        &b.1
    };
    assert_eq!(conflict["error_code"], "conflict");
    let handle = if a.0 == StatusCode::ACCEPTED {
        &a.1
    } else {
        &b.1
    };
    server.wait_job(handle["job_id"].as_str().unwrap()).await;
    // Awaiting feedback now: generating again is 409 too.
    let (status, _) = server.send("POST", &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, replay) = server
        .send("GET", &format!("/sessions/{sid}/replay"), None)
        .await;
    assert_eq!(
        replay["rounds"].as_array().unwrap().len(),
        1,
        "no duplicate round"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_refused_with_4xx_and_changes_nothing() {
    let server = TestServer::start().await;
    let sid = server.create_session("scalar_rating", "a lamp").await;
    let (_, round) = server
        .send("POST", &format!("/sessions/{sid}/rounds/next"), None)
        .await;
    let rid = round["round_id"].as_str().unwrap().to_string();
    let cid = round["candidate_metadata"][1]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = server.event_count();
    let big = "x".repeat(300 * 1024);
    let cases: Vec<(&str, String, Option<String>, &str)> = vec![
        (
            "POST",
            "/setup/session".into(),
            Some(r#"{"prompt": 5}"#.into()),
            "wrong type",
        ),
        (
            "POST",
            "/setup/session".into(),
            Some(r#"{"prompt": "x", "config_yaml": "trust_raduis: 0.9"}"#.into()),
            "unknown key",
        ),
        (
            "POST",
            "/setup/session".into(),
            Some(r#"{"prompt": "x", "config_yaml": "image_size: banana"}"#.into()),
            "bad size",
        ),
        (
            "POST",
            "/setup/session".into(),
            Some(r#"{"prompt": "x", "config_yaml": "steering_dimension: 1e308"}"#.into()),
            "huge",
        ),
        (
            "POST",
            "/setup/session".into(),
            Some(r#"{"prompt": "x", "config_yaml": "guidance_scale: .nan"}"#.into()),
            "NaN",
        ),
        (
            "POST",
            "/setup/session".into(),
            Some(r#"{"prompt": "", "config_yaml": ""}"#.into()),
            "empty prompt",
        ),
        (
            "POST",
            "/setup/session".into(),
            Some("{not json".into()),
            "syntax",
        ),
        (
            "POST",
            "/setup/session".into(),
            Some(format!(r#"{{"prompt": "{big}"}}"#)),
            "oversized body",
        ),
        (
            "POST",
            "/sessions".into(),
            Some(r#"{"prompt": "x"}"#.into()),
            "neither experiment nor config",
        ),
        (
            "POST",
            "/sessions".into(),
            Some(r#"{"prompt": "x", "experiment_id": "../../etc"}"#.into()),
            "traversal id",
        ),
        (
            "POST",
            "/sessions".into(),
            Some(r#"{"prompt": "x", "config": {"candidate_count": 1000}}"#.into()),
            "out of range",
        ),
        (
            "GET",
            "/sessions/..%2F..%2Fetc%2Fpasswd".into(),
            None,
            "traversal path",
        ),
        (
            "GET",
            "/sessions/0190a0a0-0000-7000-8000-000000000000".into(),
            None,
            "unknown session",
        ),
        (
            "POST",
            "/sessions/0190a0a0-0000-7000-8000-000000000000/rounds/next".into(),
            None,
            "unknown session",
        ),
        (
            "POST",
            format!("/sessions/{sid}/rounds/next/async"),
            None,
            "awaiting feedback",
        ),
        (
            "POST",
            format!("/rounds/{rid}/feedback"),
            Some(r#"{"feedback_type": "pairwise", "payload": {}}"#.into()),
            "mode mismatch",
        ),
        (
            "POST",
            format!("/rounds/{rid}/feedback"),
            Some(
                r#"{"feedback_type": "scalar_rating", "payload": {"ratings": {"nope": 5}}}"#.into(),
            ),
            "foreign candidate",
        ),
        (
            "POST",
            format!("/rounds/{rid}/feedback"),
            Some(format!(
                r#"{{"feedback_type": "scalar_rating", "payload": {{"ratings": {{"{cid}": 1e400}}}}}}"#
            )),
            "huge rating",
        ),
        (
            "POST",
            format!("/rounds/{rid}/feedback"),
            Some(format!(
                r#"{{"feedback_type": "scalar_rating", "payload": {{"ratings": {{"{cid}": "five"}}}}}}"#
            )),
            "string rating",
        ),
        (
            "POST",
            format!("/rounds/{rid}/feedback"),
            Some(format!(
                r#"{{"feedback_type": "scalar_rating", "payload": {{"ratings": {{"{cid}": 5}}}}, "dimension_ratings": {{"{cid}": {{"light": 99}}}}}}"#
            )),
            "dimension out of range",
        ),
        (
            "POST",
            format!("/rounds/{rid}/feedback"),
            Some(r#"{"feedback_type": 7}"#.into()),
            "wrong type",
        ),
        (
            "POST",
            "/rounds/0190a0a0-0000-7000-8000-000000000000/feedback".into(),
            Some(r#"{"feedback_type": "scalar_rating", "payload": {}}"#.into()),
            "unknown round",
        ),
        ("GET", "/jobs/not-a-job".into(), None, "malformed job"),
        (
            "GET",
            "/api/artifacts/..%2F..%2Fdata".into(),
            None,
            "artifact traversal",
        ),
        (
            "GET",
            format!("/api/artifacts/{}", "0".repeat(64)),
            None,
            "unknown artifact",
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/fork"),
            Some(r#"{"round": -1}"#.into()),
            "negative round",
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/fork"),
            Some(r#"{"round": 42}"#.into()),
            "unknown round",
        ),
        (
            "GET",
            format!("/api/sessions/{sid}/rounds/abc"),
            None,
            "bad round",
        ),
    ];
    for (method, path, body, what) in cases {
        let (status, bytes) = server
            .send_raw(method, &path, body.clone(), "application/json")
            .await;
        assert!(
            status.is_client_error(),
            "{what}: {method} {path} gave {status}"
        );
        if status != StatusCode::NOT_FOUND
            || path.starts_with("/api")
            || path.starts_with("/sessions")
            || path.starts_with("/rounds")
            || path.starts_with("/jobs")
        {
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            assert!(
                body["error_code"].is_string() && body["message"].is_string(),
                "{what}: structured error expected, got {status} {}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
    // Not JSON at all: 415.
    let (status, _) = server
        .send_raw(
            "POST",
            "/setup/session",
            Some("prompt=x".into()),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Oversized: 413 precisely.
    let (status, _) = server
        .send_raw(
            "POST",
            "/setup/session",
            Some(format!(r#"{{"prompt": "{big}"}}"#)),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Config errors name the key and the line.
    let (status, body) = server
        .send(
            "POST",
            "/setup/session",
            Some(
                json!({"prompt": "x", "config_yaml": "sampler: random_local\ntrust_raduis: 0.9\n"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["line"], 2, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("trust_radius"),
        "{body}"
    );
    assert_eq!(
        server.event_count(),
        before,
        "refused requests appended nothing"
    );

    // A stale round: after feedback and a new round, feedback for round 1 is 409.
    server
        .send(
            "POST",
            &format!("/rounds/{rid}/feedback"),
            Some(json!({"feedback_type": "scalar_rating", "payload": {"ratings": {&cid: 5}}})),
        )
        .await;
    server
        .send("POST", &format!("/sessions/{sid}/rounds/next"), None)
        .await;
    let before = server.event_count();
    let (status, body) = server
        .send(
            "POST",
            &format!("/rounds/{rid}/feedback"),
            Some(json!({"feedback_type": "scalar_rating", "payload": {"ratings": {&cid: 4}}})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(server.event_count(), before);
}

async fn read_sse(
    server: &TestServer,
    job: &str,
    last_id: Option<&str>,
    max: usize,
) -> Vec<(String, String, Value)> {
    let mut builder = Request::builder().uri(format!("/api/jobs/{job}/events"));
    if let Some(id) = last_id {
        builder = builder.header("last-event-id", id);
    }
    let response = server
        .router
        .clone()
        .oneshot(builder.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = response.into_body().into_data_stream();
    let mut text = String::new();
    let mut events = Vec::new();
    while events.len() < max {
        let Some(Ok(chunk)) =
            tokio::time::timeout(std::time::Duration::from_secs(60), stream.next())
                .await
                .ok()
                .flatten()
        else {
            break;
        };
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let block: String = text[..end].to_string();
            text.drain(..end + 2);
            let (mut id, mut kind, mut data) = (String::new(), String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line
                    .strip_prefix("id: ")
                    .or_else(|| line.strip_prefix("id:"))
                {
                    id = v.trim().into();
                }
                if let Some(v) = line
                    .strip_prefix("event: ")
                    .or_else(|| line.strip_prefix("event:"))
                {
                    kind = v.trim().into();
                }
                if let Some(v) = line
                    .strip_prefix("data: ")
                    .or_else(|| line.strip_prefix("data:"))
                {
                    data.push_str(v);
                }
            }
            if !data.is_empty() {
                let done = kind == "done";
                events.push((id, kind, serde_json::from_str(&data).unwrap_or(Value::Null)));
                if done {
                    return events;
                }
            }
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_progress_resumes_after_reconnect() {
    let server = TestServer::start().await;
    let (_, body) = server
        .send(
            "POST",
            "/setup/session",
            Some(json!({"prompt": "a comet", "config_yaml":
            "image_size: 64x64\nnum_inference_steps: 12\ncandidate_count: 3\n"})),
        )
        .await;
    let sid = body["session"]["id"].as_str().unwrap().to_string();
    let (_, handle) = server
        .send("POST", &format!("/sessions/{sid}/rounds/next/async"), None)
        .await;
    let job = handle["job_id"].as_str().unwrap().to_string();
    // First connection: read a few updates, then "drop" it.
    let first = read_sse(&server, &job, None, 4).await;
    assert!(first.len() >= 2, "{first:?}");
    let last_id = first.last().unwrap().0.clone();
    // Reconnect with Last-Event-ID: only newer updates, ending with `done`.
    let rest = read_sse(&server, &job, Some(&last_id), 10_000).await;
    let seen: u64 = last_id.parse().unwrap();
    assert!(
        rest.iter()
            .all(|(id, _, _)| id.parse::<u64>().unwrap() > seen),
        "no repeats"
    );
    let (_, kind, data) = rest.last().unwrap();
    assert_eq!(kind, "done");
    assert_eq!(data["state"], "succeeded");
    let ids: Vec<u64> = first
        .iter()
        .chain(&rest)
        .map(|(id, _, _)| id.parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "increasing ids {ids:?}"
    );
    // Progress content: steps advanced to 12 of 12, previews were sent, an ETA appeared.
    let all: Vec<&Value> = first.iter().chain(&rest).map(|(_, _, d)| d).collect();
    assert!(all
        .iter()
        .any(|d| d["total_steps"] == 12 && d["step"] == 12));
    assert!(all
        .iter()
        .any(|d| d["previews"].as_array().is_some_and(|p| p.len() == 3)));
    assert!(all.iter().any(|d| d["eta_seconds"].is_number()));
    assert!(all
        .iter()
        .any(|d| d["message"].as_str().is_some_and(|m| m.contains("step"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_retry_a_round() {
    let server = TestServer::start().await;
    let (_, body) = server
        .send(
            "POST",
            "/setup/session",
            Some(json!({"prompt": "a kite", "config_yaml":
            "image_size: 64x64\nnum_inference_steps: 30\ncandidate_count: 4\n"})),
        )
        .await;
    let sid = body["session"]["id"].as_str().unwrap().to_string();
    let (_, handle) = server
        .send("POST", &format!("/sessions/{sid}/rounds/next/async"), None)
        .await;
    let job = handle["job_id"].as_str().unwrap().to_string();
    let (status, cancelled) = server
        .send("POST", &format!("/api/jobs/{job}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled");
    let (_, session) = server.send("GET", &format!("/sessions/{sid}"), None).await;
    assert_eq!(
        session["status"], "ready",
        "a cancelled round frees the session"
    );
    let (status, _) = server
        .send("POST", &format!("/api/jobs/{job}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, retried) = server
        .send("POST", &format!("/api/jobs/{job}/retry"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{retried}");
    let done = server.wait_job(retried["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded");
    let (_, session) = server.send("GET", &format!("/sessions/{sid}"), None).await;
    assert_eq!(session["status"], "awaiting_feedback");
    assert_eq!(session["current_round"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_only_routes_that_exist() {
    let server = TestServer::start().await;
    let (status, doc) = server.send("GET", "/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 30);
    for (path, methods) in paths {
        let concrete = path
            .replace("{id}", "0190a0a0-0000-7000-8000-000000000000")
            .replace("{round}", "1")
            .replace("{hash}", &"0".repeat(64));
        for method in methods.as_object().unwrap().keys() {
            let (status, bytes) = server
                .send_raw(
                    &method.to_uppercase(),
                    &concrete,
                    Some(r#"{"steps": "many", "prompt": 1}"#.into()),
                    "application/json",
                )
                .await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            // An unrouted path falls through to the HTML app's 404 page.
            let html = String::from_utf8_lossy(&bytes).contains("<html");
            assert!(
                !(status == StatusCode::NOT_FOUND && html),
                "{method} {path} is not routed"
            );
        }
    }
}

#[tokio::test]
async fn async_job_results_carry_the_reference_response_models() {
    let server = TestServer::start().await;
    let sid = server.create_session("winner_only", "a lighthouse").await;
    let (status, handle) = server
        .send("POST", &format!("/sessions/{sid}/rounds/next/async"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{handle}");
    let job_id = handle["job_id"].as_str().unwrap().to_string();
    server.wait_job(&job_id).await;
    let (status, job) = server.send("GET", &format!("/jobs/{job_id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let result = &job["result"];
    // RoundResponse {round_id, candidate_metadata, image_urls, state_summary}.
    let candidates = result["candidate_metadata"]
        .as_array()
        .expect("candidate_metadata");
    assert_eq!(candidates.len(), 4, "{result}");
    assert_eq!(result["image_urls"].as_array().map(Vec::len), Some(4));
    assert_eq!(result["state_summary"]["session_id"], sid.as_str());
    assert!(result["round_id"].is_string());
    // FeedbackResponse {update_summary, next_incumbent_state}.
    let round = result["round_id"].as_str().unwrap();
    let winner = candidates[1]["id"].clone();
    let (status, handle) = server
        .send(
            "POST",
            &format!("/rounds/{round}/feedback/async"),
            Some(
                json!({"feedback_type": "winner_only", "payload": {"winner_candidate_id": winner}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{handle}");
    let job_id = handle["job_id"].as_str().unwrap().to_string();
    server.wait_job(&job_id).await;
    let (_, job) = server.send("GET", &format!("/jobs/{job_id}"), None).await;
    assert!(job["result"]["update_summary"].is_object(), "{job}");
    assert!(job["result"]["next_incumbent_state"].is_array(), "{job}");
    // Creating a session through the reference's route answers 200, as the reference does.
    let (status, _) = server
        .send(
            "POST",
            "/sessions",
            Some(
                json!({"prompt": "x", "config": {"image_size": "64x64", "num_inference_steps": 2}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn openapi_describes_bodies_parameters_and_every_error_shape() {
    let server = TestServer::start().await;
    let (_, doc) = server.send("GET", "/api/openapi.json", None).await;
    let op = |method: &str, path: &str| doc["paths"][path][method].clone();
    let schemas = &doc["components"]["schemas"];
    // Request bodies come from the handlers' types.
    let feedback = op("post", "/rounds/{id}/feedback");
    assert_eq!(
        feedback["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/FeedbackRequest"
    );
    let modes = schemas["FeedbackRequest"]["properties"]["feedback_type"]["enum"]
        .as_array()
        .expect("feedback modes");
    assert_eq!(modes.len(), 6, "{modes:?}");
    assert_eq!(
        schemas["FeedbackRequest"]["required"],
        json!(["feedback_type"])
    );
    assert!(op("post", "/sessions")["requestBody"].is_object());
    assert!(op("post", "/sdapi/v1/txt2img")["requestBody"].is_object());
    // Body limits are named per route.
    assert_eq!(
        op("post", "/sdapi/v1/txt2img")["requestBody"]["x-max-body-bytes"],
        32 * 1024 * 1024
    );
    assert_eq!(
        op("post", "/sessions")["requestBody"]["x-max-body-bytes"],
        256 * 1024
    );
    // Ids are UUIDs; query parameters come from the query structs.
    assert_eq!(feedback["parameters"][0]["schema"]["format"], "uuid");
    let jobs = op("get", "/api/jobs");
    let names: Vec<&str> = jobs["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["session_id", "limit"]);
    // Every refusal documents its body: ours, or A1111's under /sdapi/v1.
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('2') {
                    continue;
                }
                let schema = response["content"]["application/json"]["schema"].to_string();
                let expected = if path.starts_with("/sdapi/") {
                    "A1111HttpError"
                } else {
                    "ApiError"
                };
                assert!(
                    schema.contains(expected),
                    "{method} {path} {status}: {schema}"
                );
            }
            let statuses = operation["responses"].as_object().unwrap();
            assert!(
                statuses.contains_key("421") && statuses.contains_key("429"),
                "{method} {path}"
            );
            if method == "post" {
                assert!(
                    statuses.contains_key("403") && statuses.contains_key("415"),
                    "{method} {path}"
                );
            }
        }
    }
    // Every ErrorKind's code is in the ApiError enum.
    let codes = schemas["ApiError"]["properties"]["error_code"]["enum"].to_string();
    for code in [
        "invalid_input",
        "not_found",
        "conflict",
        "timeout",
        "rate_limited",
    ] {
        assert!(codes.contains(code), "{codes}");
    }
}
