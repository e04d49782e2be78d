//! Live progress across processes on a shared (PostgreSQL) queue.
//!
//! A render worker sends each progress update of its jobs as a `NOTIFY` note; the API server
//! listens and republishes them in its own [`super::ProgressHub`], so a browser following
//! `/api/jobs/{id}/events` sees the steps of a render on another machine. Notes are live
//! updates, not state: the **end** of a job is taken from the log instead. The server's
//! watcher looks at the jobs it is waiting for whenever the log moves (and every
//! [`WATCH_EVERY`]); one that ended elsewhere is released (its session takes new jobs) and
//! gets its terminal update from the recorded outcome. So a lost note costs a tick, never
//! the end of a job.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::claims::ServiceRole;
use super::progress::{ProgressUpdate, Tick};
use super::Services;
use crate::store::postgres::PgStore;

/// Longest the server goes without checking the jobs it waits for.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// Largest note a worker sends with its step previews; bigger ones go without them.
const NOTE_WITH_PREVIEWS: usize = 7_800;

/// One update as a note (the update without its per-process sequence number and ETA).
#[derive(Debug, Serialize, Deserialize)]
struct Note {
    job_id: Uuid,
    running: bool,
    message: String,
    progress: u32,
    phase: Option<String>,
    step: usize,
    total_steps: usize,
    candidate: usize,
    total_candidates: usize,
    previews: Vec<String>,
}

impl Note {
    fn of(u: &ProgressUpdate) -> Note {
        Note {
            job_id: u.job_id,
            running: u.state == "running",
            message: u.message.clone(),
            progress: u.progress,
            phase: u.phase.clone(),
            step: u.step,
            total_steps: u.total_steps,
            candidate: u.candidate,
            total_candidates: u.total_candidates,
            previews: u.previews.clone(),
        }
    }

    fn into_tick(self) -> Tick {
        Tick {
            state: if self.running { "running" } else { "queued" },
            message: self.message,
            progress: self.progress,
            phase: self.phase,
            step: self.step,
            total_steps: self.total_steps,
            candidate: self.candidate,
            total_candidates: self.total_candidates,
            previews: self.previews,
            ..Tick::default()
        }
    }
}

impl Services {
    /// Start relaying progress for this process's role.
    pub(super) fn spawn_relay(self: &Arc<Self>, queue: &PgStore) {
        let (services, queue) = (Arc::clone(self), queue.clone());
        match self.options.role {
            ServiceRole::RenderWorker => {
                tokio::spawn(async move { services.send_notes(queue).await });
            }
            ServiceRole::Server => {
                let (watcher, watched) = (Arc::clone(&services), queue.clone());
                tokio::spawn(async move { watcher.watch_ends(watched).await });
                tokio::spawn(async move { services.receive_notes(queue).await });
            }
        }
    }

    /// Worker: every non-terminal update of its jobs, as a note.
    async fn send_notes(self: Arc<Self>, queue: PgStore) {
        let mut updates = self.progress.subscribe();
        loop {
            let update = match updates.recv().await {
                Ok(u) => u,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            };
            if update.terminal {
                continue;
            }
            let mut note = Note::of(&update);
            let mut text = serde_json::to_string(&note).unwrap_or_default();
            if text.len() > NOTE_WITH_PREVIEWS {
                note.previews.clear();
                text = serde_json::to_string(&note).unwrap_or_default();
            }
            if let Err(e) = queue.send_progress(text).await {
                tracing::debug!(error = %e, "a progress note was not sent");
            }
        }
    }

    /// Server: republish the notes of jobs it does not run itself.
    async fn receive_notes(self: Arc<Self>, queue: PgStore) {
        let mut notes = queue.progress_notes();
        loop {
            let text = match notes.recv().await {
                Ok(t) => t,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            };
            let Ok(note) = serde_json::from_str::<Note>(&text) else {
                continue;
            };
            let job_id = note.job_id;
            if self.runs_here(job_id) || self.has_ended(job_id) {
                continue;
            }
            self.progress.publish(job_id, note.into_tick());
        }
    }

    /// Server: end the jobs it waits for that ended elsewhere, from the log.
    async fn watch_ends(self: Arc<Self>, queue: PgStore) {
        let mut changes = queue.changes();
        loop {
            let waiting: Vec<Uuid> = self
                .control
                .lock()
                .map(|c| {
                    c.cancels
                        .keys()
                        .filter(|id| !c.started.contains(id))
                        .copied()
                        .collect()
                })
                .unwrap_or_default();
            for job_id in waiting {
                self.end_if_recorded(job_id);
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep(WATCH_EVERY) => {}
            }
        }
    }

    /// If `job_id` ended in the log and nobody here runs it: release it and publish its end.
    fn end_if_recorded(&self, job_id: Uuid) {
        let Some(job) = self.store.job(job_id) else {
            return;
        };
        if job.state.is_open() || self.runs_here(job_id) {
            return;
        }
        self.release(job_id, job.session_id);
        if self.progress.latest(job_id).is_some_and(|u| u.terminal) {
            return;
        }
        let record = self.record_of(&job);
        self.progress.publish(
            job_id,
            Tick {
                state: super::job_records::state_name(job.state),
                message: record.status_message,
                progress: 100,
                terminal: true,
                result: record.result,
                error: record.error,
                ..Tick::default()
            },
        );
    }

    /// Forget the session's active job if it ended elsewhere (so the session takes new jobs
    /// at once, not at the watcher's next look).
    pub(super) fn forget_if_ended(&self, session_id: Uuid) {
        let active = self
            .control
            .lock()
            .ok()
            .and_then(|c| c.by_session.get(&session_id).copied());
        if let Some(job_id) = active {
            self.end_if_recorded(job_id);
        }
    }

    /// On start-up with a shared queue: wait for the open jobs as if queued here (their
    /// sessions take no second job; their ends are published). Nothing is failed: a job a dead
    /// process held is taken again when its lease runs out.
    pub(super) fn adopt_open_jobs(&self) {
        let open: Vec<(Uuid, Option<Uuid>)> = self.store.with_projections(|p| {
            p.jobs
                .values()
                .filter(|j| j.state.is_open())
                .map(|j| (j.job_id, j.session_id))
                .collect()
        });
        if let Ok(mut control) = self.control.lock() {
            for (job_id, session) in open {
                control.cancels.entry(job_id).or_default();
                if let Some(s) = session {
                    control.by_session.insert(s, job_id);
                }
            }
        }
    }

    fn runs_here(&self, job_id: Uuid) -> bool {
        self.control
            .lock()
            .is_ok_and(|c| c.started.contains(&job_id))
    }

    fn has_ended(&self, job_id: Uuid) -> bool {
        self.store.job(job_id).is_some_and(|j| !j.state.is_open())
    }
}
