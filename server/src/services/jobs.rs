//! The persistent job queue. Jobs are events on the `jobs` stream (`job.queued` carries the
//! sealed settings snapshot), so they survive restarts:
//!
//! * on start-up, **queued** jobs are queued again and run;
//! * jobs that were **running** are failed with the reason "interrupted by a server restart".
//!   They are not retried automatically: the process may have died *because of* that job (out of
//!   memory on a large size), and an automatic retry would crash-loop the server. A person (or
//!   the UI) retries with one call; rendering is deterministic, so a retry gives the same images.
//!
//! One job per session at a time (a second is 409). Render jobs run on `render_concurrency`
//! workers; feedback jobs do not render and run at once, beside them.
//!
//! That is the embedded (sled) server. On PostgreSQL the queue is the database's
//! (`claims.rs`): jobs are claimed, leased and recorded under a fence by this server or by
//! render workers, and a job a dead process held is taken again, not failed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::progress::Tick;
use super::{ServiceError, ServiceResult, Services};
use crate::store::events::{JobCancelled, JobFailed, JobFinished, JobQueued, JobStarted};
use crate::store::projections::jobs::{JobState, JobView};
use crate::store::{AppendRequest, Event, ExpectedVersion, Id, NewEvent, StreamAppend, StreamId};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Render a steering round.
    GenerateRound,
    /// Render the 15 calibration probes.
    StyleCalibration,
    /// A1111 txt2img.
    Txt2img,
    /// A1111 img2img.
    Img2img,
    /// Apply feedback (no render).
    SubmitFeedback,
}

impl JobKind {
    /// Wire name (stored in `job.queued`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::GenerateRound => "generate_round",
            JobKind::StyleCalibration => "style_calibration",
            JobKind::Txt2img => "txt2img",
            JobKind::Img2img => "img2img",
            JobKind::SubmitFeedback => "submit_feedback",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<JobKind> {
        [
            JobKind::GenerateRound,
            JobKind::StyleCalibration,
            JobKind::Txt2img,
            JobKind::Img2img,
            JobKind::SubmitFeedback,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }

    /// Whether the job renders (and so goes through the runner).
    pub fn renders(self) -> bool {
        !matches!(self, JobKind::SubmitFeedback)
    }
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job_id: Uuid,
    pub kind: JobKind,
    pub session_id: Option<Uuid>,
    pub settings_hash: String,
    pub settings_json: String,
}

impl NewJob {
    /// A render job whose settings are a sealed snapshot.
    pub fn for_snapshot(
        job_id: Uuid,
        kind: JobKind,
        session_id: Option<Uuid>,
        snapshot: &crate::runner::Snapshot,
    ) -> NewJob {
        NewJob {
            job_id,
            kind,
            session_id,
            settings_hash: snapshot.hash().to_string(),
            settings_json: snapshot.json().to_string(),
        }
    }
}

/// How a job ended well: its result and the events recorded with `job.finished`.
#[derive(Debug, Default)]
pub struct Completion {
    pub result: Value,
    pub extra: Vec<StreamAppend>,
}

/// How a job ended badly.
#[derive(Debug, Default)]
pub struct Failure {
    pub reason: String,
    pub cancelled: bool,
    pub extra: Vec<StreamAppend>,
}

impl Failure {
    /// A failure with no extra events.
    pub fn new(reason: impl Into<String>) -> Self {
        Failure {
            reason: reason.into(),
            ..Failure::default()
        }
    }
}

/// One stream append of `events` with no version check.
pub fn append_to(stream: StreamId, events: Vec<Event>) -> StreamAppend {
    StreamAppend {
        stream,
        expected: ExpectedVersion::Any,
        events: events.into_iter().map(NewEvent::new).collect(),
    }
}

impl Services {
    /// Starts the workers and resumes the jobs of a previous run. Call once.
    pub async fn start(self: &Arc<Self>) {
        if self.workers_started.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(queue) = self.store.shared_queue().cloned() {
            self.spawn_claimers(&queue);
            self.spawn_relay(&queue);
            self.adopt_open_jobs();
            return;
        }
        for _ in 0..self.options.render_concurrency.max(1) {
            let services = Arc::clone(self);
            tokio::spawn(async move {
                loop {
                    let job_id = services.queue.pop().await;
                    services.run_job(job_id).await;
                }
            });
        }
        self.resume().await;
    }

