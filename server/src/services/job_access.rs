//! Which jobs the current principal may see, and which queue lane a job waits in: the job side
//! of ownership (`principal.rs`) and fair queueing (`fair_queue.rs`).

use uuid::Uuid;

use super::{ServiceError, ServiceResult, Services};
use crate::store::projections::jobs::JobView;

impl Services {
    /// A job the current principal may see (its session's owner, or an admin; jobs without a
    /// session, A1111's, only admins), else 404.
    pub fn visible_job(&self, job_id: Uuid) -> ServiceResult<JobView> {
        self.store
            .with_projections(|p| {
                let job = p.jobs.get(&job_id)?;
                job_visible(p, job).then(|| job.clone())
            })
            .ok_or_else(|| ServiceError::not_found("job", job_id))
    }

    /// The queue lane of `job_id`: its session's owner, else the requesting user, else `""`.
    pub(crate) fn lane_of(&self, job_id: Uuid) -> String {
        let session_owner = self.store.with_projections(|p| {
            let session = p.jobs.get(&job_id)?.session_id?;
            p.sessions.get(&session)?.owner.clone()
        });
        session_owner
            .or_else(|| super::principal::current().map(|p| p.user))
            .unwrap_or_default()
    }
}

/// Whether the current principal may see `job` (see [`Services::visible_job`]).
pub(crate) fn job_visible(p: &crate::store::Projections, job: &JobView) -> bool {
    match job.session_id {
        Some(session) => p
            .sessions
            .get(&session)
            .is_some_and(|d| super::principal::may_see(d.owner.as_deref())),
        None => super::principal::sees_all(),
    }
}
