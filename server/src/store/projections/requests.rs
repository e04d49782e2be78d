//! The `request.completed` projection: the answers of requests sent with an `Idempotency-Key`,
//! so a client that retries (after a timeout, a dropped connection or a restart) gets the
//! original answer instead of a second session. Kept for [`RETENTION_US`] after the newest
//! recorded request (measured on the log's own clock, so every replay keeps the same keys).

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use crate::store::envelope::Envelope;
use crate::store::events::Event;

/// How long a key is remembered: 24 hours.
pub const RETENTION_US: i64 = 24 * 3600 * 1_000_000;

/// One remembered answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredResponse {
    /// `POST`, ...
    pub method: String,
    /// The path it was sent to.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// The JSON body answered.
    pub body_json: String,
    /// When it was recorded.
    pub recorded_at_us: i64,
}

/// Remembered answers by key, oldest first for expiry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Requests {
    by_key: BTreeMap<String, StoredResponse>,
    #[serde(skip)]
    order: VecDeque<(i64, String)>,
}

impl Requests {
    /// The answer recorded for `key`, if it is still remembered.
    pub fn get(&self, key: &str) -> Option<&StoredResponse> {
        self.by_key.get(key)
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Forgets every answer whose path or body mentions `text` (a purged session's id).
    pub fn forget_mentions(&mut self, text: &str) {
        self.by_key
            .retain(|_, r| !r.path.contains(text) && !r.body_json.contains(text));
        let by_key = &self.by_key;
        self.order.retain(|(_, key)| by_key.contains_key(key));
    }
}

/// Applies one event of the `requests` stream; false when it does not belong there.
pub fn apply(requests: &mut Requests, env: Envelope) -> bool {
    let Event::RequestCompleted(r) = env.event else {
        return false;
    };
    let now = env.recorded_at_us;
    // The first answer stays: a key is recorded once (the middleware checks before it runs),
    // and a second record can only come from a race, whose first answer the client saw.
    if !requests.by_key.contains_key(&r.key) {
        requests.order.push_back((now, r.key.clone()));
        requests.by_key.insert(
            r.key,
            StoredResponse {
                method: r.method,
                path: r.path,
                status: r.status,
                body_json: r.body_json,
                recorded_at_us: now,
            },
        );
    }
    while let Some((at, _)) = requests.order.front() {
        if now - *at <= RETENTION_US {
            break;
        }
        if let Some((_, key)) = requests.order.pop_front() {
            requests.by_key.remove(&key);
        }
    }
    true
}
