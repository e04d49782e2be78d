//! The one table of every documented route: method, path, what it takes (body, query) and what
//! it answers (status, body, the statuses of its own refusals). Typed bodies point at the
//! handler's own request/response types (`schemars` derives their schemas), the rest at the
//! hand-written shapes in `shapes.rs`. A test requests every entry against the real router.

use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::http::api::{AtQuery, ForkBody, JobsQuery};
use crate::http::contract::{
    CalibrationSubmit, DeleteQuery, ExperimentCreate, SessionCreate, SetupSessionRequest,
};
use crate::http::exports::ExportQuery;
use crate::http::tokens::TokenRequest;
use crate::services::feedback::{FeedbackRequest, FeedbackResponse};
use crate::services::seeds::RenewedSeed;
use crate::services::tokens::NewToken;
use crate::services::JobRecord;
use crate::steering::convergence::ConvergenceReport;
use crate::store::projections::access::TokenView;
use crate::traces::frontend::FrontendEvent;

/// Builds a schema (a `$ref` into the components, for named types).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T`, registered in the components.
pub fn typed<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// A list of `T`.
fn list_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<Vec<T>>()
}

/// A request or response body.
#[derive(Clone, Copy)]
pub enum Body {
    /// None.
    Empty,
    /// JSON of a Rust type.
    Typed(SchemaFn),
    /// JSON of a hand-written shape in `shapes.rs` (by component name).
    Shape(&'static str),
    /// Not JSON: `(media types, description)`.
    Media(&'static [&'static str], &'static str),
}

/// Which error body the route's refusals carry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Ours: `ApiError`.
    Api,
    /// A1111's: `A1111HttpError` or FastAPI's `A1111ValidationError`.
    A1111,
}

/// One documented route.
#[derive(Clone, Copy)]
pub struct Route {
    /// `get`, `post` or `delete`.
    pub method: &'static str,
    /// Path with `{param}`s.
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Status of success.
    pub success: u16,
    /// Request body.
    pub request: Body,
    /// Success body.
    pub response: Body,
    /// A struct whose fields are the query parameters.
    pub query: Option<SchemaFn>,
    /// Statuses the handler itself refuses with (the layers' are added by method).
    pub errors: &'static [u16],
    /// Error body shape.
    pub dialect: Dialect,
    /// Under the 30 s limit of ordinary API requests (may answer 408).
    pub timed: bool,
}

impl Route {
    const fn new(method: &'static str, path: &'static str, summary: &'static str) -> Route {
        Route {
            method,
            path,
            summary,
            success: 200,
            request: Body::Empty,
            response: Body::Empty,
            query: None,
            errors: &[],
            dialect: Dialect::Api,
            timed: false,
        }
    }
    const fn status(mut self, success: u16) -> Route {
        self.success = success;
        self
    }
    const fn takes(mut self, body: Body) -> Route {
        self.request = body;
        self
    }
    const fn gives(mut self, body: Body) -> Route {
        self.response = body;
        self
    }
    const fn query(mut self, query: SchemaFn) -> Route {
        self.query = Some(query);
        self
    }
    const fn refuses(mut self, errors: &'static [u16]) -> Route {
        self.errors = errors;
        self
    }
    const fn a1111(mut self) -> Route {
        self.dialect = Dialect::A1111;
        self
    }
    const fn timed(mut self) -> Route {
        self.timed = true;
        self
    }
}

const fn get(path: &'static str, summary: &'static str) -> Route {
    Route::new("get", path, summary)
}
const fn post(path: &'static str, summary: &'static str) -> Route {
    Route::new("post", path, summary)
}
const fn delete(path: &'static str, summary: &'static str) -> Route {
    Route::new("delete", path, summary)
}
const fn shape(name: &'static str) -> Body {
    Body::Shape(name)
}

const HTML: Body = Body::Media(&["text/html"], "A self-contained HTML page");
/// 404: an unknown id; 409: the session's state does not allow it.
const ID: &[u16] = &[404];
const STATEFUL: &[u16] = &[404, 409];

