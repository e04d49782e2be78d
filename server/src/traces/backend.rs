//! Request tracing: every request gets an id (a valid incoming `x-request-id` is kept, else 12
//! hex characters), echoed in the `x-request-id` response header, carried by a tracing span
//! around the handler, and recorded as one JSON line
//! `{timestamp, event: "http.request.completed", request_id, method, path, status_code,
//! duration_ms}` in `<data dir>/traces/backend-events.jsonl`.
//!
//! Lines go through a bounded channel to one writer thread: a request never waits on the disk,
//! and when the writer falls behind (or the disk fails) lines are dropped and counted rather
//! than blocking or panicking.
//!
//! Wire it with `router.layer(traces::backend::layer(data_dir))`; handlers can read the id
//! from the [`RequestId`] request extension.

use std::convert::Infallible;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use serde_json::json;
use tower::{Layer, Service};
use tracing::Instrument;

/// The request id header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest accepted incoming request id.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// Lines buffered between requests and the writer thread.
const QUEUE: usize = 8192;

/// Longest path written to a trace line (characters).
const MAX_PATH_CHARS: usize = 512;

/// The request's id, as a request extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// True for 1..=64 characters of `[A-Za-z0-9_-]`.
pub fn is_valid_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A fresh id: 12 hex characters.
pub fn new_request_id() -> String {
    // The last 48 bits of a v7 UUID are random (its first 48 are the clock).
    let simple = uuid::Uuid::now_v7().simple().to_string();
    simple[simple.len() - 12..].to_string()
}

/// The incoming id when valid, else a fresh one.
fn request_id_of(req: &Request) -> String {
    req.headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_valid_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(new_request_id)
}

/// Appends JSON lines to `backend-events.jsonl` from a background thread.
#[derive(Debug)]
pub struct BackendLog {
    tx: SyncSender<String>,
    dropped: Arc<AtomicU64>,
    path: PathBuf,
}

impl BackendLog {
    /// Starts the writer for `<data_dir>/traces/backend-events.jsonl` (the file is opened on
    /// the first line).
    pub fn start(data_dir: &Path) -> BackendLog {
        let path = super::traces_dir(data_dir).join("backend-events.jsonl");
        let (tx, rx) = sync_channel::<String>(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let writer_path = path.clone();
        let writer_dropped = dropped.clone();
        let spawned = std::thread::Builder::new()
            .name("backend-trace".into())
            .spawn(move || write_loop(&writer_path, rx, &writer_dropped));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "backend trace writer did not start; request lines are dropped");
        }
        BackendLog { tx, dropped, path }
    }

    /// Queues one record; never blocks (a full queue drops it).
    pub fn record(&self, record: &serde_json::Value) {
        let line = record.to_string();
        match self.tx.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Lines dropped so far (queue full or writer gone).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open_append(path: &Path) -> std::io::Result<BufWriter<File>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    Ok(BufWriter::new(file))
}

/// Writes lines as they come, flushing whenever the queue is empty. Ends when every sender is
/// gone. An I/O failure drops the line, logs once, and retries opening on the next line.
fn write_loop(path: &Path, rx: Receiver<String>, dropped: &AtomicU64) {
    let mut out: Option<BufWriter<File>> = None;
    let mut warned = false;
    while let Ok(first) = rx.recv() {
        let mut pending = vec![first];
        while let Ok(more) = rx.try_recv() {
            pending.push(more);
            if pending.len() >= 1024 {
                break;
            }
        }
        if out.is_none() {
            match open_append(path) {
                Ok(w) => out = Some(w),
                Err(e) => {
                    if !warned {
                        tracing::warn!(path = %path.display(), error = %e, "cannot open the backend trace file");
                        warned = true;
                    }
                    dropped.fetch_add(pending.len() as u64, Ordering::Relaxed);
                    continue;
                }
            }
        }
        let Some(w) = out.as_mut() else { continue };
        let mut result = Ok(());
        for line in &pending {
            result = w
                .write_all(line.as_bytes())
                .and_then(|()| w.write_all(b"\n"));
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            result = w.flush();
        }
        if let Err(e) = result {
            if !warned {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the backend trace file");
                warned = true;
            }
            dropped.fetch_add(pending.len() as u64, Ordering::Relaxed);
            out = None;
        }
    }
}

/// The tower layer; see the module docs.
#[derive(Debug, Clone)]
pub struct RequestTraceLayer {
    log: Arc<BackendLog>,
}

/// The request-tracing layer writing to `<data_dir>/traces/backend-events.jsonl`.
pub fn layer(data_dir: PathBuf) -> RequestTraceLayer {
    RequestTraceLayer {
        log: Arc::new(BackendLog::start(&data_dir)),
    }
}

impl RequestTraceLayer {
    /// The log behind this layer.
    pub fn log(&self) -> &Arc<BackendLog> {
        &self.log
    }
}

impl<S> Layer<S> for RequestTraceLayer {
    type Service = RequestTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestTrace {
            inner,
            log: self.log.clone(),
        }
    }
}

/// The service made by [`RequestTraceLayer`].
#[derive(Debug, Clone)]
pub struct RequestTrace<S> {
    inner: S,
    log: Arc<BackendLog>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S> Service<Request> for RequestTrace<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        // The clone that was polled ready serves this call; the fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let log = self.log.clone();
        let request_id = request_id_of(&req);
        let method = req.method().to_string();
        let path: String = req.uri().path().chars().take(MAX_PATH_CHARS).collect();
        req.extensions_mut().insert(RequestId(request_id.clone()));
        let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %path);
        Box::pin(
            async move {
                let started = Instant::now();
                let mut response = match inner.call(req).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
                let status = response.status().as_u16();
                if let Ok(value) = HeaderValue::from_str(&request_id) {
                    response.headers_mut().insert(X_REQUEST_ID.clone(), value);
                }
                if status >= 500 {
                    tracing::warn!(status, duration_ms, "request failed");
                } else {
                    tracing::debug!(status, duration_ms, "request completed");
                }
                log.record(&json!({
                    "timestamp": super::now_iso(),
                    "event": "http.request.completed",
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "status_code": status,
                    "duration_ms": (duration_ms * 1000.0).round() / 1000.0,
                }));
                Ok(response)
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_checked() {
        assert!(is_valid_request_id("abc-DEF_123"));
        assert!(!is_valid_request_id(""));
        assert!(!is_valid_request_id("a b"));
        assert!(!is_valid_request_id("../x"));
        assert!(!is_valid_request_id(&"a".repeat(65)));
        let fresh = new_request_id();
        assert_eq!(fresh.len(), 12);
        assert!(fresh.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
