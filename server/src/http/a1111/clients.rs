//! Which A1111 jobs belong to which caller, so `progress`, `interrupt` and `skip` act on the
//! caller's own work (A1111 itself has one global job; here several clients share the queue).
//!
//! Callers are told apart by IP address, from axum's `ConnectInfo<SocketAddr>` (the server is
//! served with `into_make_service_with_connect_info`). Without it (tests driving the router
//! directly) every caller is the same client. The registry is process-wide: it holds only job
//! ids, and a job id is unique across stores.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, OnceLock};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use uuid::Uuid;

/// The caller: its IP, or `None` when the connection info is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(pub Option<IpAddr>);

impl Client {
    /// The caller as text (recorded in the snapshot's context).
    pub fn label(&self) -> String {
        self.0
            .map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

/// One job of a client, with what progress reports need about it.
#[derive(Debug, Clone)]
pub struct ActiveJob {
    /// The job.
    pub job_id: Uuid,
    /// `txt2img` or `img2img`.
    pub kind: &'static str,
    /// A1111 `job_timestamp` (`YYYYMMDDhhmmss`).
    pub timestamp: String,
    /// Whether the client asked to skip or interrupt it.
    pub skipped: bool,
    /// Whether the client interrupted it.
    pub interrupted: bool,
}

fn registry() -> &'static Mutex<HashMap<Client, Vec<ActiveJob>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<Client, Vec<ActiveJob>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Records a job of `client` (in queue order).
pub fn register(client: Client, job: ActiveJob) {
    if let Ok(mut map) = registry().lock() {
        map.entry(client).or_default().push(job);
    }
}

/// Forgets a job once its request has answered.
pub fn unregister(client: Client, job_id: Uuid) {
    if let Ok(mut map) = registry().lock() {
        if let Some(jobs) = map.get_mut(&client) {
            jobs.retain(|j| j.job_id != job_id);
            if jobs.is_empty() {
                map.remove(&client);
            }
        }
    }
}

/// The client's jobs, oldest first.
pub fn jobs_of(client: Client) -> Vec<ActiveJob> {
    registry()
        .lock()
        .ok()
        .and_then(|map| map.get(&client).cloned())
        .unwrap_or_default()
}

/// Marks a job skipped and/or interrupted.
pub fn mark(client: Client, job_id: Uuid, interrupted: bool) {
    if let Ok(mut map) = registry().lock() {
        if let Some(job) = map
            .get_mut(&client)
            .and_then(|jobs| jobs.iter_mut().find(|j| j.job_id == job_id))
        {
            job.skipped = true;
            job.interrupted |= interrupted;
        }
    }
}

/// Whether a job was interrupted or skipped by its client (looked up by id).
pub fn was_stopped(client: Client, job_id: Uuid) -> (bool, bool) {
    jobs_of(client)
        .iter()
        .find(|j| j.job_id == job_id)
        .map_or((false, false), |j| (j.skipped, j.interrupted))
}
