//! The session detail read model: rounds, candidates, renders, feedback, the incumbent
//! trajectory, convergence and lineage, folded from one session stream.
//!
//! `SessionDetail::apply` is the single fold step used by the live projection, the start-up
//! rebuild and time travel, so all three agree by construction. It never panics: an event that
//! does not fit (e.g. feedback for an unknown round) is counted in `anomalies` and skipped.

use serde::Serialize;
use uuid::Uuid;

use crate::store::envelope::Envelope;
use crate::store::events::{Candidate, Event, TrajectoryPoint};

/// Lifecycle status (reference §2.10, plus the states the reference never stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Ready,
    Generating,
    AwaitingFeedback,
    Updating,
    Deleted,
}

impl SessionStatus {
    /// Stable lowercase name (used by the tidy tables).
    pub fn as_str(&self) -> &'static str {
        match self {
            SessionStatus::Ready => "ready",
            SessionStatus::Generating => "generating",
            SessionStatus::AwaitingFeedback => "awaiting_feedback",
            SessionStatus::Updating => "updating",
            SessionStatus::Deleted => "deleted",
        }
    }
}

/// Status of one round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum RoundStatus {
    Requested,
    Rendering,
    AwaitingFeedback,
    FeedbackReceived,
    Completed,
    Failed(String),
}

impl RoundStatus {
    /// Stable lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RoundStatus::Requested => "requested",
            RoundStatus::Rendering => "rendering",
            RoundStatus::AwaitingFeedback => "awaiting_feedback",
            RoundStatus::FeedbackReceived => "feedback_received",
            RoundStatus::Completed => "completed",
            RoundStatus::Failed(_) => "failed",
        }
    }
}

/// A finished render of a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderView {
    pub artifact_hash: String,
    pub width: u32,
    pub height: u32,
    pub timings: Vec<(String, f64)>,
    pub device: String,
    pub rendered_at_us: i64,
}

/// One candidate of a round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateView {
    pub candidate: Candidate,
    pub render: Option<RenderView>,
}

/// Feedback given on a round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackView {
    pub feedback: crate::store::events::FeedbackSubmitted,
    pub event_id: Uuid,
    pub submitted_at_us: i64,
}

/// The steering update that closed a round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateView {
    pub update: crate::store::events::IncumbentUpdated,
    pub updated_at_us: i64,
}

/// One round (index 0 is calibration).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundView {
    pub round_id: Uuid,
    pub index: u32,
    pub calibration: bool,
    pub status: RoundStatus,
    pub job_id: Option<Uuid>,
    pub incumbent_z: Vec<f64>,
    pub trust_radius: f64,
    pub seed_policy: String,
    pub candidates: Vec<CandidateView>,
    pub feedback: Option<FeedbackView>,
    pub update: Option<UpdateView>,
    /// Calibration only: the selected candidates.
    pub selected_candidate_ids: Vec<Uuid>,
    pub requested_at_us: i64,
    pub ready_at_us: Option<i64>,
}

/// The session's steering basis (`basis.computed`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BasisView {
    pub recipe_hash: String,
    pub recipe_json: String,
    pub summary_json: String,
    pub device: String,
}

/// A "new seed" the user asked for (`seed.renewed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeedRenewal {
    pub epoch: u32,
    pub seed: u32,
    pub after_round: u32,
}

/// Where a forked session came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForkParent {
    pub session_id: Uuid,
    pub round: u32,
    pub parent_version: u64,
}

/// A session forked from this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForkChild {
    pub session_id: Uuid,
    pub round: u32,
    pub parent_version: u64,
}

/// Lineage, visible in both parent and child.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Lineage {
    pub parent: Option<ForkParent>,
    pub children: Vec<ForkChild>,
}

/// Everything known about one session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionDetail {
    pub session_id: Uuid,
    pub experiment_id: Option<Uuid>,
    pub prompt: String,
    pub negative_prompt: String,
    pub config_json: String,
    pub model_ref: String,
    pub status: SessionStatus,
    pub current_round: u32,
    pub current_z: Vec<f64>,
    pub incumbent_candidate_id: Option<Uuid>,
    /// The incumbent inherited from a fork parent (carried forward by the next round).
    pub inherited_incumbent: Option<Candidate>,
    /// The image of the inherited incumbent (rendered in the parent).
    pub inherited_incumbent_artifact: Option<String>,
    pub converged: bool,
    pub rounds_to_convergence: Option<u32>,
    /// The latest convergence report (JSON text), if any.
    pub convergence_json: Option<String>,
    /// Incumbent trajectory: one point per completed update (inherited points first).
    pub trajectory: Vec<TrajectoryPoint>,
    pub rounds: Vec<RoundView>,
    /// The steering basis, once computed (sessions created before wave 2 have none).
    pub basis: Option<BasisView>,
    /// Shared-seed renewals, oldest first.
    pub seed_renewals: Vec<SeedRenewal>,
    pub lineage: Lineage,
    pub deleted: bool,
    /// The user it belongs to (`session.owned`); `None` for sessions made without auth.
    pub owner: Option<String>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
    /// Stream version of the last applied event.
    pub version: u64,
    /// Global sequence of the last applied event.
    pub last_seq: u64,
    /// Events that did not fit the model (skipped).
    pub anomalies: u32,
}

