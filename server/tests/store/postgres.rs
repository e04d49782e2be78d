//! The PostgreSQL backend on a real, throwaway PostgreSQL 15 cluster (initdb + pg_ctl on a Unix
//! socket in a temp dir, by `scripts/pg-test-cluster.sh`): the conformance suite, commits racing
//! a subscriber, and the start-up refusals.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

use crate::pg_common::Cluster;

use stablesteering::store::backend::{
    AppendRequest, EventStore, EventSubscription, ExpectedVersion, NewEvent, Position,
};
use stablesteering::store::devtools::conformance;
use stablesteering::store::devtools::workload::SessionScript;
use stablesteering::store::events::v1::JobStartedV1;
use stablesteering::store::events::Event;
use stablesteering::store::ids::{Id, StreamId};
use stablesteering::store::util::block_on;
use stablesteering::store::{Envelope, PgStore, StoreError};
use uuid::Uuid;

/// The whole log in commit order, paged `page` at a time, and the position after it.
fn read_everything(store: &PgStore, page: usize) -> (Vec<Envelope>, Position) {
    let mut events = Vec::new();
    let mut at = Position::START;
    loop {
        let next = block_on(store.read_all(at, page)).unwrap();
        if next.events.is_empty() {
            return (events, at);
        }
        at = next.next;
        events.extend(next.events);
    }
}

fn job_started() -> NewEvent {
    NewEvent::new(Event::JobStarted(JobStartedV1 {
        job_id: Id(Uuid::now_v7()),
    }))
}

#[test]
fn postgres_backend_passes_the_conformance_suite() {
    let cluster = Cluster::start();
    let make = || PgStore::open_blocking(&cluster.fresh_database()).unwrap();
    let checks = conformance::all::<PgStore>();
    assert!(checks.len() >= 8);
    let failures = conformance::run_all::<PgStore>(&make);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Writers on different streams commit concurrently (no shared lock), so their sequence
/// numbers are taken out of commit order; a subscriber that started before them still gets
/// every event exactly once, each stream in version order, and a second reader paging the
/// log afterwards sees the same order.
#[test]
fn no_event_is_skipped_when_commits_race_a_subscriber() {
    let cluster = Cluster::start();
    let store = Arc::new(PgStore::open_blocking(&cluster.fresh_database()).unwrap());
    const WRITERS: usize = 8;
    const APPENDS: usize = 40;
    let mut sub = store.subscribe(Position::START);
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                let id = Uuid::now_v7();
                let mut script = SessionScript::new(id, None, 4, 3, 1);
                let mut events = vec![script.created()];
                while events.len() < APPENDS {
                    events.extend(script.next_round());
                }
                events.truncate(APPENDS);
                for (i, event) in events.into_iter().enumerate() {
                    block_on(store.append(AppendRequest::single(
                        StreamId::Session(id),
                        ExpectedVersion::Exact(i as u64),
                        vec![NewEvent::new(event)],
                    )))
                    .unwrap();
                }
            })
        })
        .collect();
    let mut delivered = Vec::new();
    while delivered.len() < WRITERS * APPENDS {
        delivered.extend(block_on(sub.next_batch(64)).unwrap());
    }
    for w in writers {
        w.join().unwrap();
    }
    let mut versions: HashMap<StreamId, u64> = HashMap::new();
    for e in &delivered {
        let last = versions.entry(e.stream).or_insert(0);
        assert_eq!(
            e.stream_version,
            *last + 1,
            "stream {} out of order",
            e.stream
        );
        *last = e.stream_version;
    }
    assert_eq!(versions.len(), WRITERS);
    assert!(versions.values().all(|v| *v == APPENDS as u64));

    let (paged, at) = read_everything(&store, 50);
    let paged: Vec<Uuid> = paged.iter().map(|e| e.event_id).collect();
    let subscribed: Vec<Uuid> = delivered.iter().map(|e| e.event_id).collect();
    assert_eq!(
        paged, subscribed,
        "paging and subscribing disagree on commit order"
    );
    assert_eq!(store.head(), at);
}

/// The race a plain sequence cursor loses, made deterministic: another session inserts an
/// event (taking the lower sequence number) and keeps its transaction open while we append and
/// commit. Neither event is readable until that transaction ends; then both arrive, the earlier
/// transaction's first. A cursor on `position` would have delivered ours and skipped theirs.
#[test]
fn an_open_transaction_holds_delivery_back_instead_of_being_skipped() {
    let cluster = Cluster::start();
    let url = cluster.fresh_database();
    let store = PgStore::open_blocking(&url).unwrap();
    block_on(store.append(AppendRequest::single(
        StreamId::Jobs,
        ExpectedVersion::Any,
        vec![job_started()],
    )))
    .unwrap();
    let mut sub = store.subscribe(Position::START);
    assert_eq!(block_on(sub.next_batch(10)).unwrap().len(), 1);
    let session_kind = StreamId::Session(Uuid::nil()).kind_byte();
    let mut open_tx = Command::new("psql")
        .args([&url, "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!(
            "BEGIN; INSERT INTO events (stream_kind, stream_entity, stream_version, event_id, \
             event_type, schema_version, payload, recorded_at) SELECT {session_kind}, \
             gen_random_uuid(), 1, gen_random_uuid(), event_type, schema_version, payload, \
             recorded_at FROM events LIMIT 1; SELECT pg_sleep(1.5); COMMIT;"
        ))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let ours = block_on(store.append(AppendRequest::single(
        StreamId::Jobs,
        ExpectedVersion::Any,
        vec![job_started()],
    )))
    .unwrap();
    let page = block_on(store.read_all(sub.position(), 10)).unwrap();
    assert!(
        page.events.is_empty(),
        "an event behind an open transaction was readable"
    );
    let mut batch = Vec::new();
    while batch.len() < 2 {
        batch.extend(block_on(sub.next_batch(10)).unwrap());
    }
    assert!(open_tx.wait().unwrap().success());
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[0].stream_version, 1);
    assert!(matches!(batch[0].stream, StreamId::Session(_)));
    assert!(
        batch[0].seq < ours.last_seq,
        "their row should hold the lower number"
    );
    assert_eq!(batch[1].seq, ours.last_seq);
}

