//! The service layer: the commands of the product (create a session, generate a round, submit
//! feedback, calibrate, fork, generate an image for the A1111 API) as functions over the event
//! store, the job queue and the runner. HTTP handlers and the CLI call these; they never touch
//! the engine (only [`crate::runner::Runner`] can) and never write events themselves.

pub mod admission;
pub mod calibration;
pub mod claims;
pub mod error;
pub mod fair_queue;
pub mod feedback;
pub mod generations;
pub mod history;
pub mod job_access;
pub mod job_actions;
pub mod job_records;
pub mod jobs;
pub mod passwords;
pub mod principal;
pub mod progress;
pub mod progress_relay;
pub mod purge;
pub mod rounds;
pub mod seeds;
pub mod sessions;
pub mod shutdown;
pub mod steering_inputs;
pub mod tokens;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::runner::Runner;
use crate::store::LogStore;
pub use error::{ErrorKind, ServiceError, ServiceResult};
pub use job_records::JobRecord;
pub use jobs::JobKind;
pub use progress::{ProgressHub, ProgressUpdate};

/// Settings of the service layer.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// How many render jobs run at once (each holds its own activations in memory).
    /// On a shared (PostgreSQL) queue: 0 renders nothing here (workers do).
    pub render_concurrency: usize,
    /// Server or render worker (what this process claims from a shared queue).
    pub role: claims::ServiceRole,
    /// How long a claim on a shared queue lasts unless renewed; a dead worker's job is taken
    /// again within about this long.
    pub lease: std::time::Duration,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            render_concurrency: 1,
            role: claims::ServiceRole::Server,
            lease: DEFAULT_LEASE,
        }
    }
}

/// The default lease of a claimed job (renewed every third of it).
pub const DEFAULT_LEASE: std::time::Duration = std::time::Duration::from_secs(15);

/// In-memory job control: who runs, what may be cancelled.
#[derive(Default)]
pub(crate) struct JobControl {
    /// Cancel flags of queued and running jobs.
    pub cancels: HashMap<Uuid, Arc<AtomicBool>>,
    /// The one active job of each session.
    pub by_session: HashMap<Uuid, Uuid>,
    /// Jobs a worker has claimed; a cancel decides "queued" or "running" under the same lock,
    /// so a job is never ended twice.
    pub started: std::collections::HashSet<Uuid>,
    /// Jobs this process claimed from a shared queue, with the attempt it holds.
    pub claims: HashMap<Uuid, crate::store::postgres::leases::Claim>,
}

/// Everything the commands need.
pub struct Services {
    /// The event store.
    pub store: LogStore,
    /// The only way to the engine.
    pub runner: Arc<Runner>,
    /// Live job progress.
    pub progress: ProgressHub,
    /// Settings.
    pub options: ServiceOptions,
    pub(crate) control: Mutex<JobControl>,
    /// Render jobs waiting for a worker, round-robin between users.
    pub(crate) queue: fair_queue::FairQueue,
    pub(crate) workers_started: AtomicBool,
    pub(crate) notice: Option<String>,
    pub(crate) round_index: Mutex<HashMap<Uuid, Uuid>>,
    /// Set by [`Services::shutdown`]: no job starts, running renders stop at their next step.
    pub(crate) stopping: AtomicBool,
    /// This process in a shared queue's `worker` column (host, pid and a random suffix).
    pub(crate) worker_id: String,
    /// Wakes this process's claimers when it queued a job itself.
    pub(crate) claim_wake: tokio::sync::Notify,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("runner", &self.runner)
            .finish()
    }
}

impl Services {
    /// Builds the services; call [`Services::start`] inside a tokio runtime to run jobs.
    pub fn new(
        store: LogStore,
        runner: Runner,
        options: ServiceOptions,
        model_notice: Option<String>,
    ) -> Arc<Services> {
        Arc::new(Services {
            store,
            runner: Arc::new(runner),
            progress: ProgressHub::default(),
            options,
            control: Mutex::new(JobControl::default()),
            queue: fair_queue::FairQueue::default(),
            workers_started: AtomicBool::new(false),
            notice: model_notice,
            round_index: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            worker_id: worker_id(),
            claim_wake: tokio::sync::Notify::new(),
        })
    }

    /// The notice shown while the bundled demo model is in use.
    pub fn model_notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// The job that currently holds `session_id` (one job per session), if any.
    pub fn active_job(&self, session_id: Uuid) -> Option<Uuid> {
        self.forget_if_ended(session_id);
        self.control
            .lock()
            .ok()
            .and_then(|c| c.by_session.get(&session_id).copied())
    }
}

/// `host:pid:random`, for the queue's `worker` column and the logs.
fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let suffix = Uuid::now_v7().simple().to_string();
    format!(
        "{host}:{}:{}",
        std::process::id(),
        &suffix[suffix.len() - 6..]
    )
}
