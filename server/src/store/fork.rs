//! Branching: fork a session at the end of round `r` into a new session.
//!
//! The parent's state at the fork point is computed by time travel and written into the
//! child's `session.created` (as a `ForkOrigin` snapshot: z, round counter, incumbent with its
//! artifact, convergence, trajectory), so the child stream is self-contained. The parent gets
//! a `session.forked` event in the same atomic commit, so the lineage is visible in both.

use uuid::Uuid;

use crate::store::backend::{
    AppendOutcome, AppendRequest, ExpectedVersion, NewEvent, StreamAppend,
};
use crate::store::error::{Result, StoreError};
use crate::store::events::v1::{
    BasisComputedV1, ForkOriginV1, SessionCreatedV1, SessionForkedV1, SessionOwnedV1,
};
use crate::store::events::Event;
use crate::store::hosted::LogStore;
use crate::store::ids::{Id, StreamId};
use crate::store::projections::AsOf;
use crate::store::sled::store::SledStore;

/// A fork command. Reuse the same ids to retry it idempotently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkRequest {
    pub parent_session_id: Uuid,
    pub round: u32,
    pub child_session_id: Uuid,
    pub created_event_id: Uuid,
    pub forked_event_id: Uuid,
    /// Who the branch belongs to (`session.owned`), when auth is on.
    pub owner: Option<String>,
}

impl ForkRequest {
    /// Fork `parent` at the end of `round`, with fresh ids.
    pub fn new(parent_session_id: Uuid, round: u32) -> Self {
        ForkRequest {
            parent_session_id,
            round,
            child_session_id: Uuid::now_v7(),
            created_event_id: Uuid::now_v7(),
            forked_event_id: Uuid::now_v7(),
            owner: None,
        }
    }
}

/// The result of a fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkOutcome {
    pub child_session_id: Uuid,
    /// The parent's stream version at the fork point.
    pub parent_version: u64,
    /// `None` when the fork had already been recorded (an idempotent retry).
    pub append: Option<AppendOutcome>,
}

impl SledStore {
    /// Fork a session at the end of round `req.round`.
    pub fn fork_session(&self, req: ForkRequest) -> Result<ForkOutcome> {
        fork_session(&LogStore::from(self.clone()), req)
    }
}

/// Fork a session at the end of round `req.round` on any log.
pub fn fork_session(host: &LogStore, req: ForkRequest) -> Result<ForkOutcome> {
    if let Some(child) = host.session(req.child_session_id) {
        return match child.lineage.parent {
            Some(p) if p.session_id == req.parent_session_id && p.round == req.round => {
                Ok(ForkOutcome {
                    child_session_id: req.child_session_id,
                    parent_version: p.parent_version,
                    append: None,
                })
            }
            _ => Err(StoreError::InvalidRequest(format!(
                "session {} already exists and is not this fork",
                req.child_session_id
            ))),
        };
    }
    let at = host.session_at(req.parent_session_id, AsOf::EndOfRound(req.round))?;
    if at.deleted {
        return Err(StoreError::InvalidRequest(format!(
            "session {} is deleted",
            req.parent_session_id
        )));
    }
    let incumbent = match at.incumbent_candidate_id {
        Some(id) => at
            .find_candidate(id)
            .map(|c| {
                (
                    Some(c.candidate.clone()),
                    c.render.as_ref().map(|r| r.artifact_hash.clone()),
                )
            })
            .unwrap_or((
                at.inherited_incumbent.clone(),
                at.inherited_incumbent_artifact.clone(),
            )),
        None => (None, None),
    };
    let origin = ForkOriginV1 {
        parent_session_id: Id(req.parent_session_id),
        parent_round: req.round,
        parent_version: at.version,
        current_round: at.current_round,
        current_z: at.current_z.clone(),
        incumbent: incumbent.0,
        incumbent_artifact_hash: incumbent.1,
        converged: at.converged,
        rounds_to_convergence: at.rounds_to_convergence,
        trajectory: at.trajectory.clone(),
    };
    let created = Event::SessionCreated(SessionCreatedV1 {
        session_id: Id(req.child_session_id),
        experiment_id: at.experiment_id.map(Id),
        prompt: at.prompt.clone(),
        negative_prompt: at.negative_prompt.clone(),
        config_json: at.config_json.clone(),
        model_ref: at.model_ref.clone(),
        parent: Some(origin),
    });
    let forked = Event::SessionForked(SessionForkedV1 {
        child_session_id: Id(req.child_session_id),
        round: req.round,
        parent_version: at.version,
    });
    let mut child_events = vec![NewEvent::with_id(req.created_event_id, created)];
    // The branch steers in the parent's basis; a copy keeps the child stream self-contained.
    // Its id derives from the creation event's, so a retried fork is still idempotent.
    if let Some(basis) = &at.basis {
        child_events.push(NewEvent::with_id(
            Uuid::from_u128(req.created_event_id.as_u128() ^ 1),
            Event::BasisComputed(BasisComputedV1 {
                recipe_hash: basis.recipe_hash.clone(),
                recipe_json: basis.recipe_json.clone(),
                summary_json: basis.summary_json.clone(),
                device: basis.device.clone(),
            }),
        ));
    }
    if let Some(user) = &req.owner {
        child_events.push(NewEvent::with_id(
            Uuid::from_u128(req.created_event_id.as_u128() ^ 2),
            Event::SessionOwned(SessionOwnedV1 { user: user.clone() }),
        ));
    }
    let append = host.append_blocking(AppendRequest {
        streams: vec![
            StreamAppend {
                stream: StreamId::Session(req.child_session_id),
                expected: ExpectedVersion::NO_STREAM,
                events: child_events,
            },
            StreamAppend {
                stream: StreamId::Session(req.parent_session_id),
                expected: ExpectedVersion::Any,
                events: vec![NewEvent::with_id(req.forked_event_id, forked)],
            },
        ],
    })?;
    Ok(ForkOutcome {
        child_session_id: req.child_session_id,
        parent_version: at.version,
        append: Some(append),
    })
}
