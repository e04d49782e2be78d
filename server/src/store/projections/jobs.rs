//! The jobs read model: job milestones (queued, started, finished, failed, cancelled).
//! Live progress ticks are not events; they stay in memory in the job runner.

use serde::Serialize;
use uuid::Uuid;

use crate::store::envelope::Envelope;
use crate::store::events::Event;

/// State of a job as recorded by its milestones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    /// Queued or running: the job has not ended.
    pub fn is_open(self) -> bool {
        matches!(self, JobState::Queued | JobState::Running)
    }
}

/// One job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobView {
    pub job_id: Uuid,
    pub kind: String,
    pub session_id: Option<Uuid>,
    pub settings_hash: String,
    pub settings_json: String,
    pub state: JobState,
    pub reason: Option<String>,
    pub result_json: Option<String>,
    pub queued_at_us: i64,
    pub started_at_us: Option<i64>,
    pub finished_at_us: Option<i64>,
    pub last_seq: u64,
}

/// Apply a jobs-stream event. Returns false when the event does not fit (unknown job).
pub fn apply(jobs: &mut std::collections::BTreeMap<Uuid, JobView>, env: Envelope) -> bool {
    let at = env.recorded_at_us;
    let seq = env.seq;
    let job_id = match &env.event {
        Event::JobQueued(q) => q.job_id.0,
        Event::JobStarted(s) => s.job_id.0,
        Event::JobFinished(f) => f.job_id.0,
        Event::JobFailed(f) => f.job_id.0,
        Event::JobCancelled(c) => c.job_id.0,
        _ => return false,
    };
    if let Event::JobQueued(q) = env.event {
        let view = JobView {
            job_id,
            kind: q.kind,
            session_id: q.session_id.map(|s| s.0),
            settings_hash: q.settings_hash,
            settings_json: q.settings_json,
            state: JobState::Queued,
            reason: None,
            result_json: None,
            queued_at_us: at,
            started_at_us: None,
            finished_at_us: None,
            last_seq: seq,
        };
        jobs.insert(job_id, view);
        return true;
    }
    let Some(j) = jobs.get_mut(&job_id) else {
        return false;
    };
    j.last_seq = seq;
    match env.event {
        Event::JobStarted(_) => {
            j.state = JobState::Running;
            j.started_at_us = Some(at);
        }
        Event::JobFinished(f) => {
            j.state = JobState::Succeeded;
            j.result_json = Some(f.result_json);
            j.finished_at_us = Some(at);
        }
        Event::JobFailed(f) => {
            j.state = JobState::Failed;
            j.reason = Some(f.reason);
            j.finished_at_us = Some(at);
        }
        Event::JobCancelled(c) => {
            j.state = JobState::Cancelled;
            j.reason = Some(c.reason);
            j.finished_at_us = Some(at);
        }
        _ => {}
    }
    true
}
