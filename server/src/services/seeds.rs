//! "New seed": under the `shared` seed policy every candidate of every round renders with one
//! seed, so comparisons isolate z; when the user tires of that seed's composition they ask for
//! a fresh one. The request is a `seed.renewed` event; later rounds render with its seed (the
//! incumbent is re-rendered with it instead of reusing its old image). Asking again before the
//! next round answers the pending seed (idempotent).

use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use super::history;
use super::steering_inputs::steering_inputs;
use super::{ServiceError, ServiceResult, Services};
use crate::steering::kinds::SeedPolicy;
use crate::steering::seeds::shared_seed;
use crate::store::events::SeedRenewed;
use crate::store::projections::session::SessionStatus;
use crate::store::{AppendRequest, Event, ExpectedVersion, NewEvent, StreamAppend, StreamId};

/// What a renewal answers.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RenewedSeed {
    /// The session.
    pub session_id: Uuid,
    /// 1 for the first renewal (inherited renewals of a fork count too).
    pub epoch: u32,
    /// The new seed.
    pub seed: u32,
    /// Rounds generated when it was asked for; the next round uses it.
    pub after_round: u32,
}

impl Services {
    /// Starts a fresh shared seed for the session's next rounds.
    pub async fn renew_seed(self: &Arc<Self>, session_id: Uuid) -> ServiceResult<RenewedSeed> {
        if let Some(active) = self.active_job(session_id) {
            return Err(ServiceError::conflict(format!(
                "session {session_id} has a job in progress ({active}); ask for a new seed when it ends"
            )));
        }
        let inputs = steering_inputs(&self.store, session_id)?;
        if inputs.config.seed_policy != SeedPolicy::Shared {
            return Err(ServiceError::invalid(
                "seed_policy",
                format!(
                    "a new seed applies to the shared seed policy; this session uses {}",
                    inputs.config.seed_policy
                ),
            ));
        }
        let status = history::with_session(&self.store, session_id, |d| Ok(d.status))?;
        if matches!(status, SessionStatus::Generating | SessionStatus::Updating) {
            return Err(ServiceError::conflict(
                "a round is being generated or updated; ask for a new seed when it is ready",
            ));
        }
        // A seed asked for since the last round and not used yet answers again: a double click
        // or a retried request must not skip through seeds nobody saw.
        let pending = history::with_session(&self.store, session_id, |d| {
            Ok(d.seed_renewals
                .last()
                .filter(|r| r.after_round == inputs.current_round)
                .copied())
        })?;
        if let Some(r) = pending {
            return Ok(RenewedSeed {
                session_id,
                epoch: r.epoch,
                seed: r.seed,
                after_round: r.after_round,
            });
        }
        let epoch = inputs.seed_epoch + 1;
        let renewed = RenewedSeed {
            session_id,
            epoch,
            seed: shared_seed(&session_id.to_string(), epoch),
            after_round: inputs.current_round,
        };
        self.store
            .append_async(AppendRequest {
                streams: vec![StreamAppend {
                    stream: StreamId::Session(session_id),
                    expected: ExpectedVersion::Exact(inputs.version),
                    events: vec![NewEvent::new(Event::SeedRenewed(SeedRenewed {
                        epoch,
                        seed: renewed.seed,
                        after_round: renewed.after_round,
                    }))],
                }],
            })
            .await?;
        Ok(renewed)
    }
}
