//! `GET /api/openapi.json`: an OpenAPI 3.1 document assembled from [`table::ROUTES`], the one
//! table of every JSON route. Request and response bodies of typed handlers are derived from
//! their Rust types with `schemars` (JSON Schema 2020-12, which OpenAPI 3.1 uses); the statuses
//! each route can answer are its own refusals plus those of the layers in front of it (Host and
//! Origin guard, rate limit, idempotency, body limit, time limit), each with its error body.
//!
//! A test requests every entry against the real router, and `make test` runs schemathesis over
//! the document (0 server errors, 0 schema violations), so the document cannot drift.

mod links;
mod shapes;
mod table;

use axum::routing::get;
use axum::{Json, Router};
use schemars::generate::{Contract, SchemaSettings};
use schemars::{Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

pub use table::{Body, Dialect, Route, ROUTES};

use crate::state::AppState;
use crate::steering::kinds::FeedbackMode;

/// Why each status is answered (used as the response description).
fn describe(status: u16) -> &'static str {
    match status {
        400 => "invalid input (the body names the field or parameter)",
        401 => "no valid API token (with `serve --auth token`)",
        403 => "a browser page of another origin (Origin / Sec-Fetch-Site)",
        404 => "unknown id",
        408 => "the request ran past the API's time limit",
        409 => "the state does not allow it (a job is running, the round is stale, the Idempotency-Key is in use)",
        413 => "body too large",
        415 => "not JSON (simple content types are refused on state-changing routes)",
        421 => "a Host this server does not answer to (DNS-rebinding guard)",
        422 => "body of the wrong shape, or more work than one request may queue",
        429 => "rate limit; see Retry-After",
        503 => "the store's write queue is full; retry",
        507 => "the disk is full; nothing was recorded",
        _ => "refused",
    }
}

/// Every status `route` may answer besides success: its own and its layers'.
fn error_statuses(route: &Route) -> Vec<u16> {
    let mut statuses: Vec<u16> = route.errors.to_vec();
    // Every request: the Host guard and the rate limit; with `--auth token`, the token.
    statuses.extend([421, 429]);
    if route.path != "/api/health" {
        statuses.push(401);
    }
    if route.path.contains('{') {
        statuses.push(404);
    }
    if route.method != "get" {
        // The Origin guard, content types, the store's back-pressure.
        statuses.extend([403, 415, 503, 507]);
    }
    if route.method == "post" {
        // A malformed or reused Idempotency-Key, one still in flight.
        statuses.extend([400, 409, 422]);
    }
    if !matches!(route.request, Body::Empty) {
        statuses.extend([400, 413, 415, 422]);
    }
    if route.query.is_some() || route.path.contains("{round}") {
        statuses.push(400);
    }
    if route.timed {
        statuses.push(408);
    }
    statuses.sort_unstable();
    statuses.dedup();
    statuses.retain(|s| *s != route.success);
    statuses
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error_schema(dialect: Dialect) -> Value {
    match dialect {
        Dialect::Api => schema_ref("ApiError"),
        Dialect::A1111 => {
            json!({"anyOf": [schema_ref("A1111HttpError"), schema_ref("A1111ValidationError")]})
        }
    }
}

/// Requests are described as handlers read them (serde defaults make fields optional), answers
/// as handlers write them.
struct Generators {
    request: SchemaGenerator,
    response: SchemaGenerator,
}

impl Generators {
    fn new() -> Generators {
        let with = |contract: Contract| {
            SchemaSettings::draft2020_12()
                .with(|s| {
                    s.definitions_path = "/components/schemas".into();
                    s.meta_schema = None;
                    s.contract = contract;
                })
                .into_generator()
        };
        Generators {
            request: with(Contract::Deserialize),
            response: with(Contract::Serialize),
        }
    }

    /// Both generators' named schemas (no type is both read and written, so names are unique).
    fn into_definitions(mut self) -> Map<String, Value> {
        let mut all: Map<String, Value> =
            self.response.take_definitions(true).into_iter().collect();
        all.extend(self.request.take_definitions(true));
        all
    }
}

/// `content` of a body, or `None` for an empty one.
fn content(body: Body, generator: &mut SchemaGenerator) -> Option<Value> {
    match body {
        Body::Empty => None,
        Body::Typed(schema) => Some(json!({"application/json": {"schema": schema(generator)}})),
        Body::Shape(name) => Some(json!({"application/json": {"schema": schema_ref(name)}})),
        Body::Media(types, _) => Some(Value::Object(
            types.iter().map(|t| (t.to_string(), json!({}))).collect(),
        )),
    }
}

/// The parameters of `route`: its path ids (UUIDs, hashes, round numbers), the fields of its
/// query struct, and `Idempotency-Key` on POSTs.
fn parameters(route: &Route, generator: &mut SchemaGenerator) -> Vec<Value> {
    let mut params: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let schema = match name {
                "round" => json!({"type": "integer", "minimum": 0}),
                "hash" => json!({"type": "string", "pattern": "^[0-9a-f]{64}$"}),
                _ => json!({"type": "string", "format": "uuid"}),
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    if let Some(query) = route.query {
        let schema = query(generator);
        let resolved = resolve(&schema, generator);
        let required: Vec<&str> = resolved
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(Value::Object(props)) = resolved.get("properties") {
            for (name, schema) in props {
                params.push(json!({
                    "name": name, "in": "query", "required": required.contains(&name.as_str()),
                    "schema": strip_null(schema.clone()),
                }));
            }
        }
    }
    if route.method == "post" {
        params.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "A retry with the same key gets the first successful answer again (also after a restart)",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}
        }));
    }
    params
}