fn uuids(ids: &[crate::store::ids::Id]) -> Vec<Uuid> {
    ids.iter().map(|i| i.0).collect()
}

fn candidate_views(cs: Vec<Candidate>) -> Vec<CandidateView> {
    cs.into_iter()
        .map(|candidate| CandidateView {
            candidate,
            render: None,
        })
        .collect()
}

impl SessionDetail {
    /// Start a detail from its `session.created` event; `None` for any other event.
    pub fn from_created(env: Envelope) -> Option<SessionDetail> {
        let Event::SessionCreated(c) = env.event else {
            return None;
        };
        let mut d = SessionDetail {
            session_id: c.session_id.0,
            experiment_id: c.experiment_id.map(|i| i.0),
            prompt: c.prompt,
            negative_prompt: c.negative_prompt,
            config_json: c.config_json,
            model_ref: c.model_ref,
            status: SessionStatus::Ready,
            current_round: 0,
            current_z: Vec::new(),
            incumbent_candidate_id: None,
            inherited_incumbent: None,
            inherited_incumbent_artifact: None,
            converged: false,
            rounds_to_convergence: None,
            convergence_json: None,
            trajectory: Vec::new(),
            rounds: Vec::new(),
            basis: None,
            seed_renewals: Vec::new(),
            lineage: Lineage::default(),
            deleted: false,
            owner: None,
            created_at_us: env.recorded_at_us,
            updated_at_us: env.recorded_at_us,
            version: env.stream_version,
            last_seq: env.seq,
            anomalies: 0,
        };
        if let Some(p) = c.parent {
            d.current_round = p.current_round;
            d.current_z = p.current_z;
            d.incumbent_candidate_id = p.incumbent.as_ref().map(|c| c.candidate_id.0);
            d.inherited_incumbent = p.incumbent;
            d.inherited_incumbent_artifact = p.incumbent_artifact_hash;
            d.converged = p.converged;
            d.rounds_to_convergence = p.rounds_to_convergence;
            d.trajectory = p.trajectory;
            d.lineage.parent = Some(ForkParent {
                session_id: p.parent_session_id.0,
                round: p.parent_round,
                parent_version: p.parent_version,
            });
        }
        Some(d)
    }

    fn round_mut(&mut self, round_id: Uuid) -> Option<&mut RoundView> {
        self.rounds
            .iter_mut()
            .rev()
            .find(|r| r.round_id == round_id)
    }

    /// Index of the round with this id.
    pub fn round_index_of(&self, round_id: Uuid) -> Option<u32> {
        self.rounds
            .iter()
            .rev()
            .find(|r| r.round_id == round_id)
            .map(|r| r.index)
    }

    /// The round with index `index` (the latest one if an index was reused).
    pub fn round(&self, index: u32) -> Option<&RoundView> {
        self.rounds.iter().rev().find(|r| r.index == index)
    }

    fn new_round(
        &mut self,
        round_id: Uuid,
        index: u32,
        calibration: bool,
        at: i64,
    ) -> &mut RoundView {
        self.rounds.push(RoundView {
            round_id,
            index,
            calibration,
            status: RoundStatus::Requested,
            job_id: None,
            incumbent_z: Vec::new(),
            trust_radius: 0.0,
            seed_policy: String::new(),
            candidates: Vec::new(),
            feedback: None,
            update: None,
            selected_candidate_ids: Vec::new(),
            requested_at_us: at,
            ready_at_us: None,
        });
        let last = self.rounds.len() - 1;
        &mut self.rounds[last]
    }

