//! Traces and exports over HTTP, with the bundled tiny model on the CPU: the self-contained
//! trace report (escaping, embedded images, sections, timeline), frontend events (validation,
//! the `../../x` path traversal of the reference), the request-id middleware, and the JSONL,
//! CSV, Parquet and bundle exports.

mod http_common;

use std::io::{Cursor, Read};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use http_common::TestServer;
use serde_json::{json, Value};
use stablesteering::artifacts::content_hash;
use stablesteering::services::feedback::FeedbackRequest;
use tower::ServiceExt;
use uuid::Uuid;

const PROMPT: &str = "a <b>bold</b> lighthouse & \"sea\"";
const CRITIQUE: &str = "<script>alert(1)</script> too dark";
const CONFIG: &str = "image_size: 64x64\nnum_inference_steps: 2\ncandidate_count: 3\n";

async fn request(
    router: &Router,
    method: &str,
    path: &str,
    body: Option<(&str, String)>,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut builder = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let body = match body {
        Some((content_type, text)) => {
            builder = builder.header("content-type", content_type);
            Body::from(text)
        }
        None => Body::empty(),
    };
    let response = router
        .clone()
        .oneshot(builder.body(body).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    (status, headers, bytes)
}

async fn get_raw(server: &TestServer, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    request(&server.router, "GET", path, None, &[]).await
}

async fn post_event(server: &TestServer, body: Value) -> (StatusCode, Value) {
    let (status, _, bytes) = request(
        &server.router,
        "POST",
        "/frontend-events",
        Some(("application/json", body.to_string())),
        &[],
    )
    .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A session with one rendered round that got feedback (with a hostile critique).
async fn session_with_feedback(server: &TestServer) -> (Uuid, Uuid) {
    let services = &server.state.services;
    let created = services
        .setup_session("trace <i>experiment</i>", "", PROMPT, "blurry <x>", CONFIG)
        .await
        .expect("session");
    let sid = created.session_id;
    let queued = services.queue_round(sid).await.expect("round queued");
    let record = services
        .wait_terminal(queued.job_id, Duration::from_secs(120))
        .await
        .expect("round finished");
    assert_eq!(record.state, "succeeded", "{record:?}");
    let detail = server.state.store.session(sid).expect("session");
    let round = detail.rounds.last().expect("round");
    let ids: Vec<String> = round
        .candidates
        .iter()
        .map(|c| c.candidate.candidate_id.0.to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    let feedback: FeedbackRequest = serde_json::from_value(json!({
        "feedback_type": "scalar_rating",
        "payload": {"ratings": {&ids[0]: 1, &ids[1]: 5, &ids[2]: 2}},
        "critique_text": CRITIQUE,
    }))
    .expect("feedback request");
    services
        .submit_feedback(round.round_id, feedback)
        .await
        .expect("feedback");
    (sid, round.round_id)
}

fn zip_entries(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).expect("zip");
    let mut out = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("entry");
        let mut data = Vec::new();
        file.read_to_end(&mut data).expect("read entry");
        out.insert(file.name().to_string(), data);
    }
    out
}

fn disposition(headers: &HeaderMap) -> String {
    headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// What a stray write could touch: the temp dir's and data dir's top levels, and everything
/// under `traces/` (the store's own files change in the background, so they are left out).
fn watched_files(root: &std::path::Path, data_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, deep: bool, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if deep && p.is_dir() {
                walk(&p, true, out);
            }
            out.push(p);
        }
    }
    let mut out = Vec::new();
    walk(root, false, &mut out);
    walk(data_dir, false, &mut out);
    walk(&data_dir.join("traces"), true, &mut out);
    if let Some(parent) = root.parent() {
        out.push(parent.join("x"));
        out.retain(|p| p.exists());
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_report_frontend_events_and_exports() {
    let server = TestServer::start().await;
    let data_dir = server.state.store.data_dir().to_path_buf();
    let (sid, round_id) = session_with_feedback(&server).await;

    // A frontend event for the session, posted as sendBeacon does (text/plain).
    let (status, _, bytes) = request(
        &server.router,
        "POST",
        "/frontend-events",
        Some((
            "text/plain;charset=UTF-8",
            json!({"event": "feedback.submit.clicked", "page": "session <view>",
                   "session_id": sid.to_string(), "round_id": round_id.to_string(),
                   "details": {"note": "<img src=x onerror=alert(1)>"}})
            .to_string(),
        )),
        &[],
    )
    .await;
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ok"], json!(true));
    assert_eq!(
        body["report_url"],
        json!(format!("/sessions/{sid}/trace-report"))
    );
    let session_file = data_dir
        .join("traces/sessions")
        .join(sid.to_string())
        .join("frontend-events.jsonl");
    let line = std::fs::read_to_string(&session_file).expect("session frontend events");
    let rec: Value = serde_json::from_str(line.trim()).expect("line parses");
    assert_eq!(rec["event"], json!("feedback.submit.clicked"));
    assert_eq!(rec["session_id"], json!(sid.to_string()));
    for key in ["timestamp", "page", "round_id", "details"] {
        assert!(rec.get(key).is_some(), "{key} missing in {rec}");
    }
    let global = std::fs::read_to_string(data_dir.join("traces/frontend-events.jsonl"))
        .expect("global frontend events");
    assert_eq!(global.lines().count(), 1);

    // An event with no session goes only to the global stream.
    let (status, body) = post_event(&server, json!({"event": "page.loaded", "page": "/"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["report_url"], Value::Null);

    // The path traversal of the reference: refused, nothing written anywhere.
    let before = watched_files(server.dir.path(), &data_dir);
    for bad in ["../../x", "../x", "/etc/passwd", "x"] {
        let (status, body) = post_event(
            &server,
            json!({"event": "page.loaded", "page": "/", "session_id": bad}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["field"], json!("session_id"), "{body}");
    }
    assert_eq!(watched_files(server.dir.path(), &data_dir), before);
    assert!(!data_dir.join("x").exists());
    assert!(!server.dir.path().join("x").exists());
    assert!(!data_dir.join("traces/x").exists());

    // Unknown session: accepted into the global stream as the reference does, with no report
    // link and no per-session folder.
    let unknown = Uuid::now_v7();
    let (status, body) = post_event(
        &server,
        json!({"event": "page.loaded", "page": "/", "session_id": unknown.to_string()}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"ok": true, "report_url": null}), "{body}");
    assert!(!data_dir
        .join("traces/sessions")
        .join(unknown.to_string())
        .exists());

    // Other validation.
    for (body, field) in [
        (json!({"event": "", "page": "/"}), "event"),
        (json!({"event": "has space", "page": "/"}), "event"),
        (json!({"event": "a".repeat(101), "page": "/"}), "event"),
        (json!({"event": "ok", "page": "p".repeat(201)}), "page"),
        (
            json!({"event": "ok", "page": "/", "details": [1, 2]}),
            "details",
        ),
        (
            json!({"event": "ok", "page": "/", "details": {"big": "x".repeat(17 * 1024)}}),
            "details",
        ),
        (json!({"event": "ok", "round_id": "nope"}), "round_id"),
    ] {
        let (status, answer) = post_event(&server, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["field"], json!(field), "{answer}");
    }
    let (status, _, _) = request(
        &server.router,
        "POST",
        "/frontend-events",
        Some(("application/json", "not json".into())),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = request(
        &server.router,
        "POST",
        "/frontend-events",
        Some((
            "application/json",
            json!({"event": "ok", "details": {"big": "x".repeat(70 * 1024)}}).to_string(),
        )),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // The report.
    for path in [
        format!("/sessions/{sid}/trace-report"),
        format!("/api/sessions/{sid}/trace-report"),
    ] {
        let (status, headers, bytes) = get_raw(&server, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(headers.contains_key("content-security-policy"));
        let html = String::from_utf8(bytes).expect("utf-8");
        assert!(html.contains("a &lt;b&gt;bold&lt;/b&gt; lighthouse &amp; &quot;sea&quot;"));
        assert!(!html.contains("<b>bold"), "prompt not escaped");
        assert!(html.contains("trace &lt;i&gt;experiment&lt;/i&gt;"));
        assert!(html.contains("blurry &lt;x&gt;"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; too dark"));
        assert!(!html.contains("<script"), "a script tag reached the report");
        assert!(!html.contains("<img src=x"), "frontend details not escaped");
        assert!(html.contains("<img src=\"data:image/png;base64,"));
        assert!(!html.contains("/artifacts/"), "images must be embedded");
        assert_eq!(html.matches("<img src=\"data:image/png;base64,").count(), 3);
        for heading in [
            "<h2>Artifacts</h2>",
            "<h2>Run Summary</h2>",
            "<h2>Runtime Diagnostics</h2>",
            "<h2>Rounds</h2>",
            "<h3>Candidates</h3>",
            "<h3>User Preferences</h3>",
            "<h3>Update Summary</h3>",
            "<h2>Event Timeline</h2>",
        ] {
            assert!(html.contains(heading), "{heading} missing");
        }
        for text in [
            "Round 1",
            "scalar_rating",
            "winner_candidate_id",
            "session.created",
            "candidate.rendered",
            "feedback.submitted",
            "incumbent.updated",
            "feedback.submit.clicked",
            "Store event count",
            "requested → ready",
            &sid.to_string(),
        ] {
            assert!(html.contains(text), "{text} missing from the report");
        }
    }
    let (status, _, bytes) = get_raw(&server, &format!("/sessions/{unknown}/trace-report")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_slice(&bytes).expect("404 is JSON");
    assert_eq!(body["error_code"], json!("not_found"), "{body}");
    let (status, _, _) = get_raw(&server, "/api/sessions/..%2F..%2Fx/trace-report").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // JSONL export (the default format).
    let (status, headers, bytes) = get_raw(&server, &format!("/api/sessions/{sid}/export")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(disposition(&headers).starts_with("attachment"));
    assert!(disposition(&headers).contains(&format!("session-{sid}.jsonl")));
    let text = String::from_utf8(bytes).expect("utf-8");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl line parses"))
        .collect();
    assert!(lines.len() >= 5);
    assert_eq!(lines[0]["type"], json!("session.created"));
    assert_eq!(lines[0]["payload"]["prompt"], json!(PROMPT));
    let jsonl_events = lines.len();

    // CSV: every table in a zip, or one table.
    let (status, headers, bytes) =
        get_raw(&server, &format!("/api/sessions/{sid}/export?format=csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(disposition(&headers).contains(".zip"));
    let entries = zip_entries(&bytes);
    for name in [
        "schema.json",
        "rounds.csv",
        "candidates.csv",
        "sessions.csv",
    ] {
        assert!(
            entries.contains_key(name),
            "{name} missing: {:?}",
            entries.keys()
        );
    }
    let rows = csv::Reader::from_reader(entries["candidates.csv"].as_slice())
        .records()
        .collect::<Result<Vec<_>, _>>()
        .expect("csv records")
        .len();
    assert_eq!(rows, 3);
    let (status, headers, bytes) = get_raw(
        &server,
        &format!("/api/sessions/{sid}/export?format=csv&table=candidates"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(bytes, entries["candidates.csv"]);
    let (status, _, bytes) = get_raw(
        &server,
        &format!("/api/sessions/{sid}/export?format=csv&table=nope"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["field"], json!("table"));

    // Parquet.
    let (status, _, bytes) = get_raw(
        &server,
        &format!("/api/sessions/{sid}/export?format=parquet"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let entries = zip_entries(&bytes);
    let parquet = &entries["candidates.parquet"];
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));

    // Bad format and unknown session.
    let (status, _, bytes) =
        get_raw(&server, &format!("/api/sessions/{sid}/export?format=xml")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["field"], json!("format"), "{body}");
    let (status, _, _) = get_raw(
        &server,
        &format!("/api/sessions/{unknown}/export?format=bundle"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The bundle: one image per distinct rendered artifact.
    let distinct: std::collections::BTreeSet<String> = server
        .state
        .store
        .session(sid)
        .expect("session")
        .rounds
        .iter()
        .flat_map(|r| r.candidates.iter())
        .filter_map(|c| c.render.as_ref().map(|r| r.artifact_hash.clone()))
        .collect();
    assert!(!distinct.is_empty());
    let (status, headers, bytes) = get_raw(
        &server,
        &format!("/api/sessions/{sid}/export?format=bundle"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/zip");
    assert!(disposition(&headers).contains(&format!("session-{sid}-bundle.zip")));
    let entries = zip_entries(&bytes);
    let manifest: Value = serde_json::from_slice(&entries["manifest.json"]).expect("manifest");
    assert_eq!(manifest["format"], json!("stablesteering.bundle/1"));
    assert_eq!(manifest["session_id"], json!(sid.to_string()));
    assert!(manifest["created_at"].is_string());
    assert_eq!(manifest["counts"]["events"], json!(jsonl_events));
    assert_eq!(manifest["counts"]["images"], json!(distinct.len()));
    assert_eq!(manifest["counts"]["frontend_events"], json!(1));
    let listed = manifest["files"].as_array().expect("files");
    assert_eq!(listed.len() + 1, entries.len(), "{manifest}");
    for f in listed {
        let path = f["path"].as_str().unwrap();
        let data = entries
            .get(path)
            .unwrap_or_else(|| panic!("{path} listed, not in zip"));
        assert_eq!(f["blake2b_256"], json!(content_hash(data)), "{path}");
        assert_eq!(f["bytes"], json!(data.len()));
    }
    let events = String::from_utf8(entries["events.jsonl"].clone()).unwrap();
    assert_eq!(events.lines().count(), jsonl_events);
    for line in events.lines() {
        serde_json::from_str::<Value>(line).expect("bundle event parses");
    }
    let images: Vec<(&String, &Vec<u8>)> = entries
        .iter()
        .filter(|(k, _)| k.starts_with("images/"))
        .collect();
    assert_eq!(images.len(), distinct.len());
    for (name, data) in images {
        let hash = name
            .strip_prefix("images/")
            .and_then(|n| n.strip_suffix(".png"))
            .expect("images/<hash>.png");
        assert_eq!(content_hash(data), hash);
        assert!(distinct.contains(hash));
        assert!(data.starts_with(b"\x89PNG"));
    }
    let report = String::from_utf8(entries["report.html"].clone()).unwrap();
    assert!(report.contains("<img src=\"data:image/png;base64,"));
    assert!(report.contains("<h2>Event Timeline</h2>"));
    assert!(entries.contains_key("frontend-events.jsonl"));

    // The whole store as JSONL.
    let (status, headers, bytes) = get_raw(&server, "/api/export?format=jsonl").await;
    assert_eq!(status, StatusCode::OK);
    assert!(disposition(&headers).contains("stablesteering.jsonl"));
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text.lines().count() as u64, server.event_count());
    for line in text.lines() {
        serde_json::from_str::<Value>(line).expect("store line parses");
    }
    let (status, _, _) = get_raw(&server, "/api/export?format=bundle").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn request_ids_are_echoed_and_requests_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let layer = stablesteering::traces::backend::layer(dir.path().to_path_buf());
    let log = layer.log().clone();
    let router: Router = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .layer(layer);

    let (status, headers, _) = request(
        &router,
        "GET",
        "/ok",
        None,
        &[("x-request-id", "client-id_42")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-request-id"], "client-id_42");

    let long = "a".repeat(65);
    for bad in ["has space", "../../x", long.as_str()] {
        let (_, headers, _) = request(&router, "GET", "/ok", None, &[("x-request-id", bad)]).await;
        let id = headers["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(id.len(), 12, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    let (status, headers, _) = request(&router, "GET", "/missing", None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.contains_key("x-request-id"));

    // The writer thread appends asynchronously.
    let path = dir.path().join("traces/backend-events.jsonl");
    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("line parses"))
            .collect();
        if lines.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(log.dropped(), 0);
    let first = &lines[0];
    assert_eq!(first["event"], json!("http.request.completed"));
    assert_eq!(first["request_id"], json!("client-id_42"));
    assert_eq!(first["method"], json!("GET"));
    assert_eq!(first["path"], json!("/ok"));
    assert_eq!(first["status_code"], json!(200));
    assert!(first["duration_ms"].is_number());
    assert!(first["timestamp"].is_string());
    assert_eq!(lines[4]["status_code"], json!(404));
}