    /// Queues `job`, recording `extra` (e.g. the round's proposal) in the same atomic append.
    /// A session with an active job is refused with 409.
    pub async fn enqueue(
        self: &Arc<Self>,
        job: NewJob,
        extra: Vec<StreamAppend>,
    ) -> ServiceResult<Uuid> {
        if self.is_stopping() {
            return Err(ServiceError::new(
                super::ErrorKind::Busy,
                "the server is shutting down; send it again once it is back",
            ));
        }
        if let Some(me) = super::principal::current().filter(|p| !p.admin) {
            let queued = self.queue.queued_for(&me.user);
            if job.kind.renders() && queued >= super::fair_queue::MAX_QUEUED_PER_USER {
                return Err(ServiceError::new(
                    super::ErrorKind::TooManyRequests,
                    format!(
                        "{} has {queued} jobs waiting already (at most {}); send more when some have run",
                        me.user,
                        super::fair_queue::MAX_QUEUED_PER_USER
                    ),
                ));
            }
        }
        if let Some(session) = job.session_id {
            self.forget_if_ended(session);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let mut control = self
                .control
                .lock()
                .map_err(|_| ServiceError::internal("job control poisoned"))?;
            if let Some(session) = job.session_id {
                if let Some(active) = control.by_session.get(&session) {
                    return Err(ServiceError::conflict(format!(
                        "session {session} already has a job in progress ({active}); wait for it or cancel it"
                    ))
                    .field("session_id"));
                }
                control.by_session.insert(session, job.job_id);
            }
            control.cancels.insert(job.job_id, Arc::clone(&cancel));
        }
        let mut streams = extra;
        streams.push(append_to(
            StreamId::Jobs,
            vec![Event::JobQueued(JobQueued {
                job_id: Id(job.job_id),
                kind: job.kind.as_str().to_string(),
                session_id: job.session_id.map(Id),
                settings_hash: job.settings_hash.clone(),
                settings_json: job.settings_json.clone(),
            })],
        ));
        if let Err(e) = self.store.append_async(AppendRequest { streams }).await {
            self.release(job.job_id, job.session_id);
            return Err(e.into());
        }
        self.progress.publish(
            job.job_id,
            Tick {
                state: "queued",
                message: "Queued".into(),
                ..Tick::default()
            },
        );
        self.dispatch(job.job_id, job.kind);
        Ok(job.job_id)
    }

    fn dispatch(self: &Arc<Self>, job_id: Uuid, kind: JobKind) {
        if self.store.shared_queue().is_some() {
            // The job is a row of the shared queue now; a claimer (here or elsewhere) takes it.
            self.claim_wake.notify_waiters();
        } else if kind.renders() {
            self.queue.push(&self.lane_of(job_id), job_id);
        } else {
            let services = Arc::clone(self);
            tokio::spawn(async move { services.run_job(job_id).await });
        }
    }

    pub(super) fn release(&self, job_id: Uuid, session_id: Option<Uuid>) {
        if let Ok(mut control) = self.control.lock() {
            control.cancels.remove(&job_id);
            control.started.remove(&job_id);
            control.claims.remove(&job_id);
            if let Some(s) = session_id {
                if control.by_session.get(&s) == Some(&job_id) {
                    control.by_session.remove(&s);
                }
            }
        }
    }

    /// Sets a job's cancel flag; returns whether a worker had already claimed it.
    pub(super) fn mark_cancelled(&self, job_id: Uuid) -> bool {
        self.control.lock().is_ok_and(|control| {
            if let Some(flag) = control.cancels.get(&job_id) {
                flag.store(true, Ordering::SeqCst);
            }
            control.started.contains(&job_id)
        })
    }

