//! Request preparation on the caller's thread: shape checks, event validation and payload
//! encoding happen before the command reaches the single writer, so the writer only assigns
//! positions, checks versions and ids, and commits.

use std::collections::HashSet;

use uuid::Uuid;

use crate::store::backend::{AppendRequest, ExpectedVersion};
use crate::store::error::{Result, StoreError};
use crate::store::events::{validate_event, Event, EventType};
use crate::store::ids::StreamId;

/// Largest number of events in one request.
pub const MAX_EVENTS_PER_REQUEST: usize = 10_000;

/// One validated event with its encoded (current-version) payload.
#[derive(Debug)]
pub(crate) struct PreparedEvent {
    pub event_id: Uuid,
    pub event_type: EventType,
    pub payload: Vec<u8>,
    pub event: Event,
}

/// One stream's part of a validated request.
#[derive(Debug)]
pub(crate) struct PreparedStream {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<PreparedEvent>,
}

/// A validated request, ready for the writer.
#[derive(Debug)]
pub(crate) struct PreparedAppend {
    pub streams: Vec<PreparedStream>,
    pub len: usize,
}

/// Validate and encode a request.
pub(crate) fn prepare(req: AppendRequest) -> Result<PreparedAppend> {
    let len = req.len();
    if len == 0 {
        return Err(StoreError::InvalidRequest(
            "an append needs at least one event".into(),
        ));
    }
    if len > MAX_EVENTS_PER_REQUEST {
        return Err(StoreError::InvalidRequest(format!(
            "{len} events in one append (limit {MAX_EVENTS_PER_REQUEST})"
        )));
    }
    let mut seen_streams = HashSet::new();
    let mut seen_ids = HashSet::with_capacity(len);
    let mut index = 0usize;
    let mut streams = Vec::with_capacity(req.streams.len());
    for s in req.streams {
        if !seen_streams.insert(s.stream) {
            return Err(StoreError::InvalidRequest(format!(
                "stream {} appears twice in one append",
                s.stream
            )));
        }
        if s.events.is_empty() {
            return Err(StoreError::InvalidRequest(format!(
                "no events for stream {}",
                s.stream
            )));
        }
        let mut events = Vec::with_capacity(s.events.len());
        for e in s.events {
            if !seen_ids.insert(e.event_id) {
                return Err(StoreError::InvalidRequest(format!(
                    "event id {} appears twice in one append",
                    e.event_id
                )));
            }
            let payload =
                validate_event(&s.stream, &e.event).map_err(|source| StoreError::InvalidEvent {
                    index,
                    event_id: e.event_id,
                    source,
                })?;
            events.push(PreparedEvent {
                event_id: e.event_id,
                event_type: e.event.event_type(),
                payload,
                event: e.event,
            });
            index += 1;
        }
        streams.push(PreparedStream {
            stream: s.stream,
            expected: s.expected,
            events,
        });
    }
    Ok(PreparedAppend { streams, len })
}
