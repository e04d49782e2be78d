//! Group commit for the PostgreSQL backend: appends queue up and a few writer tasks commit them
//! in batches, one transaction (and one WAL flush) per batch.
//!
//! A batch locks every stream it touches (one statement, keys in sorted order, so batches never
//! deadlock), reads the recorded ids and stream heads in two statements, decides each request
//! in order exactly as a lone append would (duplicate, conflict, or staged with its versions),
//! inserts every staged row in one statement and commits. One request's conflict does not
//! fail its neighbours. If the insert still hits a unique violation (a writer outside this
//! process racing on the same ids), the batch is rolled back and each request is retried alone.
//!
//! A request about a job may carry a [`Fence`] (`leases.rs`): its job's queue row is locked and
//! checked after the idempotency decision, so a worker that lost its lease records nothing,
//! and the rows of `job_leases` follow the events inserted (same transaction).
//!
//! The stream locks are taken *before* the transaction writes anything. PostgreSQL assigns the
//! transaction id at the first write, so a later writer of a stream always gets a larger id
//! than the one it waited for, and the `(xid, position)` commit order keeps every stream's
//! versions in order.

use std::collections::{HashMap, HashSet};

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::error::SqlState;
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::store::append::PreparedAppend;
use crate::store::backend::{AppendOutcome, ExpectedVersion, Position, StreamOutcome};
use crate::store::error::{Result, StoreError};
use crate::store::ids::StreamId;
use crate::store::postgres::append::{self, decide_recorded, lock_key, Row};
use crate::store::postgres::leases::{self, Fence, LeaseRow};
use crate::store::postgres::read::{self, Located, COLUMNS};
use crate::store::postgres::{db_error, pooled, NOTIFY_CHANNEL};
use crate::store::util::now_us;
use deadpool_postgres::Pool;

/// Writer tasks (each commits one batch at a time on its own connection).
pub(crate) const WRITERS: usize = 4;

/// Largest number of events one batch commits.
const MAX_BATCH_EVENTS: usize = 5_000;

/// Appends waiting for a writer; a full queue fails new appends with `Busy`.
pub(crate) const QUEUE_CAPACITY: usize = 4_096;

/// One queued append and where its answer goes.
pub(crate) struct Command {
    pub req: PreparedAppend,
    pub fence: Option<Fence>,
    pub reply: oneshot::Sender<Result<AppendOutcome>>,
}

/// Start the writer tasks on the current runtime.
pub(crate) fn spawn(pool: Pool) -> mpsc::Sender<Command> {
    let (tx, rx) = mpsc::channel::<Command>(QUEUE_CAPACITY);
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
    for _ in 0..WRITERS {
        let (pool, rx) = (pool.clone(), rx.clone());
        tokio::spawn(async move {
            loop {
                let batch = {
                    let mut rx = rx.lock().await;
                    let Some(first) = rx.recv().await else { return };
                    let mut events = first.req.len;
                    let mut batch = vec![first];
                    while events < MAX_BATCH_EVENTS {
                        match rx.try_recv() {
                            Ok(c) => {
                                events += c.req.len;
                                batch.push(c);
                            }
                            Err(_) => break,
                        }
                    }
                    batch
                };
                commit_batch(&pool, batch).await;
            }
        });
    }
    tx
}

async fn commit_batch(pool: &Pool, batch: Vec<Command>) {
    let mut client = match pooled(pool).await {
        Ok(c) => c,
        Err(e) => {
            let detail = detail_of(e);
            for c in batch {
                let _ = c.reply.send(Err(StoreError::Database {
                    detail: detail.clone(),
                }));
            }
            return;
        }
    };
    let reqs: Vec<Pending> = batch.iter().map(|c| (&c.req, c.fence)).collect();
    match try_batch(&mut client, &reqs).await {
        Ok(outcomes) => {
            for (c, outcome) in batch.into_iter().zip(outcomes) {
                let outcome = match outcome {
                    Some(o) => o,
                    None => append_alone(&mut client, (&c.req, c.fence)).await,
                };
                let _ = c.reply.send(outcome);
            }
        }
        Err(BatchFailure::Raced) => {
            for c in batch {
                let outcome = append_alone(&mut client, (&c.req, c.fence)).await;
                let _ = c.reply.send(outcome);
            }
        }
        Err(BatchFailure::Failed(e)) => {
            let detail = detail_of(e);
            for c in batch {
                let _ = c.reply.send(Err(StoreError::Database {
                    detail: detail.clone(),
                }));
            }
        }
    }
}

/// What a failure that ends a whole batch says to each of its requests.
fn detail_of(e: StoreError) -> String {
    match e {
        StoreError::Database { detail } => detail,
        other => other.to_string(),
    }
}

