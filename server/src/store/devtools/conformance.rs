//! A backend-neutral conformance suite for [`EventStore`] implementations. The sled backend
//! runs it in `tests/conformance.rs`; a PostgreSQL backend must pass the same functions.
//!
//! Each check takes a factory returning a fresh, empty store and reports the first violated
//! expectation as an `Err(String)`.

use std::collections::HashSet;

use uuid::Uuid;

use crate::store::backend::{
    AppendRequest, EventStore, EventSubscription, ExpectedVersion, NewEvent, Position, StreamAppend,
};
use crate::store::devtools::workload::SessionScript;
use crate::store::error::StoreError;
use crate::store::events::v1::{JobStartedV1, RoundReadyV1};
use crate::store::events::Event;
use crate::store::ids::{Id, StreamId};
use crate::store::util::block_on;

macro_rules! check {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

fn job_started() -> Event {
    Event::JobStarted(JobStartedV1 {
        job_id: Id(Uuid::now_v7()),
    })
}

/// One check of the suite.
pub type Check<S> = fn(&dyn Fn() -> S) -> Result<(), String>;

/// Names and functions of every check.
pub fn all<S: EventStore + 'static>() -> Vec<(&'static str, Check<S>)> {
    vec![
        ("append_and_read", append_and_read::<S>),
        ("expected_version", expected_version::<S>),
        ("idempotent_retry", idempotent_retry::<S>),
        ("event_id_reuse", event_id_reuse::<S>),
        ("atomic_multi_stream", atomic_multi_stream::<S>),
        ("invalid_events_rejected", invalid_events_rejected::<S>),
        ("read_all_paging", read_all_paging::<S>),
        ("subscription_in_order_and_resumable", subscription::<S>),
    ]
}

/// Run every check; returns the failures.
pub fn run_all<S: EventStore + 'static>(make: &dyn Fn() -> S) -> Vec<(String, String)> {
    all::<S>()
        .into_iter()
        .filter_map(|(name, f)| f(make).err().map(|e| (name.to_string(), e)))
        .collect()
}

fn session_events(n: u32) -> (Uuid, Vec<Event>) {
    let id = Uuid::now_v7();
    let mut s = SessionScript::new(id, None, 4, 3, 1);
    let mut v = vec![s.created()];
    while v.len() < n as usize {
        v.extend(s.next_round());
    }
    v.truncate(n as usize);
    (id, v)
}

/// Appended events read back in order with versions 1..n and increasing positions.
pub fn append_and_read<S: EventStore>(make: &dyn Fn() -> S) -> Result<(), String> {
    let store = make();
    let (id, events) = session_events(12);
    let stream = StreamId::Session(id);
    let mut last_seq = 0;
    for (i, e) in events.iter().enumerate() {
        let out = block_on(store.append(AppendRequest::single(
            stream,
            ExpectedVersion::Exact(i as u64),
            vec![NewEvent::new(e.clone())],
        )))
        .map_err(|e| e.to_string())?;
        check!(out.first_seq > last_seq, "sequence did not increase");
        check!(
            out.version_of(&stream) == Some(i as u64 + 1),
            "wrong version {:?}",
            out
        );
        check!(!out.duplicate, "fresh append reported as duplicate");
        last_seq = out.last_seq;
    }
    let read = block_on(store.read_stream(stream, 1, 100)).map_err(|e| e.to_string())?;
    check!(
        read.len() == events.len(),
        "read {} of {}",
        read.len(),
        events.len()
    );
    for (i, (r, e)) in read.iter().zip(&events).enumerate() {
        check!(r.stream_version == i as u64 + 1, "version gap at {i}");
        check!(&r.event == e, "payload {i} differs after read");
        check!(r.stream == stream, "wrong stream");
    }
    let tail = block_on(store.read_stream(stream, 5, 3)).map_err(|e| e.to_string())?;
    check!(
        tail.iter().map(|e| e.stream_version).collect::<Vec<_>>() == vec![5, 6, 7],
        "read_stream(from 5, limit 3) wrong"
    );
    let v = block_on(store.stream_version(stream)).map_err(|e| e.to_string())?;
    check!(v == 12, "stream_version {v}");
    check!(
        block_on(store.stream_version(StreamId::Session(Uuid::now_v7())))
            .map_err(|e| e.to_string())?
            == 0,
        "unknown stream not at version 0"
    );
    Ok(())
}

