//! Time travel: the state of a session at a point of its history, computed by folding the
//! session's events up to that point with the same `apply` as the live projection.
//!
//! * [`AsOf::EndOfRound`]`(r)`: every event before the next round starts (round `r` with its
//!   renders, feedback and update; for a forked child, `r` may be the fork round itself, which
//!   is the inherited starting state).
//! * [`AsOf::BeforeFeedback`]`(r)`: round `r` as proposed and rendered, before its feedback
//!   (for the calibration round 0: before the calibration was submitted).
//! * [`AsOf::Version`]`(v)`: the first `v` events of the stream.
//! * [`AsOf::Latest`]: the whole stream.

use uuid::Uuid;

use crate::store::envelope::Envelope;
use crate::store::error::StoreError;
use crate::store::events::Event;
use crate::store::projections::session::SessionDetail;

/// A point in a session's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    EndOfRound(u32),
    BeforeFeedback(u32),
    Version(u64),
    Latest,
}

/// Incremental fold that knows when to stop, so callers can stop reading the log early.
#[derive(Debug)]
pub struct SessionFolder {
    session_id: Uuid,
    as_of: AsOf,
    detail: Option<SessionDetail>,
    done: bool,
}

impl SessionFolder {
    /// Start folding `session_id` up to `as_of`.
    pub fn new(session_id: Uuid, as_of: AsOf) -> Self {
        SessionFolder {
            session_id,
            as_of,
            detail: None,
            done: false,
        }
    }

    /// True once later events can no longer change the result.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn starts_later_round(&self, event: &Event, r: u32) -> bool {
        match event {
            Event::RoundRequested(q) => q.round_index > r,
            Event::CandidatesProposed(p) => {
                p.round_index > r
                    && self
                        .detail
                        .as_ref()
                        .and_then(|d| d.round_index_of(p.round_id.0))
                        .is_none()
            }
            _ => false,
        }
    }

    fn is_feedback_of(&self, event: &Event, r: u32) -> bool {
        let round_id = match event {
            Event::FeedbackSubmitted(f) => f.round_id.0,
            Event::CalibrationSubmitted(c) => c.round_id.0,
            _ => return false,
        };
        self.detail
            .as_ref()
            .and_then(|d| d.round_index_of(round_id))
            == Some(r)
    }

    /// Offer the next event of the stream (in version order). Returns false once done.
    pub fn push(&mut self, env: Envelope) -> bool {
        if self.done {
            return false;
        }
        let stop = match self.as_of {
            AsOf::Version(v) => env.stream_version > v,
            AsOf::EndOfRound(r) => self.starts_later_round(&env.event, r),
            AsOf::BeforeFeedback(r) => {
                self.starts_later_round(&env.event, r) || self.is_feedback_of(&env.event, r)
            }
            AsOf::Latest => false,
        };
        if stop {
            self.done = true;
            return false;
        }
        match &mut self.detail {
            Some(d) => d.apply(env),
            None => self.detail = SessionDetail::from_created(env),
        }
        true
    }

    /// The folded state, or a typed error when the session or the round does not exist.
    pub fn finish(self) -> Result<SessionDetail, StoreError> {
        let d = self
            .detail
            .ok_or(StoreError::UnknownSession(self.session_id))?;
        let round_ok = |r: u32| {
            d.round(r).is_some() || d.lineage.parent.as_ref().is_some_and(|p| p.round == r)
        };
        match self.as_of {
            AsOf::EndOfRound(r) if !round_ok(r) => Err(StoreError::RoundNotFound {
                session: self.session_id,
                round: r,
            }),
            AsOf::BeforeFeedback(r) if d.round(r).is_none() => Err(StoreError::RoundNotFound {
                session: self.session_id,
                round: r,
            }),
            _ => Ok(d),
        }
    }
}

/// Fold a session's events (in version order) up to `as_of`.
pub fn fold_session(
    session_id: Uuid,
    events: impl IntoIterator<Item = Envelope>,
    as_of: AsOf,
) -> Result<SessionDetail, StoreError> {
    let mut f = SessionFolder::new(session_id, as_of);
    for e in events {
        if !f.push(e) {
            break;
        }
    }
    f.finish()
}
