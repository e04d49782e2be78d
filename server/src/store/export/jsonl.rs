//! JSONL export of the log (the faithful export) and its import.
//!
//! One event per line, in commit order:
//!
//! ```json
//! {"seq":1,"event_id":"…","stream":"session-…","stream_version":1,
//!  "recorded_at":"2025-01-01T00:00:00.000000Z","recorded_at_us":1735689600000000,
//!  "schema_version":1,"type":"session.created","payload":{…}}
//! ```
//!
//! `payload` is the event in its current shape (older records are upcast) and
//! `schema_version` is that shape's version. `recorded_at_us` is authoritative; `recorded_at`
//! is for humans. JSON-text fields (configs, settings, reports) stay strings. Import accepts
//! any schema version up to the current one (missing newer fields take their defaults).

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::backend::{EventStore, Position};
use crate::store::envelope::Envelope;
use crate::store::error::{Result, StoreError};
use crate::store::events::{Event, EventType};
use crate::store::ids::StreamId;
use crate::store::sled::store::SledStore;
use crate::store::util::rfc3339_us;

/// One JSONL line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonEvent {
    pub seq: u64,
    pub event_id: Uuid,
    pub stream: StreamId,
    pub stream_version: u64,
    #[serde(default)]
    pub recorded_at: String,
    pub recorded_at_us: i64,
    pub schema_version: u16,
    #[serde(flatten)]
    pub event: Event,
}

impl From<Envelope> for JsonEvent {
    fn from(e: Envelope) -> Self {
        JsonEvent {
            seq: e.seq,
            event_id: e.event_id,
            stream: e.stream,
            stream_version: e.stream_version,
            recorded_at: rfc3339_us(e.recorded_at_us),
            recorded_at_us: e.recorded_at_us,
            schema_version: e.event.event_type().current_version(),
            event: e.event,
        }
    }
}

impl JsonEvent {
    /// Back to an envelope (the payload is re-encoded at its current version on import).
    pub fn into_envelope(self) -> Envelope {
        Envelope {
            event_id: self.event_id,
            stream: self.stream,
            stream_version: self.stream_version,
            seq: self.seq,
            recorded_at_us: self.recorded_at_us,
            schema_version: self.event.event_type().current_version(),
            event: self.event,
        }
    }
}

/// Write the whole log, or only one session's stream, as JSONL, from any log engine. Returns
/// the number of lines. Blocks on the store's reads: call off the async workers.
pub fn export_jsonl<S: EventStore>(
    store: &S,
    session: Option<Uuid>,
    out: &mut impl Write,
) -> Result<u64> {
    let mut n = 0u64;
    let mut write = |e: Envelope, out: &mut dyn Write| -> Result<()> {
        serde_json::to_writer(&mut *out, &JsonEvent::from(e))
            .map_err(|e| StoreError::Export(e.to_string()))?;
        out.write_all(b"\n")
            .map_err(|e| StoreError::Export(e.to_string()))?;
        n += 1;
        Ok(())
    };
    match session {
        Some(id) => {
            let stream = StreamId::Session(id);
            let mut from = 1;
            loop {
                let batch = crate::store::util::block_on(store.read_stream(stream, from, 4096))?;
                let Some(last) = batch.last() else { break };
                from = last.stream_version + 1;
                for e in batch {
                    write(e, out)?;
                }
            }
        }
        None => {
            let mut after = Position::START;
            loop {
                let page = crate::store::util::block_on(store.read_all(after, 4096))?;
                if page.events.is_empty() {
                    break;
                }
                after = page.next;
                for e in page.events {
                    write(e, out)?;
                }
            }
        }
    }
    out.flush().map_err(|e| StoreError::Export(e.to_string()))?;
    Ok(n)
}

/// How imported positions are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Sequence numbers and versions must continue the store exactly (full-log restore).
    Exact,
    /// Assign fresh sequence numbers and stream versions in file order (e.g. importing one
    /// session's export into another store); event ids and timestamps are kept.
    Renumber,
}

/// Parse one JSONL line.
pub fn parse_line(line: &str) -> Result<JsonEvent> {
    let ev: JsonEvent =
        serde_json::from_str(line).map_err(|e| StoreError::Import(e.to_string()))?;
    let ty: EventType = ev.event.event_type();
    if ev.schema_version == 0 || ev.schema_version > ty.current_version() {
        return Err(StoreError::Import(format!(
            "seq {}: {} schema version {} is not supported (current {})",
            ev.seq,
            ty,
            ev.schema_version,
            ty.current_version()
        )));
    }
    Ok(ev)
}

/// Import a JSONL export into `store`. Returns the number of events imported.
pub fn import_jsonl(store: &SledStore, input: impl BufRead, mode: ImportMode) -> Result<u64> {
    let mut batch = Vec::with_capacity(8192);
    let mut n = 0u64;
    let mut next_seq = store.head_seq() + 1;
    let mut versions = std::collections::HashMap::new();
    for (lineno, line) in input.lines().enumerate() {
        let line = line.map_err(|e| StoreError::Import(format!("line {}: {e}", lineno + 1)))?;
        if line.trim().is_empty() {
            continue;
        }
        let mut env = parse_line(&line)
            .map_err(|e| StoreError::Import(format!("line {}: {e}", lineno + 1)))?
            .into_envelope();
        if mode == ImportMode::Renumber {
            let v = versions
                .entry(env.stream)
                .or_insert_with(|| store.version_of(&env.stream));
            *v += 1;
            env.stream_version = *v;
            env.seq = next_seq;
        }
        next_seq += 1;
        batch.push(env);
        if batch.len() >= 8192 {
            n += batch.len() as u64;
            store.import_blocking(std::mem::take(&mut batch))?;
        }
    }
    n += batch.len() as u64;
    store.import_blocking(batch)?;
    Ok(n)
}
