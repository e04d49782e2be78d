//! Time travel on the PostgreSQL backend: a session's state at a past round, folded from its
//! stream with the same `SessionFolder` the sled backend uses.
//!
//! Streams are append-only, so decoded prefixes are kept in the same bounded LRU as on sled
//! (`replay_cache.rs`, bounded by a total event count); a replay reads only the events after
//! the cached prefix (usually none: one indexed query that returns no row).

use std::sync::Arc;

use uuid::Uuid;

use crate::store::backend::EventStore;
use crate::store::error::Result;
use crate::store::ids::StreamId;
use crate::store::postgres::PgStore;
use crate::store::projections::time_travel::SessionFolder;
use crate::store::projections::{AsOf, SessionDetail};

/// Events kept decoded across all cached sessions.
pub(crate) const REPLAY_CACHE_EVENTS: usize = 200_000;

/// Events read per query while catching up.
const PAGE: usize = 10_000;

impl PgStore {
    /// The session as it was at `as_of`.
    pub async fn session_at(&self, id: Uuid, as_of: AsOf) -> Result<SessionDetail> {
        let cached = self.cache().get(&id);
        let known = cached.as_ref().map_or(0, |c| c.len());
        let mut newer = Vec::new();
        loop {
            let from = (known + newer.len()) as u64 + 1;
            let page = self.read_stream(StreamId::Session(id), from, PAGE).await?;
            let short = page.len() < PAGE;
            newer.extend(page);
            if short {
                break;
            }
        }
        let events = match (cached, newer.is_empty()) {
            (Some(c), true) => c,
            (cached, _) => {
                let mut all = cached.map(|c| c.as_ref().clone()).unwrap_or_default();
                all.extend(newer);
                let all = Arc::new(all);
                self.cache().put(id, all.clone());
                all
            }
        };
        let mut folder = SessionFolder::new(id, as_of);
        for env in events.iter() {
            if !folder.push(env.clone()) {
                break;
            }
        }
        folder.finish()
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, crate::store::replay_cache::ReplayCache> {
        self.inner.replay.lock().unwrap_or_else(|e| e.into_inner())
    }
}
