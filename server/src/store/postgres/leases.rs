//! The job queue on PostgreSQL: which jobs are waiting, who renders which, and the fence that
//! keeps a result from being recorded twice.
//!
//! `job_leases` is derived from the log inside the append's own transaction: a `job.queued`
//! adds a row, a terminal job event (`job.finished`, `job.failed`, `job.cancelled`) marks it
//! done. A worker claims the oldest open row with `FOR UPDATE SKIP LOCKED` (so two workers never
//! wait on, or take, the same job), which raises its `attempt` and gives it a lease it renews.
//! A lease that runs out (the worker died) makes the row claimable again; the next claim counts
//! the lost run, and a job whose runs were lost [`MAX_LOST_RUNS`] times is failed with a reason
//! instead of being rendered again.
//!
//! Every event a worker records for a job carries a [`Fence`]: the append re-reads the row
//! under a row lock in the same transaction and refuses ([`StoreError::LeaseLost`]) unless the
//! worker still holds that attempt. So a worker that lost its lease while rendering cannot
//! record its result beside the one who took over, and a retried append (same event ids) still
//! finds its original outcome first.

use std::collections::HashMap;
use std::time::Duration;

use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::store::error::{Result, StoreError};
use crate::store::events::Event;
use crate::store::postgres::{db_error, PgStore};

/// Runs of one job that may be lost to dead workers before it is failed instead of retried
/// (the first run and one retry).
pub const MAX_LOST_RUNS: i32 = 2;

/// Migration 2: the queue's table.
pub(crate) const MIGRATION: &str = "CREATE TABLE job_leases (
        job_id      uuid PRIMARY KEY,
        seq         bigserial NOT NULL,
        renders     boolean NOT NULL,
        state       text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'leased', 'done')),
        attempt     integer NOT NULL DEFAULT 0,
        lost_runs   integer NOT NULL DEFAULT 0,
        worker      text,
        lease_until timestamptz
     );
     CREATE INDEX job_leases_open ON job_leases (seq) WHERE state <> 'done';";

/// Which jobs a claimer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKinds {
    /// Jobs that render (GPU workers).
    Renders,
    /// Jobs that do not render (feedback: the API server runs them).
    NoRender,
}

/// A job a worker holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub job_id: Uuid,
    /// Raised by every claim; the fence of this run.
    pub attempt: i32,
    /// Earlier runs whose worker died (lease ran out).
    pub lost_runs: i32,
}

/// The condition an append about a job is recorded under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub job_id: Uuid,
    /// `Some(a)`: the writer holds attempt `a` (a worker's start and result). `None`: the job
    /// has not ended (a cancel by the API server, whoever holds it).
    pub attempt: Option<i32>,
}

/// The queue row of one job as a fence reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LeaseRow {
    pub leased: bool,
    pub done: bool,
    pub attempt: i32,
}

/// Whether `event` opens or ends a job's queue row.
enum Mark {
    Queued { job_id: Uuid, renders: bool },
    Ended(Uuid),
}

fn mark_of(event: &Event) -> Option<Mark> {
    match event {
        // Feedback jobs apply a recorded update and never touch the engine.
        Event::JobQueued(q) => Some(Mark::Queued {
            job_id: q.job_id.0,
            renders: q.kind != "submit_feedback",
        }),
        Event::JobFinished(f) => Some(Mark::Ended(f.job_id.0)),
        Event::JobFailed(f) => Some(Mark::Ended(f.job_id.0)),
        Event::JobCancelled(c) => Some(Mark::Ended(c.job_id.0)),
        _ => None,
    }
}

/// The jobs `events` end (for fences later in the same batch).
pub(crate) fn ended_jobs<'a>(events: impl Iterator<Item = &'a Event>) -> Vec<Uuid> {
    events
        .filter_map(|e| match mark_of(e) {
            Some(Mark::Ended(id)) => Some(id),
            _ => None,
        })
        .collect()
}

/// Keep `job_leases` in step with inserted events (same transaction as the insert).
pub(crate) async fn record_marks<'a>(
    tx: &Transaction<'_>,
    events: impl Iterator<Item = &'a Event>,
) -> std::result::Result<(), tokio_postgres::Error> {
    let (mut queued, mut renders, mut ended) = (Vec::new(), Vec::new(), Vec::<Uuid>::new());
    let marks: Vec<Mark> = events.filter_map(mark_of).collect();
    for mark in marks {
        match mark {
            Mark::Queued { job_id, renders: r } => {
                queued.push(job_id);
                renders.push(r);
            }
            Mark::Ended(id) => ended.push(id),
        }
    }
    if !queued.is_empty() {
        tx.execute(
            "INSERT INTO job_leases (job_id, renders) \
             SELECT j, r FROM unnest($1::uuid[], $2::bool[]) WITH ORDINALITY AS u(j, r, n) \
             ORDER BY n ON CONFLICT (job_id) DO NOTHING",
            &[&queued, &renders],
        )
        .await?;
    }
    if !ended.is_empty() {
        tx.execute(
            "UPDATE job_leases SET state = 'done', lease_until = NULL WHERE job_id = ANY($1)",
            &[&ended],
        )
        .await?;
    }
    Ok(())
}

