//! Subscriptions: every durable event after a position, in commit order, with no gaps, and
//! resumable from any position.
//!
//! The writer publishes the durable head on a `watch` channel after each commit; a
//! subscription wakes, reads the log from its position up to the durable head and advances.
//! Because sequence numbers are assigned in commit order and reads are bounded by the durable
//! head, a subscriber can neither skip nor see an event out of order, however far it lags: it
//! simply reads older records from the log (no in-memory buffer to overflow).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::store::backend::{EventSubscription, Position};
use crate::store::envelope::Envelope;
use crate::store::error::{Result, StoreError};
use crate::store::sled::store::Shared;

/// A resumable feed of the log.
pub struct Subscription {
    shared: Arc<Shared>,
    rx: watch::Receiver<u64>,
    position: u64,
}

impl Subscription {
    pub(crate) fn new(shared: Arc<Shared>, after: u64) -> Self {
        let rx = shared.head_tx.subscribe();
        Subscription {
            shared,
            rx,
            position: after,
        }
    }

    /// Sequence number of the last delivered event.
    pub fn position_seq(&self) -> u64 {
        self.position
    }

    /// Whatever is available now (possibly nothing), without waiting.
    pub fn try_next(&mut self, max: usize) -> Result<Vec<Envelope>> {
        let events = self.shared.read_after(self.position, max)?;
        if let Some(last) = events.last() {
            self.position = last.seq;
        }
        Ok(events)
    }

    /// Wait for at least one event (at most `max`).
    pub async fn next(&mut self, max: usize) -> Result<Vec<Envelope>> {
        loop {
            self.rx.borrow_and_update();
            let events = self.try_next(max)?;
            if !events.is_empty() {
                return Ok(events);
            }
            if self.shared.closed.load(Ordering::Acquire) {
                return Err(StoreError::Closed);
            }
            if self.rx.changed().await.is_err() {
                return Err(StoreError::Closed);
            }
        }
    }

    /// Blocking variant of [`Subscription::next`] for threads outside a runtime; returns an
    /// empty batch when `timeout` passes without events.
    pub fn next_blocking(&mut self, max: usize, timeout: Duration) -> Result<Vec<Envelope>> {
        let deadline = Instant::now() + timeout;
        loop {
            let events = self.try_next(max)?;
            if !events.is_empty() {
                return Ok(events);
            }
            if self.shared.closed.load(Ordering::Acquire) {
                return Err(StoreError::Closed);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(2)));
        }
    }
}

impl EventSubscription for Subscription {
    fn next_batch(
        &mut self,
        max: usize,
    ) -> impl std::future::Future<Output = Result<Vec<Envelope>>> + Send {
        self.next(max)
    }

    fn position(&self) -> Position {
        Position::from_parts(0, self.position)
    }
}
