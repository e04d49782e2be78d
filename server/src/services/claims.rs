//! Jobs on a shared PostgreSQL log: claimed from the database's queue, run under a lease, and
//! recorded under a fence (`store::postgres::leases`), so several processes — an API server
//! and render workers on other machines — can share one queue without losing or repeating a
//! job.
//!
//! * A **claimer** loop takes the oldest open job of its kind (`FOR UPDATE SKIP LOCKED`), waits
//!   until this process's projections hold it, and runs it like a local job. The API server
//!   claims the jobs that do not render (feedback) and, with `--render-concurrency N > 0`,
//!   renders too; `stablesteering worker` only renders.
//! * While it runs, the lease is renewed every third of its length. A renewal that finds the
//!   job gone (its lease ran out and another worker took it, or it was cancelled) sets the
//!   cancel flag, so the render stops at its next step; the fence refuses its result anyway.
//! * A job whose runs were lost [`MAX_LOST_RUNS`] times is failed with a reason, not rendered a
//!   third time: the workers may be dying *because of* it.
//! * A worker that stops cleanly gives its job back (no lost run counted).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::jobs::Failure;
use super::Services;
use crate::store::postgres::leases::{Claim, ClaimKinds, Fence, MAX_LOST_RUNS};
use crate::store::postgres::PgStore;
use crate::store::projections::jobs::JobView;

/// Longest a claimer sleeps when the queue is empty and nothing notifies it.
const IDLE_POLL: Duration = Duration::from_millis(100);

/// Longest a claimed job may take to reach this process's projections.
const PROJECTION_WAIT: Duration = Duration::from_secs(10);

/// Who this process is in the shared queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceRole {
    /// The API server: queues jobs, runs feedback jobs, renders with `render_concurrency > 0`.
    #[default]
    Server,
    /// A render worker (`stablesteering worker`): only claims and renders.
    RenderWorker,
}

impl Services {
    /// Start the claimers of this process's role.
    pub(super) fn spawn_claimers(self: &Arc<Self>, queue: &PgStore) {
        let mut kinds = Vec::new();
        if self.options.role == ServiceRole::Server {
            kinds.push(ClaimKinds::NoRender);
        }
        kinds.extend(std::iter::repeat_n(
            ClaimKinds::Renders,
            self.options.render_concurrency,
        ));
        for kind in kinds {
            let (services, queue) = (Arc::clone(self), queue.clone());
            tokio::spawn(async move { services.claim_loop(queue, kind).await });
        }
    }

    async fn claim_loop(self: Arc<Self>, queue: PgStore, kinds: ClaimKinds) {
        let mut changes = queue.changes();
        while !self.is_stopping() {
            match queue
                .claim(&self.worker_id, kinds, self.options.lease)
                .await
            {
                Ok(Some(claim)) => self.run_claimed(&queue, claim).await,
                Ok(None) => {
                    tokio::select! {
                        _ = self.claim_wake.notified() => {}
                        _ = changes.changed() => {}
                        _ = tokio::time::sleep(IDLE_POLL) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim a job; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// Run one claimed job to its recorded end (or until its lease is lost).
    async fn run_claimed(self: &Arc<Self>, queue: &PgStore, claim: Claim) {
        let job_id = claim.job_id;
        let Some(job) = self.wait_for_job(job_id).await else {
            // Not this worker's fault: hand it back without counting a lost run.
            tracing::error!(%job_id, "a claimed job did not reach the projections; giving it back");
            if let Err(e) = queue.release(claim).await {
                tracing::warn!(%job_id, error = %e, "cannot give a job back; its lease will run out");
            }
            return;
        };
        if !job.state.is_open() {
            return;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        if let Ok(mut control) = self.control.lock() {
            control.cancels.insert(job_id, Arc::clone(&cancel));
            control.started.insert(job_id);
            control.claims.insert(job_id, claim);
            if let Some(s) = job.session_id {
                control.by_session.insert(s, job_id);
            }
        }
        if claim.lost_runs >= MAX_LOST_RUNS {
            let reason = format!(
                "its worker stopped {} times while rendering it (lease ran out); not retried \
                 again — retry it (POST /api/jobs/{job_id}/retry) once the workers are healthy",
                claim.lost_runs
            );
            tracing::warn!(%job_id, "failing a job whose workers died");
            let extra = self.abandon_events(&job, &reason);
            self.finish(
                &job,
                Err(Failure {
                    reason,
                    cancelled: false,
                    extra,
                }),
            )
            .await;
            return;
        }
        let done = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(keep_lease(
            queue.clone(),
            claim,
            self.options.lease,
            Arc::clone(&cancel),
            Arc::clone(&done),
        ));
        self.run_started(&job, &cancel).await;
        done.store(true, Ordering::SeqCst);
        renewer.abort();
    }

    async fn wait_for_job(&self, job_id: uuid::Uuid) -> Option<JobView> {
        let deadline = Instant::now() + PROJECTION_WAIT;
        loop {
            if let Some(job) = self.store.job(job_id) {
                return Some(job);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The fence this process records `job_id`'s events under: its claim's attempt when it
    /// holds the job, else "not ended yet" (a cancel). `None` on sled.
    pub(super) fn fence_for(&self, job_id: uuid::Uuid) -> Option<Fence> {
        self.store.shared_queue()?;
        let attempt = self
            .control
            .lock()
            .ok()
            .and_then(|c| c.claims.get(&job_id).map(|c| c.attempt));
        Some(Fence { job_id, attempt })
    }

    /// Hand a claimed job back to the queue (a clean stop); `true` if this process held it.
    pub(super) async fn give_back(&self, job_id: uuid::Uuid) -> bool {
        let claim = self
            .control
            .lock()
            .ok()
            .and_then(|c| c.claims.get(&job_id).copied());
        match (claim, self.store.shared_queue()) {
            (Some(claim), Some(queue)) => {
                if let Err(e) = queue.release(claim).await {
                    tracing::warn!(%job_id, error = %e, "cannot give a job back; its lease will run out");
                }
                true
            }
            _ => false,
        }
    }

    /// Whether this process still holds a claimed job (a stopping worker waits for none).
    pub fn holds_claims(&self) -> bool {
        self.control.lock().is_ok_and(|c| !c.claims.is_empty())
    }
}

/// Renew `claim` every third of `lease` until `done`; a lost lease sets `cancel`. Failing to
/// reach the database for a whole lease counts as lost too: another worker may have it by then.
async fn keep_lease(
    queue: PgStore,
    claim: Claim,
    lease: Duration,
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
) {
    let mut last_ok = Instant::now();
    loop {
        tokio::time::sleep(lease / 3).await;
        if done.load(Ordering::SeqCst) {
            return;
        }
        match queue.renew(claim, lease).await {
            Ok(true) => last_ok = Instant::now(),
            Ok(false) => {
                tracing::warn!(job_id = %claim.job_id, attempt = claim.attempt, "lease lost; stopping the render");
                cancel.store(true, Ordering::SeqCst);
                return;
            }
            Err(e) if last_ok.elapsed() >= lease => {
                tracing::warn!(job_id = %claim.job_id, error = %e, "cannot renew the lease; stopping the render");
                cancel.store(true, Ordering::SeqCst);
                return;
            }
            Err(_) => {}
        }
    }
}