    /// The cancel flag of an active job.
    pub(crate) fn cancel_flag(&self, job_id: Uuid) -> Arc<AtomicBool> {
        self.control
            .lock()
            .ok()
            .and_then(|c| c.cancels.get(&job_id).cloned())
            .unwrap_or_else(|| Arc::new(AtomicBool::new(false)))
    }

    async fn run_job(self: &Arc<Self>, job_id: Uuid) {
        let Some(job) = self.store.job(job_id) else {
            return;
        };
        if job.state != JobState::Queued {
            self.release(job_id, job.session_id);
            return;
        }
        let cancel = self.cancel_flag(job_id);
        let claimed = self.control.lock().is_ok_and(|mut control| {
            // Shutting down: the job stays queued in the log and runs after the restart.
            if cancel.load(Ordering::SeqCst) || self.is_stopping() {
                false
            } else {
                control.started.insert(job_id);
                true
            }
        });
        if !claimed {
            return;
        }
        self.run_started(&job, &cancel).await;
    }

    /// Record the start of a job this process holds, run it, record its end.
    pub(super) async fn run_started(self: &Arc<Self>, job: &JobView, cancel: &Arc<AtomicBool>) {
        let job_id = job.job_id;
        let started = self
            .store
            .append_fenced_async(
                AppendRequest {
                    streams: vec![append_to(
                        StreamId::Jobs,
                        vec![Event::JobStarted(JobStarted { job_id: Id(job_id) })],
                    )],
                },
                self.fence_for(job_id),
            )
            .await;
        if let Err(e) = started {
            tracing::error!(%job_id, error = %e, "cannot record job start");
            self.release(job_id, job.session_id);
            return;
        }
        self.progress.publish(
            job_id,
            Tick {
                state: "running",
                message: "Starting work".into(),
                progress: 12,
                ..Tick::default()
            },
        );
        let kind = JobKind::parse(&job.kind);
        let outcome = match kind {
            Some(JobKind::GenerateRound) => self.execute_round(job, cancel).await,
            Some(JobKind::StyleCalibration) => self.execute_calibration(job, cancel).await,
            Some(JobKind::Txt2img) | Some(JobKind::Img2img) => {
                self.execute_generation(job, cancel).await
            }
            Some(JobKind::SubmitFeedback) => self.execute_feedback(job).await,
            None => Err(Failure::new(format!("unknown job kind `{}`", job.kind))),
        };
        self.finish(job, outcome).await;
    }

