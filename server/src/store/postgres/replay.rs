//! Time travel on the PostgreSQL backend: a session's state at a past round, folded from its
//! stream with the same `SessionFolder` the sled backend uses.
//!
//! Streams are append-only, so decoded prefixes are kept in the same bounded LRU as on sled
//! (`replay_cache.rs`, bounded by a total event count). A replay to a round inside the cached
//! prefix makes no query; otherwise it reads only the events after the prefix.

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
    /// The session as it was at `as_of`. When the cached prefix already reaches past `as_of`,
    /// no query is made: streams only grow at the end.
    pub async fn session_at(&self, id: Uuid, as_of: AsOf) -> Result<SessionDetail> {
        let mut folder = SessionFolder::new(id, as_of);
        let cached = self.cache().get(&id).unwrap_or_default();
        for env in cached.iter() {
            if !folder.push(env.clone()) {
                return folder.finish();
            }
        }
        let mut newer = Vec::new();
        loop {
            let from = (cached.len() + newer.len()) as u64 + 1;
            let page = self.read_stream(StreamId::Session(id), from, PAGE).await?;
            let short = page.len() < PAGE;
            newer.extend(page);
            if short {
                break;
            }
        }
        if !newer.is_empty() {
            let mut all = cached.as_ref().clone();
            all.extend(newer.iter().cloned());
            self.cache().put(id, Arc::new(all));
        }
        for env in newer {
            if !folder.push(env) {
                break;
            }
        }
        folder.finish()
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, crate::store::replay_cache::ReplayCache> {
        self.inner.replay.lock().unwrap_or_else(|e| e.into_inner())
    }
}
