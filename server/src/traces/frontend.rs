//! Frontend events posted by the pages to `/frontend-events`.
//!
//! Each accepted event is appended as one JSON line
//! `{timestamp, event, page, session_id, round_id, details}` to
//! `<data dir>/traces/frontend-events.jsonl` and, when it names a live session the caller may
//! see, to `<data dir>/traces/sessions/<uuid>/frontend-events.jsonl`. The session id must parse
//! as a UUID (400 otherwise); an unknown one is accepted into the global stream only, with no
//! report link, as the reference does. The per-session path is built only from the parsed
//! [`Uuid`] of an existing session, so no request text ever reaches a path and no folder is
//! made for a made-up id (the reference let `"../../x"` write outside its folder).

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::services::{ServiceError, ServiceResult};
use crate::store::LogStore;

/// Longest event name.
pub const MAX_EVENT_CHARS: usize = 100;
/// Longest page name.
pub const MAX_PAGE_CHARS: usize = 200;
/// Largest `details` object, serialized.
pub const MAX_DETAILS_BYTES: usize = 16 * 1024;
/// Most lines read back per session (the newest are kept).
pub const MAX_READ_BACK: usize = 5000;

/// One frontend event as posted.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct FrontendEvent {
    /// `[A-Za-z0-9._-]`, 1..=100 characters.
    #[schemars(pattern(r"^[A-Za-z0-9._-]{1,100}$"))]
    pub event: String,
    /// The page it happened on (≤ 200 characters).
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub page: String,
    /// A session id (UUID) or nothing.
    #[serde(default)]
    #[schemars(extend("format" = "uuid"))]
    pub session_id: Option<String>,
    /// A round id (UUID) or nothing.
    #[serde(default)]
    #[schemars(extend("format" = "uuid"))]
    pub round_id: Option<String>,
    /// Free-form details (an object, ≤ 16 KiB serialized).
    #[serde(default)]
    #[schemars(with = "Option<Map<String, Value>>")]
    pub details: Value,
}

/// One stored line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontendRecord {
    pub timestamp: String,
    pub event: String,
    pub page: String,
    pub session_id: Option<Uuid>,
    pub round_id: Option<Uuid>,
    pub details: Value,
}

/// What was accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub record: FrontendRecord,
    /// `/sessions/<id>/trace-report` when the event names a session.
    pub report_url: Option<String>,
}

fn is_event_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= MAX_EVENT_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn optional_id(field: &str, raw: Option<&str>) -> ServiceResult<Option<Uuid>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<Uuid>()
            .map(Some)
            .map_err(|_| ServiceError::invalid(field, format!("{field} must be a UUID"))),
    }
}

/// Checks an event and shapes the record to store; the flag says whether it names a live
/// session the caller may see (only those get a per-session trace and a report link; an
/// unknown one is still accepted into the global stream, as the reference does, but creates
/// no folder).
pub fn validate(store: &LogStore, ev: FrontendEvent) -> ServiceResult<(FrontendRecord, bool)> {
    if !is_event_name(&ev.event) {
        return Err(ServiceError::invalid(
            "event",
            format!(
                "event must be 1 to {MAX_EVENT_CHARS} characters of A-Z, a-z, 0-9, '.', '_' or '-'"
            ),
        ));
    }
    if ev.page.chars().count() > MAX_PAGE_CHARS {
        return Err(ServiceError::invalid(
            "page",
            format!("page must be at most {MAX_PAGE_CHARS} characters"),
        ));
    }
    if ev.page.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "page",
            "page must not contain control characters",
        ));
    }
    let details = match ev.details {
        Value::Null => Value::Object(Map::new()),
        v @ Value::Object(_) => v,
        _ => {
            return Err(ServiceError::invalid(
                "details",
                "details must be an object",
            ))
        }
    };
    let size = serde_json::to_vec(&details)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_DETAILS_BYTES {
        return Err(ServiceError::invalid(
            "details",
            format!("details must be at most {MAX_DETAILS_BYTES} bytes as JSON"),
        ));
    }
    let session_id = optional_id("session_id", ev.session_id.as_deref())?;
    let round_id = optional_id("round_id", ev.round_id.as_deref())?;
    let known = session_id.is_some_and(|id| {
        store
            .session(id)
            .is_some_and(|d| !d.deleted && crate::services::principal::may_see(d.owner.as_deref()))
    });
    let record = FrontendRecord {
        timestamp: super::now_iso(),
        event: ev.event,
        page: ev.page,
        session_id,
        round_id,
        details,
    };
    Ok((record, known))
}