    pub(super) async fn finish(
        self: &Arc<Self>,
        job: &JobView,
        outcome: Result<Completion, Failure>,
    ) {
        let job_id = job.job_id;
        // A worker of a shared queue that stops gives the job back for another to render.
        let stopped = matches!(&outcome, Err(f) if f.cancelled) && self.is_stopping();
        if stopped && self.give_back(job_id).await {
            self.release(job_id, job.session_id);
            return;
        }
        // A render stopped by a shutdown was not cancelled by anyone: it is interrupted, and
        // can be retried like one a crash interrupted.
        let outcome = outcome.map_err(|mut f| {
            if f.cancelled && self.is_stopping() {
                f.cancelled = false;
                f.reason = format!(
                    "interrupted: the server shut down while it was running; retry it \
                     (POST /api/jobs/{job_id}/retry) to render it again"
                );
            }
            f
        });
        let (mut streams, tick, result) = match outcome {
            Ok(mut done) => {
                // The proof of one render per job outlives the process: the count is recorded
                // with the result (the runner's ledger is in memory).
                let renders = JobKind::parse(&job.kind).is_some_and(JobKind::renders);
                if let (true, Value::Object(fields)) = (renders, &mut done.result) {
                    fields.insert(
                        "runner_invocations".into(),
                        Value::from(self.runner.invocations(job_id)),
                    );
                }
                let result_json = done.result.to_string();
                (
                    done.extra,
                    Tick {
                        state: "succeeded",
                        message: "Completed successfully".into(),
                        progress: 100,
                        terminal: true,
                        result: Some(done.result),
                        ..Tick::default()
                    },
                    Event::JobFinished(JobFinished {
                        job_id: Id(job_id),
                        result_json,
                    }),
                )
            }
            Err(f) => {
                let (state, event) = if f.cancelled {
                    (
                        "cancelled",
                        Event::JobCancelled(JobCancelled {
                            job_id: Id(job_id),
                            reason: f.reason.clone(),
                        }),
                    )
                } else {
                    (
                        "failed",
                        Event::JobFailed(JobFailed {
                            job_id: Id(job_id),
                            reason: f.reason.clone(),
                        }),
                    )
                };
                (
                    f.extra,
                    Tick {
                        state,
                        message: if f.cancelled { "Cancelled" } else { "Failed" }.into(),
                        progress: 100,
                        terminal: true,
                        error: Some(f.reason),
                        ..Tick::default()
                    },
                    event,
                )
            }
        };
        streams.push(append_to(StreamId::Jobs, vec![result]));
        // The outcome must be recorded; a full queue is retried briefly rather than dropped.
        let fence = self.fence_for(job_id);
        let mut attempt = 0;
        // Publish the end unless the job's end belongs to another worker (lease lost).
        let publish_end = loop {
            match self
                .store
                .append_fenced_async(
                    AppendRequest {
                        streams: streams.clone(),
                    },
                    fence,
                )
                .await
            {
                Ok(_) => break true,
                Err(e) if e.is_retryable() && attempt < 50 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e @ crate::store::StoreError::LeaseLost { .. }) => {
                    // Another worker holds the job now, or it was cancelled: its end is theirs.
                    tracing::warn!(%job_id, error = %e, "a job's result was not recorded");
                    break false;
                }
                Err(e) => {
                    tracing::error!(%job_id, error = %e, "cannot record the end of a job");
                    break true;
                }
            }
        };
        self.release(job_id, job.session_id);
        if publish_end {
            self.progress.publish(job_id, tick);
        }
        self.progress.prune(2000);
    }

    /// Events to record when a job is abandoned (cancelled before start, or interrupted).
    pub(super) fn abandon_events(&self, job: &JobView, reason: &str) -> Vec<StreamAppend> {
        match JobKind::parse(&job.kind) {
            Some(JobKind::GenerateRound) => self.round_failed_events(job, reason),
            _ => Vec::new(),
        }
    }

    /// Re-queues queued jobs and fails the ones a previous process left running.
    async fn resume(self: &Arc<Self>) {
        let jobs: Vec<JobView> = self.store.with_projections(|p| {
            p.jobs
                .values()
                .filter(|j| j.state.is_open())
                .cloned()
                .collect()
        });
        for job in jobs {
            let kind = JobKind::parse(&job.kind);
            if job.state == JobState::Running {
                let reason = "interrupted by a server restart while it was running; retry it \
                              (POST /api/jobs/{id}/retry) to render it again";
                tracing::warn!(job_id = %job.job_id, "failing a job interrupted by a restart");
                let extra = self.abandon_events(&job, reason);
                self.finish(
                    &job,
                    Err(Failure {
                        reason: reason.replace("{id}", &job.job_id.to_string()),
                        cancelled: false,
                        extra,
                    }),
                )
                .await;
                continue;
            }
            if let Ok(mut control) = self.control.lock() {
                control
                    .cancels
                    .insert(job.job_id, Arc::new(AtomicBool::new(false)));
                if let Some(s) = job.session_id {
                    control.by_session.insert(s, job.job_id);
                }
            }
            tracing::info!(job_id = %job.job_id, kind = %job.kind, "resuming a queued job");
            match kind {
                Some(kind) => self.dispatch(job.job_id, kind),
                None => {
                    self.finish(&job, Err(Failure::new("unknown job kind")))
                        .await
                }
            }
        }
    }
}
