//! Trace routes: `POST /frontend-events` and the per-session HTML trace report at
//! `GET /sessions/{id}/trace-report` and `GET /api/sessions/{id}/trace-report`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::error::{parse_id, ApiError, ApiResult};
use crate::services::{ErrorKind, ServiceError};
use crate::state::AppState;
use crate::traces::frontend::{self, FrontendEvent};
use crate::traces::report::session_report_html;

/// Largest `/frontend-events` body.
pub const MAX_FRONTEND_BODY: usize = 64 * 1024;

/// The report may show images and use its inline styles; nothing else (no scripts, no
/// requests), so even a missed escape could not run code.
const REPORT_CSP: &str =
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// The trace routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/frontend-events",
            post(frontend_event).layer(DefaultBodyLimit::max(MAX_FRONTEND_BODY)),
        )
        .route("/sessions/{id}/trace-report", get(trace_report))
        .route("/api/sessions/{id}/trace-report", get(trace_report))
}

/// `POST /frontend-events`. The body is JSON whatever its content type (pages post with
/// `navigator.sendBeacon`, which sends `text/plain`).
async fn frontend_event(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError(ServiceError::new(
                ErrorKind::TooLarge,
                format!("frontend events are at most {MAX_FRONTEND_BODY} bytes"),
            ))
        } else {
            ApiError(ServiceError::new(
                ErrorKind::InvalidInput,
                rejection.body_text(),
            ))
        }
    })?;
    let event: FrontendEvent = serde_json::from_slice(&body).map_err(|e| {
        let field = ["event", "page", "session_id", "round_id", "details"]
            .into_iter()
            .find(|f| e.to_string().contains(&format!("`{f}`")));
        let mut err = ServiceError::new(
            ErrorKind::InvalidInput,
            format!("the body must be a frontend event object: {e}"),
        );
        err.field = field.map(str::to_string);
        ApiError(err)
    })?;
    let accepted =
        frontend::accept(&state.store, state.store.data_dir().to_path_buf(), event).await?;
    Ok(Json(json!({"ok": true, "report_url": accepted.report_url})))
}

/// `GET /sessions/{id}/trace-report`: the self-contained HTML report (404 JSON when unknown).
async fn trace_report(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id("session", &id)?;
    // Checked here: the blocking thread below does not run as the requester.
    crate::services::history::require_session(&state.store, id)?;
    let services = state.services.clone();
    let html = tokio::task::spawn_blocking(move || session_report_html(&services, id))
        .await
        .map_err(|e| ApiError(ServiceError::internal(format!("report task failed: {e}"))))??;
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(REPORT_CSP),
    );
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
