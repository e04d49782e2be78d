//! JSON Schemas of the answers that handlers build with `json!` from the projections (the
//! reference's `Session`, `Round`, `Experiment`, `ReplayExport`, ...), and of the A1111 routes,
//! whose shapes are A1111's. Typed answers get theirs from `schemars` instead (see `table.rs`).
//!
//! Each schema names the fields the handler always writes as `required`, so schemathesis'
//! response-schema check (in `make test`) fails when a view drops or retypes one; extra fields
//! are allowed, as the reference's clients ignore them.

use serde_json::{json, Value};

use crate::services::ErrorKind;

/// A nullable `schema`.
fn nullable(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

fn uuid() -> Value {
    json!({"type": "string", "format": "uuid"})
}

fn floats() -> Value {
    json!({"type": "array", "items": {"type": "number"}})
}

/// `(name, schema)` of every hand-written component.
pub fn components() -> Vec<(&'static str, Value)> {
    vec![
        ("ApiError", api_error()),
        ("A1111HttpError", a1111_http_error()),
        ("A1111ValidationError", a1111_validation_error()),
        ("Session", session()),
        ("SessionSummary", session_summary()),
        ("Experiment", experiment()),
        (
            "ExperimentList",
            json!({"type": "array", "items": {"$ref": "#/components/schemas/Experiment"}}),
        ),
        (
            "SessionList",
            json!({"type": "array", "items": {"$ref": "#/components/schemas/SessionSummary"}}),
        ),
        ("Candidate", candidate()),
        ("RoundResponse", round_response()),
        ("Replay", replay()),
        ("SessionState", session_state()),
        ("SetupCreated", setup_created()),
        (
            "ConfigTemplate",
            object(&["config_yaml"], json!({"config_yaml": {"type": "string"}})),
        ),
        ("JobHandle", job_handle()),
        ("CalibrationSubmitted", calibration_submitted()),
        (
            "FrontendEventAccepted",
            object(&["ok"], json!({"ok": {"type": "boolean"}})),
        ),
        ("Diagnostics", diagnostics()),
        ("Dashboard", json!({"type": "object"})),
        ("A1111Images", a1111_images()),
        ("A1111Progress", a1111_progress()),
        ("A1111PngInfo", a1111_png_info()),
        ("A1111GenerationRequest", a1111_generation_request(false)),
        ("A1111Img2ImgRequest", a1111_generation_request(true)),
        (
            "A1111PngInfoRequest",
            object(&["image"], json!({"image": {"type": "string"}})),
        ),
        ("A1111Options", json!({"type": "object"})),
        (
            "A1111List",
            json!({"type": "array", "items": {"type": "object"}}),
        ),
        ("A1111Object", json!({"type": "object"})),
        ("A1111Null", json!({"type": "null"})),
    ]
}

/// Our error body; `error_code` is one of [`ErrorKind`]'s codes.
fn api_error() -> Value {
    let mut codes: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
    // Two kinds share `invalid_input` (400 and 422).
    codes.sort_unstable();
    codes.dedup();
    json!({
        "type": "object",
        "required": ["error_code", "message"],
        "properties": {
            "error_code": {"type": "string", "enum": codes},
            "message": {"type": "string"},
            "field": {"type": "string", "description": "The request field or parameter at fault"},
            "line": {"type": "integer", "description": "The line of a YAML config at fault"}
        }
    })
}

/// A1111's `HTTPException` body (its exception middleware's shape).
fn a1111_http_error() -> Value {
    object(
        &["error", "detail"],
        json!({
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "body": {"type": "string"},
            "errors": {"type": "string"}
        }),
    )
}

/// FastAPI's request-validation body.
fn a1111_validation_error() -> Value {
    object(
        &["detail"],
        json!({"detail": {"type": "array", "items": object(&["loc", "msg", "type"], json!({
            "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
            "msg": {"type": "string"},
            "type": {"type": "string"}
        }))}}),
    )
}

fn lineage_link() -> Value {
    object(
        &["session_id", "round"],
        json!({"session_id": uuid(), "round": {"type": "integer", "minimum": 0}}),
    )
}

fn session() -> Value {
    object(
        &[
            "id",
            "experiment_id",
            "prompt",
            "negative_prompt",
            "status",
            "current_round",
            "current_z",
            "converged",
            "config",
            "created_at",
            "updated_at",
            "awaiting_feedback",
            "lineage",
            "version",
        ],
        json!({
            "id": uuid(),
            "experiment_id": {"type": "string", "description": "A UUID, or `ad_hoc`"},
            "prompt": {"type": "string"},
            "negative_prompt": {"type": "string"},
            "model_name": {"type": "string"},
            "status": {"type": "string"},
            "basis_type": {"type": "string"},
            "current_round": {"type": "integer", "minimum": 0},
            "current_z": floats(),
            "converged": {"type": "boolean"},
            "rounds_to_convergence": nullable(json!({"type": "integer"})),
            "incumbent_candidate_id": nullable(json!({"type": "string"})),
            "config": {"type": ["object", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "latest_round_id": nullable(uuid()),
            "awaiting_feedback": {"type": "boolean"},
            "active_job_id": nullable(uuid()),
            "has_calibration": {"type": "boolean"},
            "lineage": object(&["parent", "children"], json!({
                "parent": nullable(lineage_link()),
                "children": {"type": "array", "items": lineage_link()}
            })),
            "trajectory_length": {"type": "integer", "minimum": 0},
            "version": {"type": "integer", "minimum": 0}
        }),
    )
}

fn session_summary() -> Value {
    object(
        &[
            "id",
            "prompt",
            "status",
            "current_round",
            "converged",
            "created_at",
        ],
        json!({
            "id": uuid(),
            "experiment_id": nullable(uuid()),
            "prompt": {"type": "string"},
            "status": {"type": "string"},
            "current_round": {"type": "integer", "minimum": 0},
            "rounds": {"type": "integer", "minimum": 0},
            "converged": {"type": "boolean"},
            "parent": nullable(lineage_link()),
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}
        }),
    )
}

fn experiment() -> Value {
    object(
        &[
            "id",
            "name",
            "description",
            "status",
            "created_at",
            "config",
            "session_ids",
        ],
        json!({
            "id": uuid(),
            "name": {"type": "string"},
            "description": {"type": "string"},
            "status": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "config": {"type": ["object", "null"]},
            "session_ids": {"type": "array", "items": uuid()}
        }),
    )
}

fn candidate() -> Value {
    object(
        &[
            "id",
            "round_id",
            "candidate_index",
            "z",
            "seed",
            "render_status",
        ],
        json!({
            "id": {"type": "string"},
            "round_id": uuid(),
            "candidate_index": {"type": "integer", "minimum": 0},
            "z": floats(),
            "sampler_role": {"type": "string"},
            "seed": {"type": "integer", "minimum": 0},
            "generation_params": {"type": "object"},
            "image_path": nullable(json!({"type": "string"})),
            "artifact_hash": nullable(json!({"type": "string"})),
            "render_status": {"type": "string", "enum": ["succeeded", "pending"]}
        }),
    )
}

fn round_response() -> Value {
    object(
        &[
            "round_id",
            "round_index",
            "candidate_metadata",
            "image_urls",
            "state_summary",
        ],
        json!({
            "round_id": uuid(),
            "round_index": {"type": "integer", "minimum": 0},
            "candidate_metadata": {"type": "array", "items": {"$ref": "#/components/schemas/Candidate"}},
            "image_urls": {"type": "array", "items": {"type": ["string", "null"]}},
            "state_summary": {"type": "object"}
        }),
    )
}

fn replay() -> Value {
    object(
        &[
            "schema_version",
            "app_version",
            "session",
            "rounds",
            "exported_at",
            "trajectory",
        ],
        json!({
            "schema_version": {"type": "string"},
            "app_version": {"type": "string"},
            "experiment": {"type": ["object", "null"]},
            "session": {"$ref": "#/components/schemas/Session"},
            "rounds": {"type": "array", "items": {"type": "object"}},
            "exported_at": {"type": "string", "format": "date-time"},
            "trajectory": {"type": "array", "items": {"type": "object"}},
            "event_count": {"type": "integer", "minimum": 0}
        }),
    )
}

fn session_state() -> Value {
    json!({"allOf": [{"$ref": "#/components/schemas/Replay"}, object(
        &["convergence", "belief", "active_job"],
        json!({
            "convergence": {"type": ["object", "null"]},
            "belief": {"type": ["object", "null"]},
            "active_job": {"type": ["object", "string", "null"]},
            "taste_profile": {"type": ["object", "null"]},
            "as_of": object(&["round", "point"], json!({
                "round": {"type": "integer", "minimum": 0},
                "point": {"type": "string", "enum": ["end", "before_feedback"]}
            }))
        }),
    )]})
}

fn setup_created() -> Value {
    object(
        &["experiment", "session"],
        json!({
            "experiment": nullable(json!({"$ref": "#/components/schemas/Experiment"})),
            "session": {"$ref": "#/components/schemas/Session"}
        }),
    )
}

fn job_handle() -> Value {
    object(
        &["job_id", "status_url", "events_url", "state"],
        json!({
            "job_id": uuid(),
            "status_url": {"type": "string"},
            "events_url": {"type": "string"},
            "state": {"type": "string", "enum": ["queued", "running"]},
            "round_id": nullable(uuid())
        }),
    )
}

fn calibration_submitted() -> Value {
    object(
        &["ok", "current_z"],
        json!({"ok": {"type": "boolean"}, "current_z": floats()}),
    )
}

fn diagnostics() -> Value {
    object(
        &[
            "backend",
            "model_name",
            "active_device",
            "versions",
            "store",
            "queue",
        ],
        json!({
            "backend": {"type": "string"},
            "model_source": nullable(json!({"type": "string"})),
            "model_name": {"type": "string"},
            "demo_model": {"type": "boolean"},
            "configured_device": {"type": "string"},
            "active_device": {"type": "string"},
            "cuda_available": {"type": "boolean"},
            "default_size": {"type": "integer"},
            "versions": {"type": "object"},
            "store": object(&["backend", "status", "event_count"], json!({
                "backend": {"type": "string"},
                "status": {"type": "string"},
                "event_count": {"type": "integer", "minimum": 0}
            })),
            "queue": object(&["queued", "running", "runner_invocations"], json!({
                "queued": {"type": "integer", "minimum": 0},
                "running": {"type": "integer", "minimum": 0},
                "runner_invocations": {"type": "integer", "minimum": 0}
            }))
        }),
    )
}

fn a1111_images() -> Value {
    object(
        &["images", "parameters", "info"],
        json!({
            "images": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}},
            "parameters": {"type": "object"},
            "info": {"type": "string", "description": "JSON text, as A1111 sends it"}
        }),
    )
}

