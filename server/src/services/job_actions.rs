//! What a person does to a job: cancel it (answering at once with its state; a running render
//! stops at its next step and the end follows on its progress stream) or retry a failed or
//! cancelled one as a new job with the same sealed settings.

use std::sync::Arc;

use uuid::Uuid;

use super::job_records::{state_name, JobRecord};
use super::jobs::{Failure, JobKind, NewJob};
use super::{ServiceError, ServiceResult, Services};
use crate::store::projections::jobs::JobState;

/// How long a cancel waits for a running job to reach its next step before answering.
pub const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Services {
    /// Cancels a queued or running job. Finished jobs are a 409.
    pub async fn cancel_job(self: &Arc<Self>, job_id: Uuid) -> ServiceResult<JobRecord> {
        let job = self.visible_job(job_id)?;
        match job.state {
            // Not started here: queued, or (on a shared queue) rendering on a worker, which
            // then finds its lease gone at its next renewal and stops. The cancel is recorded
            // under the "not ended yet" fence, so it never lands after the worker's result.
            JobState::Queued | JobState::Running if !self.mark_cancelled(job_id) => {
                let reason = if job.state == JobState::Queued {
                    "cancelled before it started"
                } else {
                    "cancelled while a worker was rendering it"
                };
                let extra = self.abandon_events(&job, reason);
                self.finish(
                    &job,
                    Err(Failure {
                        reason: reason.into(),
                        cancelled: true,
                        extra,
                    }),
                )
                .await;
            }
            JobState::Queued | JobState::Running => {
                // A worker has it: it sees the flag between steps and records the end itself.
                // The answer does not wait for a slow step (one step of a large CPU render
                // can take a minute): after CANCEL_WAIT it is the job's state as it stands,
                // and the end follows on the job's progress stream.
                self.mark_cancelled(job_id);
                self.wait_terminal(job_id, CANCEL_WAIT).await;
            }
            _ => {
                return Err(ServiceError::conflict(format!(
                    "job {job_id} already ended ({})",
                    state_name(job.state)
                )))
            }
        }
        self.job_record(job_id)
    }

    /// Retries a failed or cancelled job as a new job with the same settings.
    pub async fn retry_job(self: &Arc<Self>, job_id: Uuid) -> ServiceResult<JobRecord> {
        let job = self.visible_job(job_id)?;
        if !matches!(job.state, JobState::Failed | JobState::Cancelled) {
            return Err(ServiceError::conflict(format!(
                "only failed or cancelled jobs can be retried; job {job_id} is {}",
                state_name(job.state)
            )));
        }
        let new_id = match JobKind::parse(&job.kind) {
            Some(JobKind::GenerateRound) => {
                let session = job
                    .session_id
                    .ok_or_else(|| ServiceError::internal("round job without a session"))?;
                self.queue_round(session).await?.job_id
            }
            Some(JobKind::StyleCalibration) => {
                let session = job
                    .session_id
                    .ok_or_else(|| ServiceError::internal("calibration job without a session"))?;
                self.queue_calibration(session).await?
            }
            Some(kind) => {
                self.enqueue(
                    NewJob {
                        job_id: Uuid::now_v7(),
                        kind,
                        session_id: job.session_id,
                        settings_hash: job.settings_hash.clone(),
                        settings_json: job.settings_json.clone(),
                    },
                    Vec::new(),
                )
                .await?
            }
            None => return Err(ServiceError::internal("unknown job kind")),
        };
        self.job_record(new_id)
    }
}
