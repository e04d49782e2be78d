//! Traces: what happened, for people debugging a session.
//!
//! - [`backend`]: a middleware giving every request an id (`x-request-id`), a tracing span and
//!   one `http.request.completed` JSON line in `<data dir>/traces/backend-events.jsonl`.
//! - [`frontend`]: events the pages post to `/frontend-events`, appended to
//!   `<data dir>/traces/frontend-events.jsonl` and, for a session, to
//!   `<data dir>/traces/sessions/<uuid>/frontend-events.jsonl` (the folder name is always a
//!   parsed UUID, never request text).
//! - [`report`]: the per-session HTML trace report, built from the event log on request and
//!   self-contained (inline CSS, images embedded), so it renders offline.
//!
//! Unlike the reference, session facts (rounds, candidates, feedback) are not duplicated into
//! trace files: the event log is the record, and the report reads it.

pub mod backend;
pub mod frontend;
pub mod report;

use std::path::{Path, PathBuf};

use uuid::Uuid;

/// `<data dir>/traces`.
pub fn traces_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("traces")
}

/// `<data dir>/traces/sessions/<uuid>`: built only from a parsed id.
pub fn session_dir(data_dir: &Path, session_id: Uuid) -> PathBuf {
    traces_dir(data_dir)
        .join("sessions")
        .join(session_id.hyphenated().to_string())
}

/// RFC 3339 UTC timestamp (microseconds) of now; fixed width, so it sorts as text.
pub fn now_iso() -> String {
    crate::store::util::rfc3339_us(crate::store::util::now_us())
}
