//! `GET /api/openapi.json`: an OpenAPI 3.1 document generated from [`ROUTES`], the one table of
//! every JSON route; a test requests each entry against the real router, so the document cannot
//! list a route that does not exist.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::state::AppState;

/// `(method, path, summary, success status)` of every documented route.
pub const ROUTES: &[(&str, &str, &str, u16)] = &[
    ("get", "/api/health", "Server, store and engine health", 200),
    ("get", "/api/openapi.json", "This document", 200),
    (
        "get",
        "/setup/config-template",
        "Default strategy YAML with its comment header",
        200,
    ),
    (
        "post",
        "/setup/session",
        "Create an experiment and a session from YAML",
        200,
    ),
    (
        "get",
        "/experiments",
        "List experiments (oldest first)",
        200,
    ),
    ("post", "/experiments", "Create an experiment", 200),
    ("get", "/experiments/{id}", "One experiment", 200),
    ("get", "/sessions", "List sessions (newest first)", 200),
    ("post", "/sessions", "Create a session", 200),
    ("get", "/sessions/{id}", "One session", 200),
    (
        "delete",
        "/sessions/{id}",
        "Delete a session (404 when unknown)",
        204,
    ),
    (
        "post",
        "/sessions/{id}/rounds/next",
        "Generate the next round and wait for it",
        200,
    ),
    (
        "post",
        "/sessions/{id}/rounds/next/async",
        "Queue the next round (202 + job)",
        202,
    ),
    (
        "post",
        "/rounds/{id}/feedback",
        "Submit feedback and update z",
        200,
    ),
    (
        "post",
        "/rounds/{id}/feedback/async",
        "Queue feedback (202 + job)",
        202,
    ),
    ("get", "/jobs/{id}", "Job snapshot", 200),
    ("get", "/sessions/{id}/replay", "Replay export v1.0", 200),
    (
        "get",
        "/sessions/{id}/trace-report",
        "Self-contained HTML trace report",
        200,
    ),
    (
        "get",
        "/sessions/{id}/convergence/json",
        "Convergence report",
        200,
    ),
    (
        "post",
        "/sessions/{id}/style-calibration/generate/async",
        "Queue the 15 calibration probes",
        202,
    ),
    (
        "post",
        "/sessions/{id}/style-calibration/submit",
        "Choose calibration probes",
        200,
    ),
    (
        "get",
        "/diagnostics",
        "Engine, model, versions, store, queue",
        200,
    ),
    (
        "post",
        "/frontend-events",
        "Record a frontend trace event",
        200,
    ),
    ("get", "/api/sessions", "List sessions", 200),
    ("get", "/api/sessions/{id}", "Session state (latest)", 200),
    (
        "get",
        "/api/sessions/{id}/rounds/{round}",
        "Session state at round r (time travel; ?point=end|before_feedback)",
        200,
    ),
    (
        "post",
        "/api/sessions/{id}/fork",
        "Fork a session at round r",
        201,
    ),
    (
        "post",
        "/api/sessions/{id}/seed",
        "New seed: later rounds render with a fresh shared seed",
        200,
    ),
    (
        "get",
        "/api/sessions/{id}/export",
        "Export (?format=jsonl|csv|parquet|bundle)",
        200,
    ),
    (
        "get",
        "/api/sessions/{id}/trace-report",
        "HTML trace report",
        200,
    ),
    (
        "get",
        "/api/artifacts/{hash}",
        "An image by content hash",
        200,
    ),
    ("get", "/api/jobs", "List jobs (?session_id, ?limit)", 200),
    (
        "get",
        "/api/jobs/{id}",
        "Job snapshot with runner invocations",
        200,
    ),
    (
        "get",
        "/api/jobs/{id}/events",
        "Job progress as Server-Sent Events (Last-Event-ID resumes)",
        200,
    ),
    (
        "post",
        "/api/jobs/{id}/cancel",
        "Cancel a queued or running job",
        200,
    ),
    (
        "post",
        "/api/jobs/{id}/retry",
        "Retry a failed or cancelled job",
        202,
    ),
    ("get", "/api/diagnostics", "Same as /diagnostics", 200),
    ("post", "/sdapi/v1/txt2img", "A1111 txt2img", 200),
    ("post", "/sdapi/v1/img2img", "A1111 img2img", 200),
    (
        "get",
        "/sdapi/v1/progress",
        "A1111 progress of the caller's job",
        200,
    ),
    (
        "post",
        "/sdapi/v1/interrupt",
        "A1111 interrupt the caller's job",
        200,
    ),
    ("post", "/sdapi/v1/skip", "A1111 skip the caller's job", 200),
    ("get", "/sdapi/v1/options", "A1111 options", 200),
    ("post", "/sdapi/v1/options", "A1111 set options", 200),
    ("get", "/sdapi/v1/samplers", "A1111 samplers", 200),
    ("get", "/sdapi/v1/schedulers", "A1111 schedulers", 200),
    ("get", "/sdapi/v1/sd-models", "A1111 models", 200),
    ("get", "/sdapi/v1/scripts", "A1111 scripts", 200),
    ("post", "/sdapi/v1/png-info", "A1111 PNG info", 200),
];

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(document))
}

/// The OpenAPI document.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for (method, path, summary, status) in ROUTES {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        let params: Vec<Value> = path
            .split('/')
            .filter(|s| s.starts_with('{'))
            .map(|s| {
                json!({"name": s.trim_matches(|c| c == '{' || c == '}'), "in": "path", "required": true,
                       "schema": {"type": "string"}})
            })
            .collect();
        let mut responses = Map::new();
        responses.insert(status.to_string(), json!({"description": "success"}));
        for (code, what) in [
            ("400", "invalid input"),
            ("404", "unknown id"),
            ("409", "conflicts with the session's state"),
            ("413", "body too large"),
            ("422", "body of the wrong shape"),
        ] {
            responses.insert(
                code.into(),
                json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}}),
            );
        }
        entry[*method] = json!({"summary": summary, "parameters": params, "responses": responses});
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "StableSteering", "version": crate::VERSION},
        "paths": paths,
        "components": {"schemas": {"ApiError": {
            "type": "object",
            "required": ["error_code", "message"],
            "properties": {
                "error_code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "line": {"type": "integer"}
            }
        }}}
    })
}

async fn document() -> Json<Value> {
    Json(openapi())
}
