//! Our REST additions under `/api`: session state at any round (time travel), fork, artifacts by
//! content hash, the job list with cancel and retry.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{parse_id, ApiError, ApiResult, JsonBody, QueryParams};
use super::views;
use crate::services::history::require_session;
use crate::services::ServiceError;
use crate::state::AppState;
use crate::store::AsOf;

/// The `/api` REST routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/sessions", get(super::contract::list_sessions))
        .route("/api/sessions/{id}", get(session_state))
        .route("/api/sessions/{id}/rounds/{round}", get(session_at_round))
        .route("/api/sessions/{id}/fork", post(fork))
        .route("/api/sessions/{id}/seed", post(renew_seed))
        .route("/api/artifacts/{hash}", get(artifact))
        .route("/api/jobs", get(list_jobs))
        .route("/api/jobs/{id}", get(job))
        .route("/api/jobs/{id}/cancel", post(cancel))
        .route("/api/jobs/{id}/retry", post(retry))
        .route("/api/diagnostics", get(super::contract::diagnostics))
}

async fn session_state(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id("session", &id)?;
    let detail = require_session(&state.store, id)?;
    let mut body = views::replay_json(&detail, &state.services);
    super::pages::add_session_extras(&mut body, &detail, &state.services);
    Ok(Json(body))
}

/// The query of `GET /api/sessions/{id}/rounds/{round}`.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct AtQuery {
    /// `end` (default: the round with its feedback and update) or `before_feedback`.
    #[serde(default)]
    point: Option<String>,
}

async fn session_at_round(
    State(state): State<AppState>,
    Path((id, round)): Path<(String, String)>,
    QueryParams(q): QueryParams<AtQuery>,
) -> ApiResult<Json<Value>> {
    let id = parse_id("session", &id)?;
    let round: u32 = round
        .parse()
        .map_err(|_| ApiError::invalid("round", "round must be a non-negative integer"))?;
    let latest = require_session(&state.store, id)?;
    if !latest.rounds.iter().any(|r| r.index == round)
        && latest.lineage.parent.as_ref().map(|p| p.round) != Some(round)
    {
        return Err(ApiError(
            ServiceError::not_found("round", format!("{round} of session {id}")).field("round"),
        ));
    }
    let as_of = match q.point.as_deref() {
        None | Some("end") => AsOf::EndOfRound(round),
        Some("before_feedback") => AsOf::BeforeFeedback(round),
        Some(other) => {
            return Err(ApiError::invalid(
                "point",
                format!("point must be `end` or `before_feedback`, not `{other}`"),
            ))
        }
    };
    let store = state.store.clone();
    let detail = tokio::task::spawn_blocking(move || store.session_at(id, as_of))
        .await
        .map_err(|e| ApiError(ServiceError::internal(e.to_string())))?
        .map_err(ServiceError::from)?;
    let mut body = views::replay_json(&detail, &state.services);
    super::pages::add_session_extras(&mut body, &detail, &state.services);
    // A past state has no job in flight, whatever the session does now.
    body["active_job"] = Value::Null;
    body["as_of"] = json!({"round": round, "point": q.point.unwrap_or_else(|| "end".into())});
    Ok(Json(body))
}

/// The body of `POST /api/sessions/{id}/fork`.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct ForkBody {
    round: u32,
}

async fn fork(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ForkBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_id("session", &id)?;
    let child = state.services.fork_session(id, body.round).await?;
    let detail = require_session(&state.store, child)?;
    Ok((
        StatusCode::CREATED,
        Json(views::session_json(&detail, &state.services)),
    ))
}

/// "New seed": the next rounds render with a fresh shared seed.
async fn renew_seed(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id("session", &id)?;
    let renewed = state.services.renew_seed(id).await?;
    Ok(Json(serde_json::to_value(renewed).unwrap_or(Value::Null)))
}

async fn artifact(State(state): State<AppState>, Path(hash): Path<String>) -> Response {
    // A deleted session's images are not served, though their files stay until a purge.
    let hidden = state.store.with_projections(|p| p.artifact_hidden(&hash));
    let bytes = if hidden {
        None
    } else {
        state.services.runner.artifacts().get(&hash)
    };
    match bytes {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                // Content-addressed: the bytes behind a name never change.
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        None => ApiError(ServiceError::not_found("artifact", "with this hash").field("hash"))
            .into_response(),
    }
}

/// The query of `GET /api/jobs`.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct JobsQuery {
    /// Only this session's jobs.
    #[schemars(extend("format" = "uuid"))]
    session_id: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    #[schemars(range(min = 0, max = 1000))]
    limit: Option<usize>,
}

async fn list_jobs(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<JobsQuery>,
) -> ApiResult<Json<Value>> {
    let session = match q.session_id.as_deref() {
        Some(raw) => Some(parse_id("session", raw)?),
        None => None,
    };
    let limit = q.limit.unwrap_or(100).min(1000);
    let jobs = state.services.list_jobs(session, limit);
    Ok(Json(serde_json::to_value(jobs).unwrap_or(Value::Null)))
}

async fn job(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id("job", &id)?;
    Ok(Json(
        serde_json::to_value(state.services.job_record(id)?).unwrap_or(Value::Null),
    ))
}

async fn cancel(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id("job", &id)?;
    let record = state.services.cancel_job(id).await?;
    Ok(Json(serde_json::to_value(record).unwrap_or(Value::Null)))
}

async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_id("job", &id)?;
    let record = state.services.retry_job(id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::to_value(record).unwrap_or(Value::Null)),
    ))
}