#[test]
fn refuses_an_unreachable_database_and_a_newer_schema_in_one_line() {
    let cluster = Cluster::start();
    let missing = format!(
        "postgres://stablesteering@/postgres?host={}/nowhere",
        cluster.dir().display()
    );
    match PgStore::open_blocking(&missing) {
        Err(e @ StoreError::DatabaseRefused { .. }) => {
            let line = e.to_string();
            assert!(line.contains("cannot reach PostgreSQL"), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("opened a database that does not exist"),
    }
    let url = cluster.fresh_database();
    drop(PgStore::open_blocking(&url).unwrap());
    cluster.sql_on(&url, "INSERT INTO schema_migrations (version) VALUES (99)");
    match PgStore::open_blocking(&url) {
        Err(e @ StoreError::DatabaseRefused { .. }) => {
            let line = e.to_string();
            assert!(line.contains("schema is at version 99"), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("opened a database with a newer schema"),
    }
    assert_eq!(
        cluster.sql_on(&url, "SELECT count(*) FROM events").trim(),
        "0",
        "a refused start wrote something"
    );
}

/// `store migrate` copies a populated sled log (every event type, many sessions) into
/// PostgreSQL: the same events in the same order, the same session as of any round, and a
/// second migration into the now non-empty database is refused.
#[test]
fn migrate_copies_a_sled_log_and_refuses_a_non_empty_target() {
    let cluster = Cluster::start();
    let url = cluster.fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let sled = crate::common::open(tmp.path());
    let populated = crate::common::populate(&sled, 6, 4);
    let sled_events = crate::common::all_events(&sled);
    let session = populated.sessions[0];
    let expected = sled
        .session_at(session, stablesteering::store::AsOf::EndOfRound(2))
        .unwrap();
    sled.close();

    let report =
        stablesteering::store::postgres::migrate::migrate_sled_to_postgres(tmp.path(), &url)
            .unwrap();
    assert_eq!(report.events, sled_events.len() as u64);
    assert!(report.verified);

    let pg = PgStore::open_blocking(&url).unwrap();
    let (copied, _) = read_everything(&pg, 100);
    assert_eq!(copied.len(), sled_events.len());
    for (a, b) in sled_events.iter().zip(&copied) {
        assert_eq!(
            (a.event_id, a.stream, a.stream_version),
            (b.event_id, b.stream, b.stream_version)
        );
        assert_eq!(a.event, b.event);
    }
    let replayed = block_on(pg.session_at(session, stablesteering::store::AsOf::EndOfRound(2)));
    assert_eq!(replayed.unwrap(), expected);
    drop(pg);

    let again =
        stablesteering::store::postgres::migrate::migrate_sled_to_postgres(tmp.path(), &url);
    match again {
        Err(e) => assert!(
            e.to_string().contains("migrate into an empty database"),
            "{e}"
        ),
        Ok(_) => panic!("migrated twice into one database"),
    }
}

/// Appends that arrive together are committed as one batch, yet each is decided as if alone:
/// of 40 racing `NO_STREAM` appends to one stream exactly one wins and the rest conflict at
/// version 1; 20 copies of one request (same ids) all get the one original outcome.
#[test]
fn a_batch_decides_each_append_as_if_alone() {
    let cluster = Cluster::start();
    let store = PgStore::open_blocking(&cluster.fresh_database()).unwrap();
    let id = Uuid::now_v7();
    let script = SessionScript::new(id, None, 4, 3, 1);
    let racing: Vec<_> = (0..40)
        .map(|_| {
            store.append(AppendRequest::single(
                StreamId::Session(id),
                ExpectedVersion::NO_STREAM,
                vec![NewEvent::new(script.created())],
            ))
        })
        .collect();
    let results = block_on(futures::future::join_all(racing));
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(StoreError::Conflict {
                    current: 1,
                    expected: 0,
                    ..
                })
            )
        })
        .count();
    assert_eq!((wins, conflicts), (1, 39), "{results:?}");

    let request = AppendRequest::single(
        StreamId::Jobs,
        ExpectedVersion::Any,
        vec![job_started(), job_started()],
    );
    let copies: Vec<_> = (0..20).map(|_| store.append(request.clone())).collect();
    let outcomes: Vec<_> = block_on(futures::future::join_all(copies))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(outcomes.iter().filter(|o| !o.duplicate).count(), 1);
    assert!(outcomes
        .iter()
        .all(|o| (o.first_seq, o.last_seq, &o.streams)
            == (
                outcomes[0].first_seq,
                outcomes[0].last_seq,
                &outcomes[0].streams
            )));
    assert_eq!(block_on(store.stream_version(StreamId::Jobs)).unwrap(), 2);
}
