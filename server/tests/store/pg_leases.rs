//! The job queue on PostgreSQL (`store::postgres::leases`): claims skip each other, a lease that
//! runs out is taken again with the lost run counted, and the fence refuses the result of a
//! worker that no longer holds the job while a retry of a recorded result still gets its
//! original outcome.

use std::time::Duration;

use crate::pg_common::Cluster;

use stablesteering::store::backend::{AppendRequest, EventStore, ExpectedVersion, NewEvent};
use stablesteering::store::events::v1::{JobFinishedV1, JobQueuedV1, JobStartedV1};
use stablesteering::store::events::Event;
use stablesteering::store::ids::{Id, StreamId};
use stablesteering::store::postgres::leases::{ClaimKinds, Fence};
use stablesteering::store::util::block_on;
use stablesteering::store::{PgStore, StoreError};
use uuid::Uuid;

const LEASE: Duration = Duration::from_millis(300);

fn on_jobs(events: Vec<Event>) -> AppendRequest {
    AppendRequest::single(
        StreamId::Jobs,
        ExpectedVersion::Any,
        events.into_iter().map(NewEvent::new).collect(),
    )
}

fn queue(store: &PgStore, kind: &str) -> Uuid {
    let job_id = Uuid::now_v7();
    block_on(store.append(on_jobs(vec![Event::JobQueued(JobQueuedV1 {
        job_id: Id(job_id),
        kind: kind.into(),
        session_id: None,
        settings_hash: "h".into(),
        settings_json: "{}".into(),
    })])))
    .unwrap();
    job_id
}

fn finished(job_id: Uuid) -> AppendRequest {
    on_jobs(vec![Event::JobFinished(JobFinishedV1 {
        job_id: Id(job_id),
        result_json: "{}".into(),
    })])
}

#[test]
fn a_lost_lease_moves_the_job_and_fences_the_old_worker_out() {
    let cluster = Cluster::start();
    let store = PgStore::open_blocking(&cluster.fresh_database()).unwrap();
    let job = queue(&store, "generate_round");
    let feedback = queue(&store, "submit_feedback");

    let a = block_on(store.claim("a", ClaimKinds::Renders, LEASE))
        .unwrap()
        .unwrap();
    assert_eq!((a.job_id, a.attempt, a.lost_runs), (job, 1, 0));
    // The other worker skips the leased row; the feedback job is not a render.
    assert_eq!(
        block_on(store.claim("b", ClaimKinds::Renders, LEASE)).unwrap(),
        None
    );
    let fence_a = Fence {
        job_id: job,
        attempt: Some(1),
    };
    let start = on_jobs(vec![Event::JobStarted(JobStartedV1 { job_id: Id(job) })]);
    block_on(store.append_fenced(start, fence_a)).unwrap();
    assert!(block_on(store.renew(a, LEASE)).unwrap());

    // A stops renewing (it died): after the lease, B takes the job and the lost run counts.
    std::thread::sleep(LEASE + Duration::from_millis(100));
    let b = block_on(store.claim("b", ClaimKinds::Renders, LEASE))
        .unwrap()
        .unwrap();
    assert_eq!((b.job_id, b.attempt, b.lost_runs), (job, 2, 1));
    assert!(
        !block_on(store.renew(a, LEASE)).unwrap(),
        "A's lease is gone"
    );

    // A's late result is refused and nothing is written; B's is recorded once.
    let late = block_on(store.append_fenced(finished(job), fence_a));
    assert!(
        matches!(late, Err(StoreError::LeaseLost { .. })),
        "{late:?}"
    );
    let mine = finished(job);
    let fence_b = Fence {
        job_id: job,
        attempt: Some(2),
    };
    let first = block_on(store.append_fenced(mine.clone(), fence_b)).unwrap();
    assert!(!first.duplicate);
    // A retry of the recorded request (reply lost) gets the original outcome, not a refusal.
    let again = block_on(store.append_fenced(mine, fence_b)).unwrap();
    assert!(again.duplicate);
    assert_eq!(again.first_seq, first.first_seq);
    // The job is done: no claim returns it, and a cancel after the end is refused.
    assert_eq!(
        block_on(store.claim("c", ClaimKinds::Renders, LEASE)).unwrap(),
        None
    );
    let cancel = Fence {
        job_id: job,
        attempt: None,
    };
    let refused = block_on(store.append_fenced(finished(job), cancel));
    assert!(
        matches!(refused, Err(StoreError::LeaseLost { .. })),
        "{refused:?}"
    );

    let f = block_on(store.claim("api", ClaimKinds::NoRender, LEASE))
        .unwrap()
        .unwrap();
    assert_eq!((f.job_id, f.attempt), (feedback, 1));
    assert_eq!(block_on(store.queue_depth()).unwrap(), (0, 1));
}

#[test]
fn two_workers_racing_for_one_queue_take_each_job_once() {
    let cluster = Cluster::start();
    let store = PgStore::open_blocking(&cluster.fresh_database()).unwrap();
    let jobs: Vec<Uuid> = (0..40).map(|_| queue(&store, "txt2img")).collect();
    let claimers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                while let Some(c) = block_on(store.claim(
                    &format!("w{w}"),
                    ClaimKinds::Renders,
                    Duration::from_secs(30),
                ))
                .unwrap()
                {
                    mine.push(c.job_id);
                }
                mine
            })
        })
        .collect();
    let mut taken: Vec<Uuid> = claimers
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    taken.sort();
    let mut expected = jobs;
    expected.sort();
    assert_eq!(taken, expected, "every job claimed exactly once");
}

/// Progress notes from a worker reach another process's listener quickly (the live-progress
/// path of `serve --render-concurrency 0`; target ≤ 250 ms).
#[test]
fn progress_notes_reach_another_store_within_250_ms() {
    let cluster = Cluster::start();
    let url = cluster.fresh_database();
    let worker = PgStore::open_blocking(&url).unwrap();
    let server = PgStore::open_blocking(&url).unwrap();
    let mut notes = server.progress_notes();
    let timer = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    // The listener's LISTEN runs in the background after open: notes sent before it are not
    // delivered (they are live ticks, not state). Wait until one gets through.
    let listening = timer.block_on(async {
        for _ in 0..100 {
            block_on(worker.send_progress("warm-up".into())).unwrap();
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(50), notes.recv()).await {
                return true;
            }
        }
        false
    });
    assert!(listening, "the listener never started");
    while notes.try_recv().is_ok() {}
    let mut latencies = Vec::new();
    for i in 0..50 {
        let sent = std::time::Instant::now();
        block_on(worker.send_progress(format!("{{\"n\":{i}}}"))).unwrap();
        let got = timer
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), notes.recv()).await })
            .expect("a note within 5 s")
            .unwrap();
        assert_eq!(got, format!("{{\"n\":{i}}}"));
        latencies.push(sent.elapsed());
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100 - 1];
    eprintln!("progress note latency p50 {:?} p99 {p99:?}", latencies[25]);
    assert!(p99 < Duration::from_millis(250), "p99 {p99:?}");
    let too_big = block_on(worker.send_progress("x".repeat(8_000)));
    assert!(matches!(too_big, Err(StoreError::InvalidRequest(_))));
}