    /// Apply one event of this session's stream.
    pub fn apply(&mut self, env: Envelope) {
        let at = env.recorded_at_us;
        self.version = env.stream_version;
        self.last_seq = env.seq;
        self.updated_at_us = at;
        let fits = match env.event {
            Event::SessionCreated(_) => false,
            Event::SessionForked(f) => {
                self.lineage.children.push(ForkChild {
                    session_id: f.child_session_id.0,
                    round: f.round,
                    parent_version: f.parent_version,
                });
                true
            }
            Event::CalibrationGenerated(c) => {
                let r = self.new_round(c.round_id.0, 0, true, at);
                r.candidates = candidate_views(c.candidates);
                r.status = RoundStatus::AwaitingFeedback;
                r.ready_at_us = Some(at);
                true
            }
            Event::CalibrationSubmitted(c) => match self.round_mut(c.round_id.0) {
                Some(r) => {
                    r.selected_candidate_ids = uuids(&c.selected_candidate_ids);
                    r.status = RoundStatus::Completed;
                    self.current_z = c.resulting_z;
                    true
                }
                None => false,
            },
            Event::RoundRequested(q) => {
                let r = self.new_round(q.round_id.0, q.round_index, false, at);
                r.job_id = q.job_id.map(|j| j.0);
                self.current_round = q.round_index;
                self.status = SessionStatus::Generating;
                true
            }
            Event::CandidatesProposed(p) => {
                if self.round_mut(p.round_id.0).is_none() {
                    self.new_round(p.round_id.0, p.round_index, false, at);
                    self.current_round = p.round_index;
                }
                match self.round_mut(p.round_id.0) {
                    Some(r) => {
                        r.index = p.round_index;
                        r.incumbent_z = p.incumbent_z;
                        r.trust_radius = p.trust_radius;
                        r.seed_policy = p.seed_policy;
                        r.candidates = candidate_views(p.candidates);
                        r.status = RoundStatus::Rendering;
                        self.status = SessionStatus::Generating;
                        true
                    }
                    None => false,
                }
            }
            Event::CandidateRendered(c) => {
                let render = RenderView {
                    artifact_hash: c.artifact_hash,
                    width: c.width,
                    height: c.height,
                    timings: c.timings.into_iter().map(|t| (t.name, t.ms)).collect(),
                    device: c.device,
                    rendered_at_us: at,
                };
                let cand = self.round_mut(c.round_id.0).and_then(|r| {
                    r.candidates
                        .iter_mut()
                        .find(|v| v.candidate.candidate_id == c.candidate_id)
                });
                match cand {
                    Some(v) => {
                        v.render = Some(render);
                        true
                    }
                    None => false,
                }
            }
            Event::RoundReady(r) => match self.round_mut(r.round_id.0) {
                Some(round) => {
                    round.status = RoundStatus::AwaitingFeedback;
                    round.ready_at_us = Some(at);
                    self.status = SessionStatus::AwaitingFeedback;
                    true
                }
                None => false,
            },
            Event::RoundFailed(f) => match self.round_mut(f.round_id.0) {
                Some(round) => {
                    round.status = RoundStatus::Failed(f.reason);
                    self.status = SessionStatus::Ready;
                    true
                }
                None => false,
            },
            Event::FeedbackSubmitted(f) => match self.round_mut(f.round_id.0) {
                Some(round) => {
                    round.status = RoundStatus::FeedbackReceived;
                    round.feedback = Some(FeedbackView {
                        feedback: f,
                        event_id: env.event_id,
                        submitted_at_us: at,
                    });
                    self.status = SessionStatus::Updating;
                    true
                }
                None => false,
            },
            Event::IncumbentUpdated(u) => {
                let round_id = u.round_id.0;
                let next_z = u.next_z.clone();
                let winner = u.winner_candidate_id;
                let converged = u.converged;
                let rtc = u.rounds_to_convergence;
                let report = u.convergence_json.clone();
                match self.round_mut(round_id) {
                    Some(round) => {
                        round.status = RoundStatus::Completed;
                        let index = round.index;
                        round.update = Some(UpdateView {
                            update: u,
                            updated_at_us: at,
                        });
                        self.trajectory.push(TrajectoryPoint {
                            round_index: index,
                            z: next_z.clone(),
                            winner_candidate_id: winner,
                        });
                        self.current_z = next_z;
                        self.incumbent_candidate_id = winner.map(|w| w.0);
                        self.converged = converged;
                        self.rounds_to_convergence = rtc;
                        self.convergence_json = Some(report);
                        self.status = SessionStatus::Ready;
                        true
                    }
                    None => false,
                }
            }
            Event::BasisComputed(b) => {
                self.basis = Some(BasisView {
                    recipe_hash: b.recipe_hash,
                    recipe_json: b.recipe_json,
                    summary_json: b.summary_json,
                    device: b.device,
                });
                true
            }
            Event::SeedRenewed(r) => {
                self.seed_renewals.push(SeedRenewal {
                    epoch: r.epoch,
                    seed: r.seed,
                    after_round: r.after_round,
                });
                true
            }
            Event::SessionDeleted(_) => {
                self.deleted = true;
                self.status = SessionStatus::Deleted;
                true
            }
            Event::SessionOwned(o) => {
                self.owner = Some(o.user);
                true
            }
            Event::ExperimentCreated(_)
            | Event::JobQueued(_)
            | Event::JobStarted(_)
            | Event::JobFinished(_)
            | Event::JobFailed(_)
            | Event::JobCancelled(_)
            | Event::RequestCompleted(_)
            | Event::A1111OptionsSet(_)
            | Event::TokenCreated(_)
            | Event::TokenRevoked(_)
            | Event::PasswordSet(_) => false,
            // A purged session has no projection; these never reach one.
            Event::EventRedacted(_) | Event::SessionPurged(_) => true,
        };
        if !fits {
            self.anomalies = self.anomalies.saturating_add(1);
        }
    }

    /// The candidate with this id, searching the newest rounds first.
    pub fn find_candidate(&self, id: Uuid) -> Option<&CandidateView> {
        self.rounds
            .iter()
            .rev()
            .flat_map(|r| r.candidates.iter())
            .find(|c| c.candidate.candidate_id.0 == id)
    }
}
