//! What the API shows of jobs: the record of one (its stored milestones merged with live
//! progress), the list, and waiting for a job's end.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{ServiceResult, Services};
use crate::store::projections::jobs::{JobState, JobView};

/// The job as the API shows it (the reference's `JobRecord` plus our fields).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct JobRecord {
    pub id: Uuid,
    pub operation: String,
    pub state: String,
    pub progress: u32,
    pub status_message: String,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub session_id: Option<Uuid>,
    pub settings_hash: String,
    pub settings: Value,
    pub runner_invocations: u32,
    pub step: usize,
    pub total_steps: usize,
    pub candidate: usize,
    pub total_candidates: usize,
    pub eta_seconds: Option<f64>,
    /// Time spent queued before a worker took it.
    pub queue_wait_ms: Option<f64>,
    /// Time from start to end.
    pub run_ms: Option<f64>,
    pub events_url: String,
    pub created_at: String,
    pub updated_at: String,
}

/// The render count a finished job recorded with its result (0 before it finished).
fn recorded_invocations(result: Option<&Value>) -> u32 {
    result
        .and_then(|r| r.get("runner_invocations"))
        .and_then(Value::as_u64)
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

pub(super) fn state_name(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "queued",
        JobState::Running => "running",
        JobState::Succeeded => "succeeded",
        JobState::Failed => "failed",
        JobState::Cancelled => "cancelled",
    }
}

impl Services {
    /// Waits until a job ends (or `timeout`), returning its final record.
    pub async fn wait_terminal(
        &self,
        job_id: Uuid,
        timeout: std::time::Duration,
    ) -> Option<JobRecord> {
        let mut rx = self.progress.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(job) = self.store.job(job_id) {
                if !job.state.is_open() {
                    return self.job_record(job_id).ok();
                }
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) => return None,
                Ok(Ok(u)) if u.job_id == job_id && u.terminal => {}
                Ok(Ok(_)) => continue,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(_)) => return None,
            }
        }
    }

    /// The API view of a job.
    pub fn job_record(&self, job_id: Uuid) -> ServiceResult<JobRecord> {
        let job = self.visible_job(job_id)?;
        Ok(self.record_of(&job))
    }

    /// The API view of a stored job.
    pub fn record_of(&self, job: &JobView) -> JobRecord {
        let live = self.progress.latest(job.job_id);
        let state = state_name(job.state);
        let (progress, message) = match (&live, job.state) {
            (_, JobState::Succeeded) => (100, "Completed successfully".to_string()),
            (_, JobState::Failed) => (100, "Failed".to_string()),
            (_, JobState::Cancelled) => (100, "Cancelled".to_string()),
            (Some(u), _) => (u.progress, u.message.clone()),
            (None, JobState::Queued) => (0, "Queued".to_string()),
            (None, JobState::Running) => (12, "Starting work".to_string()),
        };
        let result: Option<Value> = job
            .result_json
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok());
        let recorded = recorded_invocations(result.as_ref());
        JobRecord {
            id: job.job_id,
            operation: job.kind.clone(),
            state: state.to_string(),
            progress,
            status_message: message,
            result,
            error: match job.state {
                JobState::Failed | JobState::Cancelled => job.reason.clone(),
                _ => None,
            },
            session_id: job.session_id,
            settings_hash: job.settings_hash.clone(),
            settings: serde_json::from_str(&job.settings_json).unwrap_or(Value::Null),
            runner_invocations: self.runner.invocations(job.job_id).max(recorded),
            step: live.as_ref().map_or(0, |u| u.step),
            total_steps: live.as_ref().map_or(0, |u| u.total_steps),
            candidate: live.as_ref().map_or(0, |u| u.candidate),
            total_candidates: live.as_ref().map_or(0, |u| u.total_candidates),
            eta_seconds: live.as_ref().and_then(|u| u.eta_seconds),
            queue_wait_ms: job
                .started_at_us
                .map(|s| (s - job.queued_at_us) as f64 / 1e3),
            run_ms: match (job.started_at_us, job.finished_at_us) {
                (Some(s), Some(f)) => Some((f - s) as f64 / 1e3),
                _ => None,
            },
            events_url: format!("/api/jobs/{}/events", job.job_id),
            created_at: crate::services::history::iso(job.queued_at_us),
            updated_at: crate::services::history::iso(
                job.finished_at_us
                    .or(job.started_at_us)
                    .unwrap_or(job.queued_at_us),
            ),
        }
    }

    /// Every job, newest first (optionally of one session).
    pub fn list_jobs(&self, session: Option<Uuid>, limit: usize) -> Vec<JobRecord> {
        let jobs: Vec<JobView> = self.store.with_projections(|p| {
            p.jobs
                .values()
                .rev()
                .filter(|j| session.is_none() || j.session_id == session)
                .filter(|j| super::job_access::job_visible(p, j))
                .take(limit)
                .cloned()
                .collect()
        });
        jobs.iter().map(|j| self.record_of(j)).collect()
    }
}
