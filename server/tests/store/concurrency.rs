//! Concurrent writers: exactly one winner per expected version (losers get a typed conflict
//! carrying the current version), idempotent retries (concurrent and after a restart) that
//! return the original positions, and a full queue reported as a typed `Busy` error.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Barrier, Mutex};

use stablesteering::store::devtools::workload;
use stablesteering::store::events::v1::JobStartedV1;
use stablesteering::store::*;
use uuid::Uuid;

fn job_started() -> Event {
    Event::JobStarted(JobStartedV1 {
        job_id: Id(Uuid::now_v7()),
    })
}

#[test]
fn exactly_one_winner_per_version() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::common::open(tmp.path());
    let sid = Uuid::now_v7();
    let stream = StreamId::Session(sid);
    let script = workload::SessionScript::new(sid, None, 2, 2, 1);
    crate::common::append(&store, stream, vec![script.created()]);
    const TARGET: u64 = 301;
    let wins = Arc::new(Mutex::new(BTreeMap::<u64, (usize, Uuid)>::new()));
    let conflicts = Arc::new(Mutex::new(0usize));
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let store = store.clone();
            let wins = wins.clone();
            let conflicts = conflicts.clone();
            std::thread::spawn(move || loop {
                let v = store.version_of(&stream);
                if v >= TARGET {
                    return;
                }
                let ev = NewEvent::new(Event::SessionDeleted(events::v1::SessionDeletedV1 {
                    reason: format!("t{t}"),
                }));
                let id = ev.event_id;
                match store.append_blocking(AppendRequest::single(
                    stream,
                    ExpectedVersion::Exact(v),
                    vec![ev],
                )) {
                    Ok(out) => {
                        assert_eq!(out.version_of(&stream), Some(v + 1));
                        let prev = wins.lock().unwrap().insert(v + 1, (t, id));
                        assert!(prev.is_none(), "two winners for version {}", v + 1);
                    }
                    Err(StoreError::Conflict {
                        expected,
                        current,
                        stream: s,
                    }) => {
                        assert_eq!(expected, v);
                        assert_eq!(s, stream);
                        assert!(
                            current > expected,
                            "conflict reports current {current} <= expected {expected}"
                        );
                        *conflicts.lock().unwrap() += 1;
                    }
                    Err(StoreError::Busy { .. }) => {}
                    Err(e) => panic!("unexpected error {e}"),
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let wins = wins.lock().unwrap();
    assert_eq!(
        wins.keys().copied().collect::<Vec<_>>(),
        (2..=TARGET).collect::<Vec<_>>()
    );
    let events = store.stream_events(&stream, 1, usize::MAX).unwrap();
    assert_eq!(events.len() as u64, TARGET);
    for e in &events[1..] {
        assert_eq!(
            wins[&e.stream_version].1, e.event_id,
            "log and winners disagree at v{}",
            e.stream_version
        );
    }
    println!(
        "conflicts: {} winners, {} typed conflicts",
        wins.len(),
        conflicts.lock().unwrap()
    );
    assert!(*conflicts.lock().unwrap() > 0, "no contention happened");
}

#[test]
fn idempotent_retries_concurrently_and_after_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::common::open(tmp.path());
    let mut originals = Vec::new();
    for round in 0..20 {
        let req = AppendRequest::single(
            StreamId::Jobs,
            ExpectedVersion::Any,
            vec![NewEvent::new(job_started()), NewEvent::new(job_started())],
        );
        let barrier = Arc::new(Barrier::new(8));
        let outs: Vec<AppendOutcome> = (0..8)
            .map(|_| {
                let (store, req, barrier) = (store.clone(), req.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    store.append_blocking(req).unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let fresh = outs.iter().filter(|o| !o.duplicate).count();
        assert_eq!(
            fresh, 1,
            "round {round}: {fresh} appends claimed to be first"
        );
        assert!(outs
            .iter()
            .all(|o| o.first_seq == outs[0].first_seq && o.last_seq == outs[0].last_seq));
        originals.push((req, outs[0].clone()));
    }
    let head = store.head_seq();
    assert_eq!(head, 40, "duplicates were written");
    let ids: HashSet<Uuid> = crate::common::all_events(&store)
        .iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(ids.len(), 40);

    // A mixed request (one known id, one new) and a reused id with another payload are errors.
    let known = originals[0].0.streams[0].events[0].clone();
    let mixed = AppendRequest::single(
        StreamId::Jobs,
        ExpectedVersion::Any,
        vec![known.clone(), NewEvent::new(job_started())],
    );
    assert!(matches!(
        store.append_blocking(mixed),
        Err(StoreError::PartialDuplicate { existing: 1 })
    ));
    let reused = AppendRequest::single(
        StreamId::Jobs,
        ExpectedVersion::Any,
        vec![NewEvent::with_id(known.event_id, job_started())],
    );
    assert!(matches!(
        store.append_blocking(reused),
        Err(StoreError::EventIdReused { .. })
    ));

    store.close();
    let store = crate::common::open(tmp.path());
    for (req, orig) in &originals {
        let again = store.append_blocking(req.clone()).unwrap();
        assert!(again.duplicate);
        assert_eq!(
            (again.first_seq, again.last_seq),
            (orig.first_seq, orig.last_seq)
        );
        assert_eq!(again.streams, orig.streams);
    }
    // A retry with a stale expected version still returns the original position.
    let (req, orig) = &originals[3];
    let mut stale = req.clone();
    stale.streams[0].expected = ExpectedVersion::Exact(0);
    assert_eq!(
        store.append_blocking(stale).unwrap().first_seq,
        orig.first_seq
    );
    assert_eq!(store.head_seq(), head, "a retry after restart wrote events");
}

#[test]
fn full_queue_is_a_typed_busy_error() {
    let tmp = tempfile::tempdir().unwrap();
    let store = SledStore::open(
        tmp.path(),
        StoreOptions {
            queue_capacity: 1,
            max_group_events: 1,
            ..crate::common::options()
        },
    )
    .unwrap();
    let busy = Arc::new(Mutex::new(0usize));
    let ok = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..24)
        .map(|_| {
            let (store, busy, ok) = (store.clone(), busy.clone(), ok.clone());
            std::thread::spawn(move || {
                for _ in 0..20 {
                    match store.append_blocking(AppendRequest::single(
                        StreamId::Jobs,
                        ExpectedVersion::Any,
                        vec![NewEvent::new(job_started())],
                    )) {
                        Ok(o) => ok.lock().unwrap().push(o.first_seq),
                        Err(StoreError::Busy { capacity }) => {
                            assert_eq!(capacity, 1);
                            *busy.lock().unwrap() += 1;
                        }
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let ok = ok.lock().unwrap();
    println!(
        "busy: {} accepted, {} rejected as busy",
        ok.len(),
        busy.lock().unwrap()
    );
    assert!(*busy.lock().unwrap() > 0, "the queue never filled");
    assert_eq!(
        store.head_seq() as usize,
        ok.len(),
        "busy appends must not be written"
    );
}
