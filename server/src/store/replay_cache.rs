//! A bounded LRU cache of decoded session streams for time travel.
//!
//! Streams are append-only, so a cached prefix never goes stale: a replay extends the cached
//! prefix with any newer durable events and folds from memory, skipping the sled reads and
//! the decoding that dominate a cold replay. Bounded by a total event count.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::store::envelope::Envelope;

struct Entry {
    events: Arc<Vec<Envelope>>,
    last_used: u64,
}

/// The cache.
pub(crate) struct ReplayCache {
    map: HashMap<Uuid, Entry>,
    total: usize,
    capacity: usize,
    tick: u64,
}

impl ReplayCache {
    pub(crate) fn new(capacity_events: usize) -> Self {
        ReplayCache {
            map: HashMap::new(),
            total: 0,
            capacity: capacity_events,
            tick: 0,
        }
    }

    /// The cached prefix of a session's stream, if any.
    pub(crate) fn get(&mut self, id: &Uuid) -> Option<Arc<Vec<Envelope>>> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(id).map(|e| {
            e.last_used = tick;
            e.events.clone()
        })
    }

    /// Store a (longer) prefix; evicts least recently used sessions beyond the capacity.
    pub(crate) fn put(&mut self, id: Uuid, events: Arc<Vec<Envelope>>) {
        if self.capacity == 0 || events.len() > self.capacity {
            return;
        }
        self.tick += 1;
        let len = events.len();
        if let Some(old) = self.map.insert(
            id,
            Entry {
                events,
                last_used: self.tick,
            },
        ) {
            self.total -= old.events.len();
        }
        self.total += len;
        while self.total > self.capacity {
            let Some(victim) = self
                .map
                .iter()
                .filter(|(k, _)| **k != id)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(e) = self.map.remove(&victim) {
                self.total -= e.events.len();
            }
        }
    }

    /// Drop everything (tests and benchmarks measure cold replays with this).
    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.total = 0;
    }
}