/// Every documented route.
pub const ROUTES: &[Route] = &[
    get("/api/health", "Server, store and engine health")
        .gives(Body::Typed(typed::<app::api::HealthReport>))
        .timed(),
    get("/api/openapi.json", "This document")
        .gives(Body::Media(&["application/json"], "OpenAPI 3.1"))
        .timed(),
    get("/api/dashboard", "Sessions for the home page")
        .gives(shape("Dashboard"))
        .timed(),
    get(
        "/setup/config-template",
        "Default strategy YAML with its comment header",
    )
    .gives(shape("ConfigTemplate")),
    post(
        "/setup/session",
        "Create an experiment and a session from YAML",
    )
    .takes(Body::Typed(typed::<SetupSessionRequest>))
    .gives(shape("SetupCreated")),
    get("/experiments", "List experiments (oldest first)").gives(Body::Shape("ExperimentList")),
    post("/experiments", "Create an experiment")
        .takes(Body::Typed(typed::<ExperimentCreate>))
        .gives(shape("Experiment")),
    get("/experiments/{id}", "One experiment")
        .gives(shape("Experiment"))
        .refuses(ID),
    get("/sessions", "List sessions (newest first)").gives(shape("SessionList")),
    post("/sessions", "Create a session")
        .takes(Body::Typed(typed::<SessionCreate>))
        .gives(shape("Session"))
        .refuses(ID),
    get("/sessions/{id}", "One session")
        .gives(shape("Session"))
        .refuses(ID),
    delete(
        "/sessions/{id}",
        "Delete a session (404 when unknown); ?purge=true removes its data",
    )
    .status(204)
    .query(typed::<DeleteQuery>)
    .refuses(STATEFUL),
    post(
        "/sessions/{id}/rounds/next",
        "Generate the next round and wait for it",
    )
    .gives(shape("RoundResponse"))
    .refuses(STATEFUL),
    post(
        "/sessions/{id}/rounds/next/async",
        "Queue the next round (202 + job)",
    )
    .status(202)
    .gives(shape("JobHandle"))
    .refuses(STATEFUL),
    post("/rounds/{id}/feedback", "Submit feedback and update z")
        .takes(Body::Typed(typed::<FeedbackRequest>))
        .gives(Body::Typed(typed::<FeedbackResponse>))
        .refuses(STATEFUL),
    post("/rounds/{id}/feedback/async", "Queue feedback (202 + job)")
        .status(202)
        .takes(Body::Typed(typed::<FeedbackRequest>))
        .gives(shape("JobHandle"))
        .refuses(STATEFUL),
    get(
        "/jobs/{id}",
        "Job snapshot; a finished round job's result is the RoundResponse",
    )
    .gives(Body::Typed(typed::<JobRecord>))
    .refuses(ID),
    get("/sessions/{id}/replay", "Replay export v1.0")
        .gives(shape("Replay"))
        .refuses(ID),
    get(
        "/sessions/{id}/trace-report",
        "Self-contained HTML trace report",
    )
    .gives(HTML)
    .refuses(ID),
    get("/sessions/{id}/convergence/json", "Convergence report")
        .gives(Body::Typed(typed::<ConvergenceReport>))
        .refuses(ID),
    post(
        "/sessions/{id}/style-calibration/generate/async",
        "Queue the 15 calibration probes",
    )
    .status(202)
    .gives(shape("JobHandle"))
    .refuses(STATEFUL),
    post(
        "/sessions/{id}/style-calibration/submit",
        "Choose calibration probes",
    )
    .takes(Body::Typed(typed::<CalibrationSubmit>))
    .gives(shape("CalibrationSubmitted"))
    .refuses(STATEFUL),
    get("/diagnostics", "Engine, model, versions, store, queue").gives(shape("Diagnostics")),
    post(
        "/frontend-events",
        "Record a frontend trace event (JSON, also sent as text/plain)",
    )
    .takes(Body::Typed(typed::<FrontendEvent>))
    .gives(shape("FrontendEventAccepted"))
    .refuses(ID),
    get("/api/sessions", "List sessions")
        .gives(shape("SessionList"))
        .timed(),
    get("/api/sessions/{id}", "Session state (latest)")
        .gives(shape("SessionState"))
        .refuses(ID)
        .timed(),
    get(
        "/api/sessions/{id}/rounds/{round}",
        "Session state at a round (time travel)",
    )
    .query(typed::<AtQuery>)
    .gives(shape("SessionState"))
    .refuses(ID)
    .timed(),
    post("/api/sessions/{id}/fork", "Fork a session at a round")
        .status(201)
        .takes(Body::Typed(typed::<ForkBody>))
        .gives(shape("Session"))
        .refuses(STATEFUL)
        .timed(),
    post(
        "/api/sessions/{id}/seed",
        "New seed: later rounds render with a fresh shared seed",
    )
    .gives(Body::Typed(typed::<RenewedSeed>))
    .refuses(STATEFUL)
    .timed(),
    get("/api/sessions/{id}/export", "Export one session")
        .query(typed::<ExportQuery>)
        .gives(Body::Media(EXPORT_TYPES, "The export file"))
        .refuses(ID),
    get("/api/export", "Export the whole store")
        .query(typed::<ExportQuery>)
        .gives(Body::Media(EXPORT_TYPES, "The export file")),
    get("/api/sessions/{id}/trace-report", "HTML trace report")
        .gives(HTML)
        .refuses(ID),
    get("/api/artifacts/{hash}", "An image by content hash")
        .gives(Body::Media(&["image/png"], "The PNG"))
        .refuses(ID)
        .timed(),
    get("/api/jobs", "List jobs, newest first")
        .query(typed::<JobsQuery>)
        .gives(Body::Typed(list_of::<JobRecord>))
        .refuses(ID)
        .timed(),
    get("/api/jobs/{id}", "Job snapshot with runner invocations")
        .gives(Body::Typed(typed::<JobRecord>))
        .refuses(ID)
        .timed(),
    get(
        "/api/jobs/{id}/events",
        "Job progress as Server-Sent Events (Last-Event-ID resumes)",
    )
    .gives(Body::Media(&["text/event-stream"], "Progress events"))
    .refuses(ID),
    post(
        "/api/jobs/{id}/cancel",
        "Cancel a queued or running job; answers at once",
    )
    .gives(Body::Typed(typed::<JobRecord>))
    .refuses(STATEFUL)
    .timed(),
    post("/api/jobs/{id}/retry", "Retry a failed or cancelled job")
        .status(202)
        .gives(Body::Typed(typed::<JobRecord>))
        .refuses(STATEFUL)
        .timed(),
    get("/api/tokens", "API tokens (secrets are never listed)")
        .gives(Body::Typed(list_of::<TokenView>))
        .timed(),
    post(
        "/api/tokens",
        "Create an API token; its secret is answered once",
    )
    .status(201)
    .takes(Body::Typed(typed::<TokenRequest>))
    .gives(Body::Typed(typed::<NewToken>))
    .timed(),
    delete("/api/tokens/{id}", "Revoke an API token")
        .status(204)
        .refuses(ID)
        .timed(),
    get("/api/diagnostics", "Same as /diagnostics")
        .gives(shape("Diagnostics"))
        .timed(),
    post("/sdapi/v1/txt2img", "A1111 txt2img")
        .takes(shape("A1111GenerationRequest"))
        .gives(shape("A1111Images"))
        .refuses(&[404, 409])
        .a1111(),
    post("/sdapi/v1/img2img", "A1111 img2img")
        .takes(shape("A1111Img2ImgRequest"))
        .gives(shape("A1111Images"))
        .refuses(&[404, 409])
        .a1111(),
    get("/sdapi/v1/progress", "A1111 progress of the caller's job")
        .gives(shape("A1111Progress"))
        .a1111(),
    post("/sdapi/v1/interrupt", "A1111 interrupt the caller's job")
        .gives(shape("A1111Object"))
        .a1111(),
    post("/sdapi/v1/skip", "A1111 skip the caller's job")
        .gives(shape("A1111Null"))
        .a1111(),
    get("/sdapi/v1/options", "A1111 options")
        .gives(shape("A1111Options"))
        .a1111(),
    post("/sdapi/v1/options", "A1111 set options")
        .takes(shape("A1111Options"))
        .gives(shape("A1111Null"))
        .a1111(),
    get("/sdapi/v1/samplers", "A1111 samplers")
        .gives(shape("A1111List"))
        .a1111(),
    get("/sdapi/v1/schedulers", "A1111 schedulers")
        .gives(shape("A1111List"))
        .a1111(),
    get("/sdapi/v1/sd-models", "A1111 models")
        .gives(shape("A1111List"))
        .a1111(),
    get("/sdapi/v1/scripts", "A1111 scripts")
        .gives(shape("A1111Object"))
        .a1111(),
    post("/sdapi/v1/png-info", "A1111 PNG info")
        .takes(shape("A1111PngInfoRequest"))
        .gives(shape("A1111PngInfo"))
        .a1111(),
];

/// What the export routes may answer, by `format`.
const EXPORT_TYPES: &[&str] = &[
    "application/x-ndjson",
    "text/csv",
    "application/vnd.apache.parquet",
    "application/zip",
];
