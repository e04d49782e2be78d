//! `Idempotency-Key` on POST: a client that retries a request (after a timeout, a dropped
//! connection, or a restart of the server) gets the first answer again instead of a second
//! session, round or image. The first successful answer (2xx, JSON, at most
//! [`MAX_STORED_BODY`]) is recorded as a `request.completed` event, so it survives restarts;
//! refusals are not recorded (they changed nothing, so running them again is safe). While the
//! first request is still running, a retry gets 409. A key sent to another route is a 422.
//!
//! Limit (documented in docs/security.md): the answer is recorded right after the handler's own
//! events, not in the same atomic append; a crash between the two lets a retry run again.

use std::collections::HashSet;
use std::sync::Mutex;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::a1111::errors::A1111Error;
use super::error::ApiError;
use crate::services::{ErrorKind, ServiceError};
use crate::state::AppState;
use crate::store::events::RequestCompleted;
use crate::store::{AppendRequest, Event, ExpectedVersion, NewEvent, StreamAppend, StreamId};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;
/// Largest answer recorded (larger ones, e.g. A1111 image batches, are answered but not kept).
pub const MAX_STORED_BODY: usize = 256 * 1024;

/// Keys whose first request is still running (bounded by the requests in flight).
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashSet<String>>);

impl InFlight {
    fn claim(&self, key: &str) -> bool {
        self.0
            .lock()
            .is_ok_and(|mut keys| keys.insert(key.to_string()))
    }

    fn release(&self, key: &str) {
        if let Ok(mut keys) = self.0.lock() {
            keys.remove(key);
        }
    }
}

/// Removes a claimed key when the request ends, however it ends.
struct Claim<'a> {
    in_flight: &'a InFlight,
    key: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.in_flight.release(&self.key);
    }
}

/// A refusal in the error shape of the route's family (A1111's under `/sdapi/`).
fn refuse(path: &str, kind: ErrorKind, message: impl Into<String>) -> Response {
    if path.starts_with("/sdapi/") {
        let status = StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::BAD_REQUEST);
        return A1111Error::http(status, message).into_response();
    }
    ApiError(ServiceError::new(kind, message).field("Idempotency-Key")).into_response()
}

/// A well-formed key: 1..=255 visible ASCII characters.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The middleware.
pub async fn idempotent(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(raw) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_string();
    let key = match raw.to_str() {
        Ok(key) if valid_key(key) => key.to_string(),
        _ => {
            return refuse(
                &path,
                ErrorKind::InvalidInput,
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )
        }
    };
    let stored = state
        .store
        .with_projections(|p| p.requests.get(&key).cloned());
    if let Some(stored) = stored {
        if stored.method != request.method().as_str() || stored.path != path {
            return refuse(
                &path,
                ErrorKind::Unprocessable,
                format!(
                    "this Idempotency-Key was used for {} {}; use a new key for another request",
                    stored.method, stored.path
                ),
            );
        }
        return replay(stored.status, stored.body_json);
    }
    let in_flight = &state.runtime.idempotency;
    if !in_flight.claim(&key) {
        return refuse(
            &path,
            ErrorKind::Conflict,
            "a request with this Idempotency-Key is still running; retry when it has answered",
        );
    }
    let _claim = Claim {
        in_flight,
        key: key.clone(),
    };
    let method = request.method().to_string();
    let response = next.run(request).await;
    record(&state, key, method, path, response).await
}

/// The first answer again, marked as a replay.
fn replay(status: u16, body_json: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body_json).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// Records a successful JSON answer under `key` and hands it on.
async fn record(
    state: &AppState,
    key: String,
    method: String,
    path: String,
    response: Response,
) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_success() || !json {
        return response;
    }
    // Only answers of known, modest size are kept; a larger one (an A1111 image batch) is
    // answered unrecorded, so a retry of it runs again.
    let size = axum::body::HttpBody::size_hint(response.body()).exact();
    if size.is_none_or(|n| n > MAX_STORED_BODY as u64) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_STORED_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "an idempotent answer could not be read");
            return ApiError(ServiceError::internal("the answer could not be read"))
                .into_response();
        }
    };
    let event = Event::RequestCompleted(RequestCompleted {
        key,
        method,
        path,
        status: status.as_u16(),
        body_json: String::from_utf8_lossy(&bytes).into_owned(),
    });
    let append = AppendRequest {
        streams: vec![StreamAppend {
            stream: StreamId::Requests,
            expected: ExpectedVersion::Any,
            events: vec![NewEvent::new(event)],
        }],
    };
    if let Err(e) = state.store.append_async(append).await {
        tracing::warn!(error = %e, "an idempotent answer was not recorded; a retry will run again");
    }
    Response::from_parts(parts, Body::from(bytes))
}
