//! The reference's HTTP contract (`reference-system.md` §2.1): same paths and shapes, with its
//! holes closed — one job per session (409), stale-round feedback refused (409), DELETE of an
//! unknown session 404, and 4xx (never 500) for bad input.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{parse_id, ApiError, ApiResult, JsonBody, QueryParams};
use super::views;
use crate::services::feedback::FeedbackRequest;
use crate::services::history::{require_session, with_session};
use crate::services::ServiceError;
use crate::state::AppState;

/// Longest a synchronous round request waits before answering with the job handle instead.
pub const SYNC_WAIT: Duration = Duration::from_secs(600);

/// The contract routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/setup/config-template", get(config_template))
        .route("/setup/session", post(setup_session))
        .route(
            "/experiments",
            get(list_experiments).post(create_experiment),
        )
        .route("/experiments/{id}", get(get_experiment))
        .route("/sessions", get(list_sessions).post(create_session))
        .route("/sessions/{id}", get(get_session).delete(delete_session))
        .route("/sessions/{id}/rounds/next", post(next_round_sync))
        .route("/sessions/{id}/rounds/next/async", post(next_round_async))
        .route("/rounds/{id}/feedback", post(feedback_sync))
        .route("/rounds/{id}/feedback/async", post(feedback_async))
        .route("/jobs/{id}", get(get_job))
        .route("/sessions/{id}/replay", get(replay))
        .route("/sessions/{id}/convergence/json", get(convergence))
        .route(
            "/sessions/{id}/style-calibration/generate/async",
            post(calibration_generate),
        )
        .route(
            "/sessions/{id}/style-calibration/submit",
            post(calibration_submit),
        )
        .route("/diagnostics", get(diagnostics))
}

async fn config_template(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"config_yaml": state.services.config_template()}))
}

/// The body of `POST /setup/session`.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct SetupSessionRequest {
    #[serde(default)]
    experiment_name: String,
    #[serde(default)]
    description: String,
    prompt: String,
    #[serde(default)]
    negative_prompt: String,
    #[serde(default)]
    config_yaml: String,
}

async fn setup_session(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<SetupSessionRequest>,
) -> ApiResult<Json<Value>> {
    let created = state
        .services
        .setup_session(
            &req.experiment_name,
            &req.description,
            &req.prompt,
            &req.negative_prompt,
            &req.config_yaml,
        )
        .await?;
    let session = require_session(&state.store, created.session_id)?;
    let experiment = created.experiment_id.and_then(|e| {
        state
            .store
            .with_projections(|p| p.experiments.get(&e).map(views::experiment_json))
    });
    Ok(Json(json!({
        "experiment": experiment,
        "session": views::session_json(&session, &state.services),
    })))
}

/// The body of `POST /experiments`.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct ExperimentCreate {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    config: Value,
}

async fn create_experiment(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<ExperimentCreate>,
) -> ApiResult<Json<Value>> {
    let config = state.services.parse_config_json(&req.config)?;
    let id = state
        .services
        .create_experiment(&req.name, &req.description, &config)
        .await?;
    experiment_by_id(&state, id).map(Json)
}

fn experiment_by_id(state: &AppState, id: uuid::Uuid) -> ApiResult<Value> {
    state
        .store
        .with_projections(|p| p.experiments.get(&id).map(views::experiment_json))
        .ok_or_else(|| ApiError::not_found("experiment", id))
}

async fn list_experiments(State(state): State<AppState>) -> Json<Value> {
    let mut list: Vec<(i64, Value)> = state.store.with_projections(|p| {
        p.experiments
            .values()
            .map(|e| (e.created_at_us, views::experiment_json(e)))
            .collect()
    });
    list.sort_by_key(|(t, _)| *t);
    Json(Value::Array(list.into_iter().map(|(_, v)| v).collect()))
}

async fn get_experiment(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id("experiment", &id)?;
    experiment_by_id(&state, id).map(Json)
}

/// The body of `POST /sessions`.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct SessionCreate {
    #[serde(default)]
    #[schemars(extend("format" = "uuid"))]
    experiment_id: Option<String>,
    #[serde(default)]
    config: Option<Value>,
    prompt: String,
    #[serde(default)]
    negative_prompt: String,
}