/// A query struct's schema, looked up in the generator's definitions when it is a `$ref`.
fn resolve(schema: &Schema, generator: &SchemaGenerator) -> Value {
    let value = schema.as_value().clone();
    let Some(name) = value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
    else {
        return value;
    };
    generator.definitions().get(name).cloned().unwrap_or(value)
}

/// `["string", "null"]` → `"string"`: a query parameter is absent rather than null.
fn strip_null(mut schema: Value) -> Value {
    if let Some(Value::Array(types)) = schema.get("type") {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if kept.len() == 1 {
            schema["type"] = kept[0].clone();
        }
    }
    schema
}

fn operation(route: &Route, generators: &mut Generators) -> Value {
    let mut responses = Map::new();
    let success = match content(route.response, &mut generators.response) {
        Some(content) => json!({"description": "success", "content": content}),
        None => json!({"description": "success, no body"}),
    };
    responses.insert(route.success.to_string(), success);
    for status in error_statuses(route) {
        responses.insert(
            status.to_string(),
            json!({"description": describe(status),
                   "content": {"application/json": {"schema": error_schema(route.dialect)}}}),
        );
    }
    let mut op = json!({
        "operationId": links::operation_id(route.method, route.path),
        "summary": route.summary,
        "parameters": parameters(route, &mut generators.request),
        "responses": responses,
    });
    if let Some(content) = content(route.request, &mut generators.request) {
        let limit = body_limit(route.path);
        op["requestBody"] = json!({
            "required": true,
            "description": format!("At most {} KiB (413 beyond)", limit / 1024),
            "x-max-body-bytes": limit,
            "content": content,
        });
    }
    op
}

/// The body limit the router applies to `path` (see `http/mod.rs` and `a1111/mod.rs`).
fn body_limit(path: &str) -> usize {
    match path {
        "/sdapi/v1/txt2img" | "/sdapi/v1/img2img" | "/sdapi/v1/png-info" => {
            crate::http::a1111::IMAGE_BODY_LIMIT
        }
        p if p.starts_with("/sdapi/") => crate::http::a1111::SMALL_BODY_LIMIT,
        "/frontend-events" => crate::http::traces::MAX_FRONTEND_BODY,
        _ => crate::http::JSON_BODY_LIMIT,
    }
}

/// The OpenAPI document.
pub fn openapi() -> Value {
    let mut generators = Generators::new();
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        entry[route.method] = operation(route, &mut generators);
    }
    let mut schemas = generators.into_definitions();
    for (name, schema) in shapes::components() {
        schemas.insert(name.to_string(), schema);
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "StableSteering",
            "version": crate::VERSION,
            "description": "Steering Stable Diffusion by preference. The reference's routes, our /api additions and an AUTOMATIC1111-compatible /sdapi/v1. Errors carry {error_code, message, field}; /sdapi/v1 errors carry A1111's own shapes."
        },
        "paths": paths,
        "components": {"schemas": schemas},
    });
    links::add(&mut doc);
    doc
}

/// The schema of `FeedbackRequest::feedback_type`: one of the feedback modes.
pub fn feedback_modes(_: &mut SchemaGenerator) -> Schema {
    let modes: Vec<&str> = FeedbackMode::ALL.iter().map(|m| m.as_str()).collect();
    schemars::json_schema!({"type": "string", "enum": modes})
}

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(document))
}

async fn document() -> Json<Value> {
    Json(openapi())
}
