//! `GET /api/jobs/{id}/events`: a job's progress as Server-Sent Events. Every event carries the
//! job's per-job sequence number as its id; a client that reconnects with `Last-Event-ID`
//! receives only what it missed, then the live updates, and the stream ends after the terminal
//! event. A job that ended before the server started (no live progress) gets one terminal event
//! built from the log.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::error::{parse_id, ApiResult};
use crate::services::ProgressUpdate;
use crate::state::AppState;

/// The SSE route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/jobs/{id}/events", get(job_events))
}

fn to_event(u: &ProgressUpdate) -> Event {
    Event::default()
        .id(u.seq.to_string())
        .event(if u.terminal { "done" } else { "progress" })
        .data(serde_json::to_string(u).unwrap_or_default())
}

async fn job_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let job_id = parse_id("job", &id)?;
    let record = state.services.job_record(job_id)?;
    let last_seen: u64 = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    // Subscribe before reading the backlog so nothing falls between the two.
    let rx = state.services.progress.subscribe();
    let backlog = state.services.progress.since(job_id, last_seen);
    let terminal_in_backlog = backlog.iter().any(|u| u.terminal);
    let live = !matches!(record.state.as_str(), "succeeded" | "failed" | "cancelled");
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> = if backlog
        .is_empty()
        && !live
    {
        // Ended before this process saw it: one terminal event from the log.
        let data = serde_json::json!({
            "seq": u64::MAX, "job_id": job_id, "state": record.state, "message": record.status_message,
            "progress": 100, "terminal": true, "result": record.result, "error": record.error,
        });
        let event = Event::default()
            .id(u64::MAX.to_string())
            .event("done")
            .data(data.to_string());
        Box::pin(stream::iter(vec![Ok(event)]))
    } else {
        let start_seq = backlog.last().map_or(last_seen, |u| u.seq);
        let first = stream::iter(backlog.iter().map(|u| Ok(to_event(u))).collect::<Vec<_>>());
        if terminal_in_backlog {
            Box::pin(first)
        } else {
            let services = state.services.clone();
            let live = stream::unfold(
                (rx, false, start_seq),
                move |(mut rx, done, mut next_seq)| {
                    let services = services.clone();
                    async move {
                        if done {
                            return None;
                        }
                        loop {
                            let update = match rx.recv().await {
                                Ok(u) if u.job_id == job_id && u.seq > next_seq => u,
                                Ok(_) => continue,
                                // Fell behind: jump to the newest state of this job.
                                Err(RecvError::Lagged(_)) => {
                                    match services.progress.since(job_id, next_seq).pop() {
                                        Some(u) => u,
                                        None => continue,
                                    }
                                }
                                Err(RecvError::Closed) => return None,
                            };
                            next_seq = update.seq;
                            let terminal = update.terminal;
                            return Some((Ok(to_event(&update)), (rx, terminal, next_seq)));
                        }
                    }
                },
            );
            Box::pin(first.chain(live))
        }
    };
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}