async fn create_session(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<SessionCreate>,
) -> ApiResult<Json<Value>> {
    let experiment = match &req.experiment_id {
        Some(raw) => Some(raw.parse::<uuid::Uuid>().map_err(|_| {
            ApiError(ServiceError::not_found("experiment", "(malformed id)").field("experiment_id"))
        })?),
        None => None,
    };
    let config = match (&experiment, &req.config) {
        (None, Some(c)) => Some(state.services.parse_config_json(c)?),
        _ => None,
    };
    let id = state
        .services
        .create_session(experiment, config, &req.prompt, &req.negative_prompt)
        .await?;
    let detail = require_session(&state.store, id)?;
    // 200, as the reference (FastAPI's default) and its clients expect; our `/api` creation
    // routes answer 201.
    Ok(Json(views::session_json(&detail, &state.services)))
}

pub async fn list_sessions(State(state): State<AppState>) -> Json<Value> {
    let mut list = state.store.sessions(false);
    list.retain(|s| crate::services::principal::may_see(s.owner.as_deref()));
    Json(Value::Array(
        list.iter()
            .map(|s| {
                json!({
                    "id": s.session_id,
                    "experiment_id": s.experiment_id,
                    "prompt": s.prompt,
                    "status": s.status.as_str(),
                    "current_round": s.current_round,
                    "rounds": s.rounds,
                    "converged": s.converged,
                    "parent": s.parent.as_ref().map(|p| json!({"session_id": p.session_id, "round": p.round})),
                    "created_at": crate::services::history::iso(s.created_at_us),
                    "updated_at": crate::services::history::iso(s.updated_at_us),
                })
            })
            .collect(),
    ))
}

async fn get_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id("session", &id)?;
    let body = with_session(&state.store, id, |d| {
        Ok(views::session_json(d, &state.services))
    })?;
    Ok(Json(body))
}

/// The query of `DELETE /sessions/{id}`.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct DeleteQuery {
    /// Also remove the session's data for real: its events are overwritten with placeholders,
    /// its images and traces deleted (also for a session deleted before).
    #[serde(default)]
    pub purge: bool,
}

async fn delete_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<DeleteQuery>,
) -> ApiResult<StatusCode> {
    let id = parse_id("session", &id)?;
    if query.purge {
        let report = state.services.purge_session(id).await?;
        tracing::info!(session = %id, ?report, "session purged");
    } else {
        state.services.delete_session(id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn next_round_sync(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id("session", &id)?;
    let queued = state.services.queue_round(id).await?;
    let Some(job) = state.services.wait_terminal(queued.job_id, SYNC_WAIT).await else {
        return Ok(job_handle(queued.job_id, "running", Some(queued.round_id)));
    };
    if job.state != "succeeded" {
        return Err(ApiError(ServiceError::conflict(format!(
            "round generation {}: {}",
            job.state,
            job.error.unwrap_or_default()
        ))));
    }
    let body = with_session(&state.store, id, |d| {
        Ok(views::round_response(d, queued.round_id, &state.services))
    })?;
    Ok(Json(body).into_response())
}

fn job_handle(job_id: uuid::Uuid, state: &str, round_id: Option<uuid::Uuid>) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "job_id": job_id,
            "status_url": format!("/jobs/{job_id}"),
            "events_url": format!("/api/jobs/{job_id}/events"),
            "state": state,
            "round_id": round_id,
        })),
    )
        .into_response()
}

async fn next_round_async(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id("session", &id)?;
    let queued = state.services.queue_round(id).await?;
    Ok(job_handle(queued.job_id, "queued", Some(queued.round_id)))
}

async fn feedback_sync(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<FeedbackRequest>,
) -> ApiResult<Json<Value>> {
    let round = parse_id("round", &id)?;
    let response = state.services.submit_feedback(round, req).await?;
    Ok(Json(serde_json::to_value(response).unwrap_or(Value::Null)))
}

async fn feedback_async(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<FeedbackRequest>,
) -> ApiResult<Response> {
    let round = parse_id("round", &id)?;
    let job = state.services.queue_feedback(round, req).await?;
    Ok(job_handle(job, "queued", Some(round)))
}

