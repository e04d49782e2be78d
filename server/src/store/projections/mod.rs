//! In-memory read models: experiments, the sessions list, session detail, jobs.
//!
//! Rebuilt from the log at start-up (in the same pass that verifies it) and updated by the
//! writer after every durable commit, before the append is acknowledged, so a caller reads its
//! own writes. [`Projections::fingerprint`] hashes the whole state; a test checks that a rebuild
//! from seq 1 equals the live state.

pub mod access;
pub mod jobs;
pub mod requests;
pub mod session;
pub mod time_travel;

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use crate::store::envelope::Envelope;
use crate::store::events::Event;
use crate::store::ids::StreamId;

pub use jobs::{JobState, JobView};
pub use session::{
    CandidateView, FeedbackView, ForkChild, ForkParent, Lineage, RenderView, RoundStatus,
    RoundView, SessionDetail, SessionStatus, UpdateView,
};
pub use time_travel::{fold_session, AsOf};

/// One experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentView {
    pub experiment_id: Uuid,
    pub name: String,
    pub description: String,
    pub config_json: String,
    pub created_at_us: i64,
    pub session_ids: Vec<Uuid>,
}

/// Renders recorded on the global `generations` stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GenerationsView {
    pub renders: u64,
    pub last_artifact_hash: Option<String>,
    /// Options posted to `/sdapi/v1/options`, newest value per key; at most
    /// [`MAX_A1111_OPTIONS`] keys (the route refuses more before appending; a longer log keeps
    /// the first ones).
    pub a1111_options: serde_json::Map<String, serde_json::Value>,
}

/// Most distinct A1111 option keys kept (A1111's own settings are ~400, of which clients set a
/// handful); with the route's 4 KiB per value this bounds the map at ~1 MB.
pub const MAX_A1111_OPTIONS: usize = 256;

/// A row of the sessions list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    pub session_id: Uuid,
    pub experiment_id: Option<Uuid>,
    pub prompt: String,
    pub model_ref: String,
    pub status: SessionStatus,
    pub current_round: u32,
    pub rounds: usize,
    pub converged: bool,
    pub parent: Option<ForkParent>,
    pub children: usize,
    /// The user it belongs to, if any.
    pub owner: Option<String>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
    pub version: u64,
}

impl From<&SessionDetail> for SessionSummary {
    fn from(d: &SessionDetail) -> Self {
        SessionSummary {
            session_id: d.session_id,
            experiment_id: d.experiment_id,
            prompt: d.prompt.clone(),
            model_ref: d.model_ref.clone(),
            status: d.status,
            current_round: d.current_round,
            rounds: d.rounds.len(),
            converged: d.converged,
            parent: d.lineage.parent.clone(),
            children: d.lineage.children.len(),
            owner: d.owner.clone(),
            created_at_us: d.created_at_us,
            updated_at_us: d.updated_at_us,
            version: d.version,
        }
    }
}

/// All read models.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Projections {
    /// Sequence of the last applied event.
    pub head: u64,
    pub experiments: BTreeMap<Uuid, ExperimentView>,
    pub sessions: BTreeMap<Uuid, SessionDetail>,
    pub jobs: BTreeMap<Uuid, JobView>,
    pub generations: GenerationsView,
    /// Answers of requests sent with an `Idempotency-Key` (the last 24 hours).
    pub requests: requests::Requests,
    /// API tokens.
    pub access: access::Tokens,
    /// Events that did not fit any read model (skipped; a domain-level bug indicator).
    pub anomalies: u64,
}

impl Projections {
    /// Apply one committed event, in sequence order.
    pub fn apply(&mut self, env: Envelope) {
        self.head = env.seq;
        // What a purge left behind belongs to no read model (the purge removed them).
        if matches!(env.event, Event::EventRedacted(_) | Event::SessionPurged(_)) {
            return;
        }
        let fits = match env.stream {
            StreamId::Session(id) => match self.sessions.get_mut(&id) {
                Some(d) => {
                    d.apply(env);
                    true
                }
                None => match SessionDetail::from_created(env) {
                    Some(d) => {
                        if let Some(x) = d.experiment_id.and_then(|e| self.experiments.get_mut(&e))
                        {
                            x.session_ids.push(d.session_id);
                        }
                        self.sessions.insert(id, d);
                        true
                    }
                    None => false,
                },
            },
            StreamId::Experiment(_) => match env.event {
                Event::ExperimentCreated(e) => {
                    self.experiments.insert(
                        e.experiment_id.0,
                        ExperimentView {
                            experiment_id: e.experiment_id.0,
                            name: e.name,
                            description: e.description,
                            config_json: e.config_json,
                            created_at_us: env.recorded_at_us,
                            session_ids: Vec::new(),
                        },
                    );
                    true
                }
                _ => false,
            },
            StreamId::Jobs => jobs::apply(&mut self.jobs, env),
            StreamId::Requests => requests::apply(&mut self.requests, env),
            StreamId::Access => access::apply(&mut self.access, env),
            StreamId::Generations => match env.event {
                Event::CandidateRendered(r) => {
                    self.generations.renders += 1;
                    self.generations.last_artifact_hash = Some(r.artifact_hash);
                    true
                }
                Event::A1111OptionsSet(o) => {
                    let options = &mut self.generations.a1111_options;
                    let posted: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(&o.options_json).unwrap_or_default();
                    for (key, value) in posted {
                        if options.contains_key(&key) || options.len() < MAX_A1111_OPTIONS {
                            options.insert(key, value);
                        }
                    }
                    true
                }
                _ => false,
            },
        };
        if !fits {
            self.anomalies += 1;
        }
    }

    /// Whether the image `hash` belongs only to deleted sessions (so it is no longer served):
    /// some deleted session rendered it and no live one did.
    pub fn artifact_hidden(&self, hash: &str) -> bool {
        let mut deleted = false;
        for session in self.sessions.values() {
            let renders = session.rounds.iter().flat_map(|r| &r.candidates);
            if renders
                .filter_map(|c| c.render.as_ref())
                .any(|r| r.artifact_hash == hash)
            {
                if !session.deleted {
                    return false;
                }
                deleted = true;
            }
        }
        deleted
    }

    /// The sessions list, newest activity first; deleted sessions are left out unless asked.
    pub fn sessions_list(&self, include_deleted: bool) -> Vec<SessionSummary> {
        let mut v: Vec<SessionSummary> = self
            .sessions
            .values()
            .filter(|d| include_deleted || !d.deleted)
            .map(SessionSummary::from)
            .collect();
        v.sort_by(|a, b| {
            b.updated_at_us
                .cmp(&a.updated_at_us)
                .then(b.session_id.cmp(&a.session_id))
        });
        v
    }

    /// A stable 64-bit hash of the whole state (FNV-1a over its canonical JSON).
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fnv64::default();
        // Serializing plain data to a writer cannot fail; an error would only come from the
        // writer, and Fnv64 never fails.
        let _ = serde_json::to_writer(&mut h, self);
        h.0
    }
}

/// FNV-1a, 64 bit, as an `io::Write` sink.
pub struct Fnv64(pub u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl std::io::Write for Fnv64 {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
