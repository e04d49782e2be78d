//! OpenAPI links: which answer supplies which id to which route (a created session's `id` to
//! every `/sessions/{id}` route, a queued job's `job_id` to `/jobs/{id}`, ...). They document
//! the flows and let schemathesis' stateful phase reach real sessions, rounds and jobs instead
//! of only unknown ids.

use serde_json::{json, Value};

/// `(method, path, status)` of an answer, the JSON pointer of the id in it, and the
/// `(method, path)` of the routes that take it as `{id}`.
struct Source {
    method: &'static str,
    path: &'static str,
    status: &'static str,
    pointer: &'static str,
    targets: &'static [(&'static str, &'static str)],
}

const SESSION_ROUTES: &[(&str, &str)] = &[
    ("get", "/sessions/{id}"),
    ("get", "/api/sessions/{id}"),
    ("get", "/sessions/{id}/replay"),
    ("get", "/sessions/{id}/convergence/json"),
    ("get", "/sessions/{id}/trace-report"),
    ("get", "/api/sessions/{id}/export"),
    ("post", "/sessions/{id}/rounds/next"),
    ("post", "/sessions/{id}/rounds/next/async"),
    ("post", "/api/sessions/{id}/seed"),
    ("post", "/api/sessions/{id}/fork"),
    ("delete", "/sessions/{id}"),
];

const JOB_ROUTES: &[(&str, &str)] = &[
    ("get", "/jobs/{id}"),
    ("get", "/api/jobs/{id}"),
    ("post", "/api/jobs/{id}/cancel"),
    ("post", "/api/jobs/{id}/retry"),
];

const ROUND_ROUTES: &[(&str, &str)] = &[
    ("post", "/rounds/{id}/feedback"),
    ("post", "/rounds/{id}/feedback/async"),
];

const SOURCES: &[Source] = &[
    Source {
        method: "post",
        path: "/sessions",
        status: "200",
        pointer: "/id",
        targets: SESSION_ROUTES,
    },
    Source {
        method: "post",
        path: "/setup/session",
        status: "200",
        pointer: "/session/id",
        targets: SESSION_ROUTES,
    },
    Source {
        method: "post",
        path: "/api/sessions/{id}/fork",
        status: "201",
        pointer: "/id",
        targets: SESSION_ROUTES,
    },
    Source {
        method: "post",
        path: "/experiments",
        status: "200",
        pointer: "/id",
        targets: &[("get", "/experiments/{id}")],
    },
    Source {
        method: "post",
        path: "/sessions/{id}/rounds/next/async",
        status: "202",
        pointer: "/job_id",
        targets: JOB_ROUTES,
    },
    Source {
        method: "post",
        path: "/sessions/{id}/rounds/next",
        status: "200",
        pointer: "/round_id",
        targets: ROUND_ROUTES,
    },
];

/// `post /sessions/{id}/rounds/next` → `post_sessions_id_rounds_next`.
pub fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_string();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        id.push('_');
        id.extend(part.chars().filter(|c| !matches!(c, '{' | '}')).map(|c| {
            if c.is_ascii_alphanumeric() {
                c
            } else {
                '_'
            }
        }));
    }
    id
}

/// Adds the links to the success responses of `doc`.
pub fn add(doc: &mut Value) {
    for source in SOURCES {
        let Some(response) = doc
            .pointer_mut(&format!(
                "/paths/{}/{}/responses/{}",
                escape(source.path),
                source.method,
                source.status
            ))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let links: serde_json::Map<String, Value> = source
            .targets
            .iter()
            .map(|(method, path)| {
                let target = operation_id(method, path);
                (
                    target.clone(),
                    json!({"operationId": target,
                           "parameters": {"id": format!("$response.body#{}", source.pointer)}}),
                )
            })
            .collect();
        response.insert("links".into(), Value::Object(links));
    }
}

/// A path as a JSON pointer segment (`/` → `~1`).
fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}