/// Exactly one append wins per expected version; losers learn the current version.
pub fn expected_version<S: EventStore>(make: &dyn Fn() -> S) -> Result<(), String> {
    let store = make();
    let (id, events) = session_events(3);
    let stream = StreamId::Session(id);
    block_on(store.append(AppendRequest::single(
        stream,
        ExpectedVersion::NO_STREAM,
        vec![NewEvent::new(events[0].clone())],
    )))
    .map_err(|e| e.to_string())?;
    match block_on(store.append(AppendRequest::single(
        stream,
        ExpectedVersion::NO_STREAM,
        vec![NewEvent::new(events[1].clone())],
    ))) {
        Err(StoreError::Conflict {
            current: 1,
            expected: 0,
            ..
        }) => {}
        other => return Err(format!("expected a conflict at version 1, got {other:?}")),
    }
    match block_on(store.append(AppendRequest::single(
        stream,
        ExpectedVersion::Exact(5),
        vec![NewEvent::new(events[1].clone())],
    ))) {
        Err(StoreError::Conflict {
            current: 1,
            expected: 5,
            ..
        }) => {}
        other => return Err(format!("expected a conflict (5 vs 1), got {other:?}")),
    }
    let out = block_on(store.append(AppendRequest::single(
        stream,
        ExpectedVersion::Exact(1),
        vec![NewEvent::new(events[1].clone())],
    )))
    .map_err(|e| e.to_string())?;
    check!(out.version_of(&stream) == Some(2), "version after append");
    Ok(())
}

/// A retried append (same ids) returns the original positions and writes nothing.
pub fn idempotent_retry<S: EventStore>(make: &dyn Fn() -> S) -> Result<(), String> {
    let store = make();
    let (id, events) = session_events(3);
    let stream = StreamId::Session(id);
    let req = AppendRequest::single(
        stream,
        ExpectedVersion::NO_STREAM,
        events.iter().cloned().map(NewEvent::new).collect(),
    );
    let first = block_on(store.append(req.clone())).map_err(|e| e.to_string())?;
    let head = store.head();
    let again = block_on(store.append(req)).map_err(|e| e.to_string())?;
    check!(again.duplicate, "retry not flagged as duplicate");
    check!(
        again.first_seq == first.first_seq && again.last_seq == first.last_seq,
        "retry positions differ"
    );
    check!(again.streams == first.streams, "retry versions differ");
    check!(store.head() == head, "retry wrote events");
    Ok(())
}

/// Reusing an event id for a different payload is an error, not a silent duplicate.
pub fn event_id_reuse<S: EventStore>(make: &dyn Fn() -> S) -> Result<(), String> {
    let store = make();
    let eid = Uuid::now_v7();
    block_on(store.append(AppendRequest::single(
        StreamId::Jobs,
        ExpectedVersion::Any,
        vec![NewEvent::with_id(eid, job_started())],
    )))
    .map_err(|e| e.to_string())?;
    match block_on(store.append(AppendRequest::single(
        StreamId::Jobs,
        ExpectedVersion::Any,
        vec![NewEvent::with_id(eid, job_started())],
    ))) {
        Err(StoreError::EventIdReused { .. }) => Ok(()),
        other => Err(format!("expected EventIdReused, got {other:?}")),
    }
}

/// A multi-stream append is all or nothing.
pub fn atomic_multi_stream<S: EventStore>(make: &dyn Fn() -> S) -> Result<(), String> {
    let store = make();
    let (id, events) = session_events(2);
    let s = StreamId::Session(id);
    let req = AppendRequest {
        streams: vec![
            StreamAppend {
                stream: StreamId::Jobs,
                expected: ExpectedVersion::Any,
                events: vec![NewEvent::new(job_started())],
            },
            StreamAppend {
                stream: s,
                expected: ExpectedVersion::Exact(3),
                events: vec![NewEvent::new(events[0].clone())],
            },
        ],
    };
    check!(
        matches!(
            block_on(store.append(req)),
            Err(StoreError::Conflict { .. })
        ),
        "conflict expected"
    );
    check!(
        store.head() == Position::START,
        "partial write after a conflict"
    );
    let ok = AppendRequest {
        streams: vec![
            StreamAppend {
                stream: StreamId::Jobs,
                expected: ExpectedVersion::Any,
                events: vec![NewEvent::new(job_started())],
            },
            StreamAppend {
                stream: s,
                expected: ExpectedVersion::NO_STREAM,
                events: vec![NewEvent::new(events[0].clone())],
            },
        ],
    };
    let out = block_on(store.append(ok)).map_err(|e| e.to_string())?;
    check!(out.last_seq - out.first_seq == 1, "two events expected");
    Ok(())
}