/// The global stream.
pub fn global_path(data_dir: &Path) -> PathBuf {
    super::traces_dir(data_dir).join("frontend-events.jsonl")
}

/// One session's stream (built only from the parsed id).
pub fn session_path(data_dir: &Path, session_id: Uuid) -> PathBuf {
    super::session_dir(data_dir, session_id).join("frontend-events.jsonl")
}

/// Serializes appends so lines from concurrent posts never interleave.
static WRITE_LOCK: Mutex<()> = Mutex::new(());

fn append_line(path: &Path, line: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(line)
}

/// Appends a validated record to the global stream and, for a `known` session, to its
/// session's stream (blocking I/O: call from a blocking thread).
pub fn append(data_dir: &Path, record: &FrontendRecord, known: bool) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let _guard = WRITE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    append_line(&global_path(data_dir), &line)?;
    if let Some(id) = record.session_id.filter(|_| known) {
        append_line(&session_path(data_dir, id), &line)?;
    }
    Ok(())
}

/// Removes a purged session's frontend events: its own folder, and its lines of the global
/// stream (rewritten through a temporary file, under the append lock).
pub fn forget_session(data_dir: &Path, session_id: Uuid) -> std::io::Result<()> {
    let _guard = WRITE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    match std::fs::remove_dir_all(super::session_dir(data_dir, session_id)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let global = global_path(data_dir);
    let file = match std::fs::File::open(&global) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let needle = session_id.to_string();
    let temp = global.with_extension("jsonl.purge-tmp");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&temp)?);
    for line in BufReader::new(file).split(b'\n') {
        let line = line?;
        if !line.is_empty() && !String::from_utf8_lossy(&line).contains(&needle) {
            out.write_all(&line)?;
            out.write_all(b"\n")?;
        }
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&temp, &global)
}

/// Validates and stores one event.
pub async fn accept(
    store: &LogStore,
    data_dir: PathBuf,
    ev: FrontendEvent,
) -> ServiceResult<Accepted> {
    let (record, known) = validate(store, ev)?;
    let report_url = record
        .session_id
        .filter(|_| known)
        .map(|id| format!("/sessions/{id}/trace-report"));
    let stored = record.clone();
    tokio::task::spawn_blocking(move || append(&data_dir, &stored, known))
        .await
        .map_err(|e| ServiceError::internal(format!("trace writer failed: {e}")))?
        .map_err(|e| ServiceError::internal(format!("cannot write the frontend trace: {e}")))?;
    Ok(Accepted { record, report_url })
}

/// A session's frontend events, oldest first (unreadable lines skipped; at most the newest
/// [`MAX_READ_BACK`]).
pub fn read_session(data_dir: &Path, session_id: Uuid) -> Vec<FrontendRecord> {
    let Ok(file) = std::fs::File::open(session_path(data_dir, session_id)) else {
        return Vec::new();
    };
    let mut out = std::collections::VecDeque::new();
    for line in BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        if let Ok(rec) = serde_json::from_str::<FrontendRecord>(&line) {
            if rec.session_id == Some(session_id) {
                out.push_back(rec);
                if out.len() > MAX_READ_BACK {
                    out.pop_front();
                }
            }
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_and_ids_are_checked() {
        assert!(is_event_name("page.loaded"));
        assert!(is_event_name("http.request-started_1"));
        assert!(!is_event_name(""));
        assert!(!is_event_name("a b"));
        assert!(!is_event_name("../x"));
        assert!(!is_event_name(&"a".repeat(101)));
        assert!(optional_id("session_id", Some("../../x")).is_err());
        assert_eq!(optional_id("session_id", Some("")).unwrap(), None);
        assert_eq!(optional_id("session_id", None).unwrap(), None);
    }

    #[test]
    fn session_paths_stay_inside_traces() {
        let dir = Path::new("/data");
        let id = Uuid::now_v7();
        let p = session_path(dir, id);
        assert!(p.starts_with("/data/traces/sessions"));
        assert!(p.to_string_lossy().contains(&id.to_string()));
    }
}