fn a1111_progress() -> Value {
    object(
        &["progress", "eta_relative", "state"],
        json!({
            "progress": {"type": "number", "minimum": 0, "maximum": 1},
            "eta_relative": {"type": "number"},
            "state": {"type": "object"},
            "current_image": nullable(json!({"type": "string"})),
            "textinfo": nullable(json!({"type": "string"}))
        }),
    )
}

fn a1111_png_info() -> Value {
    object(
        &["info", "items"],
        json!({
            "info": {"type": "string"},
            "items": {"type": "object"},
            "parameters": {"type": "object"}
        }),
    )
}

/// The fields of A1111's `StableDiffusionProcessingTxt2Img` this server reads (every one
/// nullable, as in A1111; others are accepted and echoed).
fn a1111_generation_request(img2img: bool) -> Value {
    let text = || nullable(json!({"type": "string"}));
    let int =
        |min: i64, max: i64| nullable(json!({"type": "integer", "minimum": min, "maximum": max}));
    let mut properties = json!({
        "prompt": text(),
        "negative_prompt": text(),
        "seed": nullable(json!({"type": "integer"})),
        "subseed": nullable(json!({"type": "integer"})),
        "subseed_strength": nullable(json!({"type": "number"})),
        "sampler_name": text(),
        "sampler_index": text(),
        "scheduler": text(),
        "steps": int(1, 150),
        "cfg_scale": nullable(json!({"type": "number", "minimum": 0, "maximum": 30})),
        "width": int(64, 2048),
        "height": int(64, 2048),
        "batch_size": int(1, 8),
        "n_iter": int(1, 8),
        "send_images": nullable(json!({"type": "boolean"})),
        "override_settings": nullable(json!({"type": "object"}))
    });
    if img2img {
        properties["init_images"] = nullable(json!({
            "type": "array", "items": {"type": "string", "contentEncoding": "base64"}
        }));
        properties["denoising_strength"] =
            nullable(json!({"type": "number", "exclusiveMinimum": 0, "maximum": 1}));
        properties["include_init_images"] = nullable(json!({"type": "boolean"}));
    }
    json!({"type": "object", "properties": properties})
}
