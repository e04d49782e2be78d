//! Purging a deleted session for real. Deleting only appends `session.deleted`: the session is
//! hidden but its prompt, vectors, feedback and images stay in the log. A purge overwrites every
//! record that carries the session's data with an `event.redacted` placeholder (same seq,
//! stream, version, id and time, so the log still verifies and nothing after it moves):
//!
//! * every event of the session's stream;
//! * the job events of its jobs (a `job.queued` holds the sealed settings, prompt included);
//! * the recorded `Idempotency-Key` answers that mention it.
//!
//! It then reports which images only this session referenced, for the caller to remove (the
//! artifact files are not the log's to delete). Forks made from the session are sessions of
//! their own and are kept; their lineage still names the purged id.

use std::collections::{BTreeSet, HashSet};

use uuid::Uuid;

use crate::store::artifact_refs::referenced_by;
use crate::store::error::Result;
use crate::store::events::EventRedacted;
use crate::store::{Envelope, Event, Id, SledStore, StreamId};

/// Events read per batch while scanning the log.
const SCAN_BATCH: usize = 4096;

/// What a redaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redaction {
    /// Records overwritten.
    pub events_redacted: u64,
    /// Images only the purged session referenced (now referenced by nothing).
    pub orphaned_artifacts: BTreeSet<String>,
}

/// Whether `env` carries data of `session` (whose job ids are collected in `jobs` as the scan
/// meets their `job.queued`).
fn carries(env: &Envelope, session: Uuid, needle: &str, jobs: &mut HashSet<Id>) -> bool {
    match (&env.stream, &env.event) {
        (_, Event::EventRedacted(_)) => false,
        (StreamId::Session(id), _) => *id == session,
        (StreamId::Jobs, Event::JobQueued(q)) => {
            let ours = q.session_id.is_some_and(|s| s.0 == session);
            if ours {
                jobs.insert(q.job_id);
            }
            ours
        }
        (StreamId::Jobs, event) => job_id_of(event).is_some_and(|id| jobs.contains(&id)),
        (StreamId::Requests, Event::RequestCompleted(r)) => {
            r.path.contains(needle) || r.body_json.contains(needle)
        }
        _ => false,
    }
}

fn job_id_of(event: &Event) -> Option<Id> {
    match event {
        Event::JobStarted(e) => Some(e.job_id),
        Event::JobFinished(e) => Some(e.job_id),
        Event::JobFailed(e) => Some(e.job_id),
        Event::JobCancelled(e) => Some(e.job_id),
        _ => None,
    }
}

/// Overwrites every record carrying `session`'s data (see the module doc) and drops the
/// session, its jobs and the answers that mention it from the projections.
pub fn redact_session(store: &SledStore, session: Uuid) -> Result<Redaction> {
    let needle = session.to_string();
    let mut jobs = HashSet::new();
    let mut ours: BTreeSet<String> = BTreeSet::new();
    let mut others: HashSet<String> = HashSet::new();
    let mut records = Vec::new();
    let mut after = 0;
    loop {
        let batch = store.log_events(after, SCAN_BATCH)?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for env in batch {
            let refs = referenced_by(&env.event);
            if !carries(&env, session, &needle, &mut jobs) {
                others.extend(refs);
                continue;
            }
            ours.extend(refs);
            let placeholder = Envelope {
                event: Event::EventRedacted(EventRedacted {
                    original_type: env.event.event_type().code(),
                    purged_session: Id(session),
                }),
                ..env
            };
            let bytes = placeholder.to_record().map_err(|e| {
                crate::store::StoreError::InvalidRequest(format!(
                    "cannot encode a placeholder: {e}"
                ))
            })?;
            records.push((placeholder.seq, bytes));
        }
    }
    let events_redacted = records.len() as u64;
    store.overwrite_records(records, |p| {
        p.sessions.remove(&session);
        for experiment in p.experiments.values_mut() {
            experiment.session_ids.retain(|id| *id != session);
        }
        p.jobs.retain(|_, job| job.session_id != Some(session));
        p.requests.forget_mentions(&needle);
    })?;
    ours.retain(|hash| !others.contains(hash));
    Ok(Redaction {
        events_redacted,
        orphaned_artifacts: ours,
    })
}