async fn get_job(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id("job", &id)?;
    let record = state.services.job_record(id)?;
    let round = finished_round(&state, &record);
    let mut body = serde_json::to_value(record).unwrap_or(Value::Null);
    // The reference's job result is the sync route's `RoundResponse`; ours also keeps the
    // render's own facts (settings hash, timings).
    if let (Some(Value::Object(fields)), Some(Value::Object(result))) =
        (round, body.get_mut("result"))
    {
        result.extend(fields);
    }
    Ok(Json(body))
}

/// For a finished round job: the round as `POST /sessions/{id}/rounds/next` answers it.
fn finished_round(state: &AppState, record: &crate::services::JobRecord) -> Option<Value> {
    if record.operation != crate::services::JobKind::GenerateRound.as_str()
        || record.state != "succeeded"
    {
        return None;
    }
    let session = record.session_id?;
    let round = record
        .result
        .as_ref()?
        .get("round_id")?
        .as_str()?
        .parse::<uuid::Uuid>()
        .ok()?;
    with_session(&state.store, session, |d| {
        Ok(views::round_response(d, round, &state.services))
    })
    .ok()
}

async fn replay(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id("session", &id)?;
    let detail = require_session(&state.store, id)?;
    Ok(Json(views::replay_json(&detail, &state.services)))
}

async fn convergence(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id("session", &id)?;
    let detail = require_session(&state.store, id)?;
    let config = crate::services::history::config_of(&detail)?;
    let records = crate::services::history::round_records(&detail);
    let z = crate::services::history::current_z(&detail, &config);
    let report = crate::steering::convergence::evaluate_convergence(&config, &z, &records);
    Ok(Json(serde_json::to_value(report).unwrap_or(Value::Null)))
}

async fn calibration_generate(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id("session", &id)?;
    let job = state.services.queue_calibration(id).await?;
    Ok(job_handle(job, "queued", None))
}

/// The body of `POST /sessions/{id}/style-calibration/submit`.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct CalibrationSubmit {
    selected_ids: Vec<String>,
}

async fn calibration_submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CalibrationSubmit>,
) -> ApiResult<Json<Value>> {
    let id = parse_id("session", &id)?;
    let z = state
        .services
        .submit_calibration(id, req.selected_ids)
        .await?;
    Ok(Json(json!({"ok": true, "current_z": z})))
}

/// Engine, model, versions, store and queue.
pub async fn diagnostics(State(state): State<AppState>) -> Json<Value> {
    let model = state.services.runner.model();
    let device = &state.runtime.device;
    // Count states on the projection; building full job records would parse every snapshot.
    use crate::store::projections::jobs::JobState;
    let count = |wanted: JobState| {
        state
            .store
            .with_projections(|p| p.jobs.values().filter(|j| j.state == wanted).count())
    };
    Json(json!({
        "backend": "burn",
        "model_source": model.dir.as_ref().map(|d| d.display().to_string()),
        "model_name": model.name,
        "demo_model": state.services.model_notice().is_some(),
        "model_notice": state.services.model_notice(),
        "configured_device": device.requested.to_string(),
        "active_device": device.kind.to_string(),
        "cuda_available": device.cuda.available,
        "cuda_reason": device.cuda.reason,
        "pipeline_loaded": true,
        "unet_dtype": model.unet_dtype,
        "default_size": model.default_size,
        "test_only_backend": false,
        "versions": {
            "server": crate::VERSION,
            "engine": engine::ENGINE_VERSION,
            "burn": engine::BURN_VERSION,
        },
        "store": {
            "backend": state.store.describe(),
            "status": state.store.failure().map_or_else(|| "open".to_string(), |r| format!("degraded: {r}")),
            "event_count": state.store.head_seq(),
            "data_dir": state.runtime.data_dir.display().to_string(),
            "artifact_bytes": state.services.runner.artifacts().total_bytes(),
        },
        "queue": {
            "queued": count(JobState::Queued),
            "running": count(JobState::Running),
            "succeeded": count(JobState::Succeeded),
            "failed": count(JobState::Failed),
            "cancelled": count(JobState::Cancelled),
            "render_concurrency": state.services.options.render_concurrency,
            "runner_invocations": state.services.runner.total_invocations(),
        },
    }))
}