/// Events in the wrong stream or with non-finite numbers are rejected before the log.
pub fn invalid_events_rejected<S: EventStore>(make: &dyn Fn() -> S) -> Result<(), String> {
    let store = make();
    let r = block_on(store.append(AppendRequest::single(
        StreamId::Jobs,
        ExpectedVersion::Any,
        vec![NewEvent::new(Event::RoundReady(RoundReadyV1 {
            round_id: Id(Uuid::now_v7()),
        }))],
    )));
    check!(
        matches!(r, Err(StoreError::InvalidEvent { .. })),
        "wrong stream accepted: {r:?}"
    );
    let (id, mut events) = session_events(2);
    if let Event::SessionCreated(c) = &mut events[0] {
        c.config_json = "{not json".into();
    }
    let r = block_on(store.append(AppendRequest::single(
        StreamId::Session(id),
        ExpectedVersion::Any,
        vec![NewEvent::new(events[0].clone())],
    )));
    check!(
        matches!(r, Err(StoreError::InvalidEvent { .. })),
        "bad JSON accepted: {r:?}"
    );
    let r = block_on(store.append(AppendRequest { streams: vec![] }));
    check!(
        matches!(r, Err(StoreError::InvalidRequest(_))),
        "empty append accepted"
    );
    check!(store.head() == Position::START, "something was written");
    Ok(())
}

/// Paging the whole log returns every event once, in order.
pub fn read_all_paging<S: EventStore>(make: &dyn Fn() -> S) -> Result<(), String> {
    let store = make();
    for _ in 0..25 {
        block_on(store.append(AppendRequest::single(
            StreamId::Jobs,
            ExpectedVersion::Any,
            vec![NewEvent::new(job_started())],
        )))
        .map_err(|e| e.to_string())?;
    }
    let mut pos = Position::START;
    let mut seen = Vec::new();
    loop {
        let page = block_on(store.read_all(pos, 7)).map_err(|e| e.to_string())?;
        if page.events.is_empty() {
            break;
        }
        check!(page.next > pos, "page did not advance");
        pos = page.next;
        seen.extend(page.events.into_iter().map(|e| e.stream_version));
    }
    check!(
        seen == (1..=25).collect::<Vec<_>>(),
        "paging lost or reordered events: {seen:?}"
    );
    Ok(())
}

/// A subscriber gets every event after its position, in commit order, and can resume.
pub fn subscription<S: EventStore + 'static>(make: &dyn Fn() -> S) -> Result<(), String> {
    let store = std::sync::Arc::new(make());
    block_on(store.append(AppendRequest::single(
        StreamId::Jobs,
        ExpectedVersion::Any,
        vec![NewEvent::new(job_started())],
    )))
    .map_err(|e| e.to_string())?;
    let start = store.head();
    let mut sub = store.subscribe(start);
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let _ = block_on(store.append(AppendRequest::single(
                        StreamId::Jobs,
                        ExpectedVersion::Any,
                        vec![NewEvent::new(job_started()), NewEvent::new(job_started())],
                    )));
                }
            })
        })
        .collect();
    let mut got = Vec::new();
    let mut resume_at = None;
    while got.len() < 200 {
        let batch = block_on(sub.next_batch(17)).map_err(|e| e.to_string())?;
        check!(!batch.is_empty(), "empty batch");
        got.extend(batch.iter().map(|e| e.seq));
        if resume_at.is_none() && got.len() >= 50 {
            resume_at = Some((sub.position(), got.len()));
        }
    }
    for w in writers {
        w.join().map_err(|_| "writer panicked".to_string())?;
    }
    let mut ordered = got.clone();
    ordered.sort_unstable();
    check!(ordered == got, "events out of order");
    check!(
        got.iter().collect::<HashSet<_>>().len() == got.len(),
        "duplicates delivered"
    );
    check!(got.windows(2).all(|w| w[1] == w[0] + 1), "gap in delivery");
    let (pos, n) = resume_at.ok_or("no resume point")?;
    let mut again = store.subscribe(pos);
    let mut resumed = Vec::new();
    while resumed.len() < 200 - n {
        resumed.extend(
            block_on(again.next_batch(64))
                .map_err(|e| e.to_string())?
                .iter()
                .map(|e| e.seq),
        );
    }
    check!(resumed == got[n..].to_vec(), "resumed subscription differs");
    Ok(())
}