/// One request as a batch of its own (after a batch raced a writer outside this process, or
/// for a copy deferred behind its original), retried while it races.
async fn append_alone(
    client: &mut tokio_postgres::Client,
    req: Pending<'_>,
) -> Result<AppendOutcome> {
    for _ in 0..3 {
        match try_batch(client, &[req]).await {
            // A lone request is never deferred: nothing was staged before it.
            Ok(outcomes) => {
                if let Some(Some(outcome)) = outcomes.into_iter().next() {
                    return outcome;
                }
            }
            Err(BatchFailure::Raced) => continue,
            Err(BatchFailure::Failed(e)) => return Err(e),
        }
    }
    Err(StoreError::Database {
        detail: "an append kept racing concurrent writers of the same event ids; retry".into(),
    })
}

/// One request of a batch and the fence it is recorded under.
type Pending<'a> = (&'a PreparedAppend, Option<Fence>);

enum BatchFailure {
    /// A unique violation: a writer outside the stream locks took an id or version.
    Raced,
    Failed(StoreError),
}

impl From<tokio_postgres::Error> for BatchFailure {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            BatchFailure::Raced
        } else {
            BatchFailure::Failed(db_error(e))
        }
    }
}

impl From<StoreError> for BatchFailure {
    fn from(e: StoreError) -> Self {
        BatchFailure::Failed(e)
    }
}

/// What one request of a batch came to before the insert.
enum Decision {
    Done(Result<AppendOutcome>),
    /// Its ids are staged by an earlier request of this batch (a retry racing its original):
    /// answered after the commit, as a lone append, which then finds the original.
    Deferred,
    /// Rows `first..first + n` of the batch insert, with the streams' version ranges.
    Staged {
        first: usize,
        streams: Vec<StreamOutcome>,
    },
}