/// The queue rows of `jobs`, locked until the transaction ends.
pub(crate) async fn lock_rows(
    tx: &Transaction<'_>,
    jobs: &[Uuid],
) -> std::result::Result<HashMap<Uuid, LeaseRow>, tokio_postgres::Error> {
    if jobs.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = tx
        .query(
            "SELECT job_id, state, attempt FROM job_leases WHERE job_id = ANY($1) \
             ORDER BY job_id FOR UPDATE",
            &[&jobs],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let state: &str = r.get(1);
            let row = LeaseRow {
                leased: state == "leased",
                done: state == "done",
                attempt: r.get(2),
            };
            (r.get::<_, Uuid>(0), row)
        })
        .collect())
}

/// Whether an append under `fence` may be recorded, given the job's locked row.
pub(crate) fn check(fence: &Fence, row: Option<&LeaseRow>) -> Result<()> {
    let lost = |why: String| StoreError::LeaseLost {
        job_id: fence.job_id,
        why,
    };
    match (fence.attempt, row) {
        (Some(mine), Some(r)) if r.leased && r.attempt == mine => Ok(()),
        (Some(mine), Some(r)) if r.done => Err(lost(format!(
            "the job has ended (attempt {mine} of {})",
            r.attempt
        ))),
        (Some(mine), Some(r)) => Err(lost(format!(
            "attempt {mine} no longer holds the job (attempt {} does)",
            r.attempt
        ))),
        (Some(mine), None) => Err(lost(format!("attempt {mine}: the job is not queued here"))),
        (None, Some(r)) if r.done => Err(lost("the job has already ended".into())),
        (None, _) => Ok(()),
    }
}

impl PgStore {
    /// Take the oldest open job of `kinds` (queued, or leased by a worker whose lease ran out)
    /// for `lease`; `None` when there is none.
    pub async fn claim(
        &self,
        worker: &str,
        kinds: ClaimKinds,
        lease: Duration,
    ) -> Result<Option<Claim>> {
        let worker = worker.to_string();
        let renders = kinds == ClaimKinds::Renders;
        let lease_ms = lease.as_millis() as f64;
        self.with_client(move |client| async move {
            let row = client
                .query_opt(
                    "UPDATE job_leases AS l SET state = 'leased', attempt = l.attempt + 1, \
                        lost_runs = l.lost_runs + (l.state = 'leased')::int, worker = $1, \
                        lease_until = clock_timestamp() + $3 * interval '1 millisecond' \
                     WHERE l.job_id = (SELECT job_id FROM job_leases \
                         WHERE renders = $2 AND (state = 'queued' \
                               OR (state = 'leased' AND lease_until < clock_timestamp())) \
                         ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) \
                     RETURNING l.job_id, l.attempt, l.lost_runs",
                    &[&worker, &renders, &lease_ms],
                )
                .await
                .map_err(db_error)?;
            Ok(row.map(|r| Claim {
                job_id: r.get(0),
                attempt: r.get(1),
                lost_runs: r.get(2),
            }))
        })
        .await
    }

    /// Extend `claim`'s lease; `false` when the worker no longer holds it (it ran out and
    /// another worker took the job, or the job ended, e.g. cancelled).
    pub async fn renew(&self, claim: Claim, lease: Duration) -> Result<bool> {
        let lease_ms = lease.as_millis() as f64;
        self.with_client(move |client| async move {
            let n = client
                .execute(
                    "UPDATE job_leases SET lease_until = clock_timestamp() + $3 * interval '1 millisecond' \
                     WHERE job_id = $1 AND attempt = $2 AND state = 'leased'",
                    &[&claim.job_id, &claim.attempt, &lease_ms],
                )
                .await
                .map_err(db_error)?;
            Ok(n == 1)
        })
        .await
    }

    /// Give a job back without counting a lost run (a worker stopping cleanly).
    pub async fn release(&self, claim: Claim) -> Result<()> {
        self.with_client(move |client| async move {
            client
                .execute(
                    "UPDATE job_leases SET state = 'queued', worker = NULL, lease_until = NULL \
                     WHERE job_id = $1 AND attempt = $2 AND state = 'leased'",
                    &[&claim.job_id, &claim.attempt],
                )
                .await
                .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    /// Open jobs by state, for health and the deployment checks: `(queued, leased)`.
    pub async fn queue_depth(&self) -> Result<(i64, i64)> {
        self.with_client(|client| async move {
            let row = client
                .query_one(
                    "SELECT count(*) FILTER (WHERE state = 'queued'), \
                            count(*) FILTER (WHERE state = 'leased') FROM job_leases",
                    &[],
                )
                .await
                .map_err(db_error)?;
            Ok((row.get(0), row.get(1)))
        })
        .await
    }
}
