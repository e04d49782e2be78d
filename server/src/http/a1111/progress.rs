//! `GET /sdapi/v1/progress`, `POST /sdapi/v1/interrupt` and `POST /sdapi/v1/skip`, acting on
//! the caller's own jobs (see [`super::clients`]).
//!
//! * progress: A1111's shape and formula, `0.01 + job_no/job_count + (1/job_count) *
//!   sampling_step/sampling_steps` capped at 1; idle is `progress 0, job_count 0`. Our job
//!   renders its whole batch in one pass, so `job_count` is the caller's number of unfinished
//!   jobs and `job_no` is 0 (the running one comes first).
//! * interrupt: cancels every queued or running job of the caller; answers `{}`.
//! * skip: cancels the caller's current (oldest unfinished) job only, since a job is one batch
//!   here; answers JSON `null` (an empty body crashes webuiapi).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::clients::{self, ActiveJob, Client};
use crate::services::ProgressUpdate;
use crate::state::AppState;

fn unfinished(state: &AppState, client: Client) -> Vec<(ActiveJob, Option<ProgressUpdate>)> {
    clients::jobs_of(client)
        .into_iter()
        .filter_map(|job| {
            let record = state.services.job_record(job.job_id).ok()?;
            matches!(record.state.as_str(), "queued" | "running")
                .then(|| (job.clone(), state.services.progress.latest(job.job_id)))
        })
        .collect()
}

/// `GET /sdapi/v1/progress?skip_current_image=false`.
pub async fn progress(
    State(state): State<AppState>,
    client: Client,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Value> {
    let skip_image = query
        .get("skip_current_image")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
    let jobs = unfinished(&state, client);
    let Some((job, latest)) = jobs.first() else {
        return Json(json!({
            "progress": 0.0,
            "eta_relative": 0.0,
            "state": {
                "skipped": false,
                "interrupted": false,
                "stopping_generation": false,
                "job": "",
                "job_count": 0,
                "job_timestamp": "0",
                "job_no": 0,
                "sampling_step": 0,
                "sampling_steps": 0,
            },
            "current_image": null,
            "textinfo": null,
        }));
    };
    let job_count = jobs.len();
    let (step, steps) = latest.as_ref().map_or((0, 0), |u| (u.step, u.total_steps));
    let fraction = if steps > 0 {
        step as f64 / steps as f64
    } else {
        0.0
    };
    let progress = (0.01 + fraction / job_count as f64).min(1.0);
    let eta = latest.as_ref().and_then(|u| u.eta_seconds).unwrap_or(0.0);
    let current_image = if skip_image {
        None
    } else {
        last_preview(&state, job.job_id)
    };
    Json(json!({
        "progress": progress,
        "eta_relative": eta,
        "state": {
            "skipped": job.skipped,
            "interrupted": job.interrupted,
            "stopping_generation": false,
            "job": job.kind,
            "job_count": job_count,
            "job_timestamp": job.timestamp,
            "job_no": 0,
            "sampling_step": step,
            "sampling_steps": steps,
        },
        "current_image": current_image,
        "textinfo": latest.as_ref().map(|u| u.message.clone()),
    }))
}

/// The newest step preview of a job as raw base64 (first candidate).
fn last_preview(state: &AppState, job_id: uuid::Uuid) -> Option<String> {
    state
        .services
        .progress
        .since(job_id, 0)
        .into_iter()
        .rev()
        .find_map(|u| u.previews.into_iter().next())
        .map(|uri| match uri.split_once(";base64,") {
            Some((_, raw)) => raw.to_string(),
            None => uri,
        })
}

async fn cancel(state: &AppState, client: Client, all: bool) {
    let jobs = unfinished(state, client);
    let targets = if all {
        &jobs[..]
    } else {
        &jobs[..jobs.len().min(1)]
    };
    for (job, _) in targets {
        clients::mark(client, job.job_id, all);
        // A job that ended meanwhile is a 409 here: nothing left to stop.
        let _ = state.services.cancel_job(job.job_id).await;
    }
}

/// `POST /sdapi/v1/interrupt` → `{}`.
pub async fn interrupt(State(state): State<AppState>, client: Client) -> Json<Value> {
    cancel(&state, client, true).await;
    Json(json!({}))
}

/// `POST /sdapi/v1/skip` → `null`.
pub async fn skip(State(state): State<AppState>, client: Client) -> Json<Value> {
    cancel(&state, client, false).await;
    Json(Value::Null)
}