/// The batch's outcomes in order; `None` for deferred requests.
async fn try_batch(
    client: &mut tokio_postgres::Client,
    pending: &[Pending<'_>],
) -> Result<Vec<Option<Result<AppendOutcome>>>, BatchFailure> {
    let reqs: Vec<&PreparedAppend> = pending.iter().map(|(r, _)| *r).collect();
    let tx = client.transaction().await?;
    let mut keys: Vec<i64> = reqs
        .iter()
        .flat_map(|r| r.streams.iter().map(|s| lock_key(&s.stream)))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    tx.execute(
        "SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) AS k",
        &[&keys],
    )
    .await?;
    let found = recorded(&tx, &reqs).await?;
    let mut heads = heads(&tx, &reqs).await?;
    let fenced: Vec<Uuid> = pending
        .iter()
        .filter_map(|(_, f)| f.map(|f| f.job_id))
        .collect();
    let mut jobs = leases::lock_rows(&tx, &fenced).await?;
    let mut rows: Vec<Row> = Vec::new();
    let mut staged_ids: HashSet<Uuid> = HashSet::new();
    let mut decisions = Vec::with_capacity(reqs.len());
    let recorded_at_us = now_us();
    for (req, fence) in pending {
        let decision = match fenced_out(req, fence.as_ref(), &found, &jobs) {
            Some(refused) => Decision::Done(Err(refused)),
            None => decide(
                req,
                &found,
                &mut heads,
                &mut rows,
                recorded_at_us,
                &mut staged_ids,
            ),
        };
        if matches!(decision, Decision::Staged { .. }) {
            close_ended(req, &mut jobs);
        }
        decisions.push(decision);
    }
    let inserted = append::insert_rows(&tx, &rows).await?;
    let mut staged_events: Vec<&crate::store::events::Event> = Vec::new();
    for ((req, _), decision) in pending.iter().zip(&decisions) {
        if matches!(decision, Decision::Staged { .. }) {
            staged_events.extend(
                req.streams
                    .iter()
                    .flat_map(|s| s.events.iter().map(|e| &e.event)),
            );
        }
    }
    leases::record_marks(&tx, staged_events.into_iter()).await?;
    tx.batch_execute(&format!("NOTIFY {NOTIFY_CHANNEL}"))
        .await?;
    tx.commit().await?;
    Ok(decisions
        .into_iter()
        .map(|d| match d {
            Decision::Done(r) => Some(r),
            Decision::Deferred => None,
            Decision::Staged { first, streams } => {
                let n: usize = streams
                    .iter()
                    .map(|s| (s.last_version - s.first_version + 1) as usize)
                    .sum();
                let mine = &inserted[first..first + n];
                let last = mine
                    .iter()
                    .max_by_key(|(seq, _)| *seq)
                    .copied()
                    .unwrap_or((0, 0));
                Some(Ok(AppendOutcome {
                    streams,
                    first_seq: mine.iter().map(|(s, _)| *s as u64).min().unwrap_or(0),
                    last_seq: last.0 as u64,
                    position: Position::from_parts(last.1 as u64, last.0 as u64),
                    duplicate: false,
                }))
            }
        })
        .collect())
}

/// The refusal of a fenced request whose worker no longer holds the job; `None` to go on.
/// A request already recorded is answered as a duplicate (`decide`), fence or not, so a retry
/// after a lost reply finds its outcome.
fn fenced_out(
    req: &PreparedAppend,
    fence: Option<&Fence>,
    found: &HashMap<Uuid, Located>,
    jobs: &HashMap<Uuid, LeaseRow>,
) -> Option<StoreError> {
    let fence = fence?;
    let already = req
        .streams
        .iter()
        .flat_map(|s| s.events.iter())
        .any(|e| found.contains_key(&e.event_id));
    if already {
        return None;
    }
    leases::check(fence, jobs.get(&fence.job_id)).err()
}

/// A staged request that ends jobs closes their rows for the rest of the batch.
fn close_ended(req: &PreparedAppend, jobs: &mut HashMap<Uuid, LeaseRow>) {
    let events = req
        .streams
        .iter()
        .flat_map(|s| s.events.iter().map(|e| &e.event));
    for ended in leases::ended_jobs(events) {
        if let Some(row) = jobs.get_mut(&ended) {
            row.done = true;
            row.leased = false;
        }
    }
}

/// Decide one request against the recorded ids and the heads so far (updated when staged).
fn decide(
    req: &PreparedAppend,
    found: &HashMap<Uuid, Located>,
    heads: &mut HashMap<StreamId, u64>,
    rows: &mut Vec<Row>,
    recorded_at_us: i64,
    staged_ids: &mut HashSet<Uuid>,
) -> Decision {
    let ids = req
        .streams
        .iter()
        .flat_map(|s| s.events.iter().map(|e| e.event_id));
    if ids.clone().any(|id| staged_ids.contains(&id)) {
        return Decision::Deferred;
    }
    match decide_recorded(req, found) {
        Ok(Some(outcome)) => return Decision::Done(Ok(outcome)),
        Ok(None) => {}
        Err(e) => return Decision::Done(Err(e)),
    }
    for s in &req.streams {
        let current = heads.get(&s.stream).copied().unwrap_or(0);
        if let ExpectedVersion::Exact(expected) = s.expected {
            if expected != current {
                return Decision::Done(Err(StoreError::Conflict {
                    stream: s.stream,
                    expected,
                    current,
                }));
            }
        }
    }
    let first = rows.len();
    let mut streams = Vec::with_capacity(req.streams.len());
    for s in &req.streams {
        let base = heads.get(&s.stream).copied().unwrap_or(0);
        rows.extend(append::rows_for(s, base, recorded_at_us));
        let last = base + s.events.len() as u64;
        heads.insert(s.stream, last);
        streams.push(StreamOutcome {
            stream: s.stream,
            first_version: base + 1,
            last_version: last,
        });
    }
    staged_ids.extend(ids);
    Decision::Staged { first, streams }
}

/// Recorded events among the batch's ids.
async fn recorded(
    tx: &Transaction<'_>,
    reqs: &[&PreparedAppend],
) -> Result<HashMap<Uuid, Located>, BatchFailure> {
    let ids: Vec<Uuid> = reqs
        .iter()
        .flat_map(|r| {
            r.streams
                .iter()
                .flat_map(|s| s.events.iter().map(|e| e.event_id))
        })
        .collect();
    let sql = format!("SELECT {COLUMNS} FROM events WHERE event_id = ANY($1)");
    let rows = tx.query(&sql, &[&ids]).await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in &rows {
        let l = read::envelope_from_row(row)?;
        found.insert(l.envelope.event_id, l);
    }
    Ok(found)
}

/// Current versions of every stream the batch touches.
async fn heads(
    tx: &Transaction<'_>,
    reqs: &[&PreparedAppend],
) -> Result<HashMap<StreamId, u64>, BatchFailure> {
    let streams: HashSet<StreamId> = reqs
        .iter()
        .flat_map(|r| r.streams.iter().map(|s| s.stream))
        .collect();
    let (kinds, entities): (Vec<i16>, Vec<Uuid>) = streams.iter().map(read::stream_key).unzip();
    let rows = tx
        .query(
            "SELECT s.k, s.e, (SELECT coalesce(max(stream_version), 0) FROM events \
                              WHERE stream_kind = s.k AND stream_entity = s.e) \
             FROM unnest($1::int2[], $2::uuid[]) AS s(k, e)",
            &[&kinds, &entities],
        )
        .await?;
    let by_key: HashMap<(i16, Uuid), u64> = rows
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get::<_, i64>(2) as u64))
        .collect();
    Ok(streams
        .into_iter()
        .map(|s| {
            let v = by_key.get(&read::stream_key(&s)).copied().unwrap_or(0);
            (s, v)
        })
        .collect())
}
