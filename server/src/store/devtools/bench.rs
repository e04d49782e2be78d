//! `stablesteering bench store`: durable append throughput (one event per commit, and group
//! commit under many concurrent producers), projection rebuild speed at 100k and 1M events,
//! replay-to-round latency for a 50-round session, and disk bytes per event.
//!
//! The 1M-event log for the rebuild figure is bulk-loaded through the import path (large
//! groups), since writing it through small commits would take minutes; the rebuild itself is
//! the same code as start-up.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::store::backend::{AppendRequest, ExpectedVersion, NewEvent};
use crate::store::devtools::workload::{job_events, Rng, SessionScript};
use crate::store::envelope::Envelope;
use crate::store::error::{Result, StoreError};
use crate::store::events::Event;
use crate::store::ids::StreamId;
use crate::store::projections::AsOf;
use crate::store::sled::open::{sled_dir, StoreOptions};
use crate::store::sled::store::SledStore;
use crate::store::util::{block_on, now_us};

/// Benchmark options.
#[derive(Debug, Clone)]
pub struct StoreBenchOptions {
    /// Events written through group commit (and the small rebuild size).
    pub events: u64,
    /// Events written one commit at a time.
    pub single_commit_events: u64,
    /// Concurrent producers for the group-commit run.
    pub producers: usize,
    /// Size of the large rebuild (0 to skip).
    pub large_rebuild_events: u64,
    /// Rounds of the replayed session.
    pub replay_rounds: u32,
    /// Replay samples.
    pub replay_samples: usize,
    /// Scratch directory (a temporary one under the system temp dir by default).
    pub dir: Option<PathBuf>,
}

impl Default for StoreBenchOptions {
    fn default() -> Self {
        StoreBenchOptions {
            events: 100_000,
            single_commit_events: 2_000,
            producers: 64,
            large_rebuild_events: 1_000_000,
            replay_rounds: 50,
            replay_samples: 2_000,
            dir: None,
        }
    }
}

/// Figures measured by [`run_store_bench`].
#[derive(Debug, Clone, Serialize)]
pub struct StoreBenchReport {
    pub single_commit_events: u64,
    pub single_commit_events_per_s: f64,
    pub group_commit_events: u64,
    pub group_commit_producers: usize,
    pub group_commit_events_per_s: f64,
    pub group_commit_mean_group_size: f64,
    pub rebuild_small_events: u64,
    pub rebuild_small_events_per_s: f64,
    pub verify_open_small_events_per_s: f64,
    pub rebuild_large_events: u64,
    pub rebuild_large_events_per_s: f64,
    pub verify_open_large_events_per_s: f64,
    pub replay_session_events: u64,
    pub replay_p50_ms: f64,
    pub replay_p99_ms: f64,
    pub replay_cold_p50_ms: f64,
    pub replay_cold_p99_ms: f64,
    pub disk_bytes_per_event: f64,
    pub targets: Targets,
}

/// The targets and whether they were met.
#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    pub group_commit_min_events_per_s: f64,
    pub rebuild_min_events_per_s: f64,
    pub replay_max_p99_ms: f64,
    pub group_commit_met: bool,
    pub rebuild_met: bool,
    pub replay_met: bool,
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Store options of the benchmark: the default ones with a larger queue and a sled cache
/// big enough to hold the 1M-event log (about 0.75 KB per event on disk).
fn opts() -> StoreOptions {
    StoreOptions {
        queue_capacity: 16_384,
        cache_capacity_bytes: 2 << 30,
        ..StoreOptions::default()
    }
}

/// A session's full history as one batch of new events (created + rounds + jobs).
fn session_batches(script: &mut SessionScript, rounds: u32) -> Vec<(StreamId, Event)> {
    let mut out = vec![(StreamId::Session(script.session_id), script.created())];
    for _ in 0..rounds {
        let job = script.rng.uuid();
        for e in job_events(job, Some(script.session_id)) {
            out.push((StreamId::Jobs, e));
        }
        for e in script.next_round() {
            out.push((StreamId::Session(script.session_id), e));
        }
    }
    out
}

fn single_commit(dir: &Path, n: u64) -> Result<f64> {
    let store = SledStore::open(dir, opts())?;
    let mut script = SessionScript::new(Uuid::now_v7(), None, 8, 4, 1);
    let mut events = session_batches(&mut script, (n / 10 + 1) as u32).into_iter();
    let t = Instant::now();
    for _ in 0..n {
        let Some((stream, e)) = events.next() else {
            break;
        };
        store.append_blocking(AppendRequest::single(
            stream,
            ExpectedVersion::Any,
            vec![NewEvent::new(e)],
        ))?;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    store.close();
    Ok(rate)
}

/// One logical client: a session of its own plus job milestones, one append in flight.
struct Client {
    events: std::collections::VecDeque<(StreamId, Event)>,
    expected: u64,
}

type Pending = oneshot::Receiver<Result<crate::store::backend::AppendOutcome>>;

fn submit(store: &SledStore, c: &mut Client) -> Result<Option<(bool, Pending)>> {
    let Some((stream, e)) = c.events.pop_front() else {
        return Ok(None);
    };
    let is_session = matches!(stream, StreamId::Session(_));
    let expected = if is_session {
        ExpectedVersion::Exact(c.expected)
    } else {
        ExpectedVersion::Any
    };
    let req = AppendRequest::single(stream, expected, vec![NewEvent::new(e)]);
    loop {
        match store.submit(req.clone()) {
            Ok(rx) => return Ok(Some((is_session, rx))),
            Err(StoreError::Busy { .. }) => std::thread::sleep(Duration::from_micros(100)),
            Err(err) => return Err(err),
        }
    }
}

/// `producers` concurrent clients (each with one append in flight, as HTTP handlers would
/// have), multiplexed on a few threads so the measurement is not dominated by context
/// switches of one OS thread per client.
fn group_commit(dir: &Path, n: u64, producers: usize) -> Result<(f64, f64, SledStore)> {
    let store = SledStore::open(dir, opts())?;
    let producers = producers.max(1);
    let threads = producers.min(4);
    let per_client = (n / producers as u64).max(1);
    let mut groups: Vec<Vec<Client>> = (0..threads).map(|_| Vec::new()).collect();
    for p in 0..producers {
        let mut script = SessionScript::new(Uuid::now_v7(), None, 8, 4, p as u64 + 7);
        let mut events = std::collections::VecDeque::new();
        events.extend(session_batches(&mut script, 0));
        while (events.len() as u64) < per_client {
            let round = session_batches(&mut script, 1);
            events.extend(
                round
                    .into_iter()
                    .filter(|(_, e)| !matches!(e, Event::SessionCreated(_))),
            );
        }
        events.truncate(per_client as usize);
        groups[p % threads].push(Client {
            events,
            expected: 0,
        });
    }
    let commits_before = store.commit_count();
    let t = Instant::now();
    let handles: Vec<_> = groups
        .into_iter()
        .map(|mut clients| {
            let store = store.clone();
            std::thread::spawn(move || -> Result<()> {
                let mut inflight = std::collections::VecDeque::new();
                for (i, c) in clients.iter_mut().enumerate() {
                    if let Some((s, rx)) = submit(&store, c)? {
                        inflight.push_back((i, s, rx));
                    }
                }
                while let Some((i, is_session, rx)) = inflight.pop_front() {
                    block_on(rx).map_err(|_| StoreError::Closed)??;
                    if is_session {
                        clients[i].expected += 1;
                    }
                    if let Some((s, rx)) = submit(&store, &mut clients[i])? {
                        inflight.push_back((i, s, rx));
                    }
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join()
            .map_err(|_| StoreError::InvalidRequest("producer panicked".into()))??;
    }
    let secs = t.elapsed().as_secs_f64();
    let head = store.head_seq();
    let mean_group = head as f64 / (store.commit_count() - commits_before).max(1) as f64;
    Ok((head as f64 / secs, mean_group, store))
}

fn bulk_load(store: &SledStore, n: u64, seed: u64) -> Result<()> {
    let mut rng = Rng::new(seed);
    let mut batch: Vec<Envelope> = Vec::with_capacity(20_000);
    let mut versions: std::collections::HashMap<StreamId, u64> = std::collections::HashMap::new();
    let mut seq = store.head_seq();
    let target = seq + n;
    let ts = now_us();
    while seq < target {
        let mut script = SessionScript::new(rng.uuid(), None, 8, 4, rng.next_u64());
        for (stream, event) in session_batches(&mut script, 20) {
            if seq >= target {
                break;
            }
            seq += 1;
            let v = versions.entry(stream).or_insert(0);
            *v += 1;
            batch.push(Envelope {
                event_id: Uuid::now_v7(),
                stream,
                stream_version: *v,
                seq,
                recorded_at_us: ts,
                schema_version: event.event_type().current_version(),
                event,
            });
            if batch.len() >= 20_000 {
                store.import_blocking(std::mem::take(&mut batch))?;
            }
        }
    }
    store.import_blocking(batch)?;
    Ok(())
}

/// Best of three rebuilds (the first one also warms sled's page cache).
fn time_rebuild(store: &SledStore) -> Result<f64> {
    let mut best = 0.0f64;
    for _ in 0..3 {
        let t = Instant::now();
        let p = store.rebuild_projections()?;
        let secs = t.elapsed().as_secs_f64();
        best = best.max(p.head as f64 / secs);
    }
    Ok(best)
}

fn time_verify_open(dir: &Path) -> Result<f64> {
    let t = Instant::now();
    let store = SledStore::open(dir, opts())?;
    let secs = t.elapsed().as_secs_f64();
    let head = store.head_seq();
    store.close();
    Ok(head as f64 / secs)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Run the benchmark. Prints nothing; the CLI formats the report.
pub fn run_store_bench(o: &StoreBenchOptions) -> Result<StoreBenchReport> {
    let tmp;
    let base = match &o.dir {
        Some(d) => d.clone(),
        None => {
            tmp = std::env::temp_dir().join(format!("ss-store-bench-{}", Uuid::now_v7()));
            tmp.clone()
        }
    };
    std::fs::create_dir_all(&base).map_err(|e| StoreError::io(&base, e))?;
    let result = run_in(o, &base);
    if o.dir.is_none() {
        let _ = std::fs::remove_dir_all(&base);
    }
    result
}

fn run_in(o: &StoreBenchOptions, base: &Path) -> Result<StoreBenchReport> {
    let single = single_commit(&base.join("single"), o.single_commit_events)?;
    tracing::info!(rate = single, "single-commit appends/s");

    let gdir = base.join("group");
    let (group_rate, mean_group, store) = group_commit(&gdir, o.events, o.producers)?;
    let small_events = store.head_seq();
    let small_rebuild = time_rebuild(&store)?;
    let mut disk = dir_size(&sled_dir(&gdir)) as f64 / small_events.max(1) as f64;
    store.close();
    let small_verify = time_verify_open(&gdir)?;

    let (mut large_rebuild, mut large_verify, mut large_events) = (0.0, 0.0, 0);
    if o.large_rebuild_events > 0 {
        let ldir = base.join("large");
        let store = SledStore::open(&ldir, opts())?;
        bulk_load(&store, o.large_rebuild_events, 99)?;
        large_events = store.head_seq();
        large_rebuild = time_rebuild(&store)?;
        store.close();
        large_verify = time_verify_open(&ldir)?;
        disk = dir_size(&sled_dir(&ldir)) as f64 / large_events.max(1) as f64;
        let _ = std::fs::remove_dir_all(&ldir);
    }

    // Replay: a 50-round session among other traffic.
    let rdir = base.join("replay");
    let store = SledStore::open(&rdir, opts())?;
    bulk_load(&store, 20_000, 5)?;
    let sid = Uuid::now_v7();
    let mut script = SessionScript::new(sid, None, 8, 4, 3);
    let mut reqs = Vec::new();
    for (stream, e) in session_batches(&mut script, o.replay_rounds) {
        reqs.push(NewEvent::new(e).clone());
        if !matches!(stream, StreamId::Session(_)) {
            reqs.pop();
        }
    }
    for chunk in reqs.chunks(500) {
        store.append_blocking(AppendRequest::single(
            StreamId::Session(sid),
            ExpectedVersion::Any,
            chunk.to_vec(),
        ))?;
    }
    let session_events = store.version_of(&StreamId::Session(sid));
    let mut rng = Rng::new(11);
    let mut lat = Vec::with_capacity(o.replay_samples);
    for _ in 0..o.replay_samples {
        let r = 1 + rng.below(u64::from(o.replay_rounds.max(1))) as u32;
        let t = Instant::now();
        let d = store.session_at(sid, AsOf::EndOfRound(r))?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        if d.rounds.is_empty() {
            return Err(StoreError::InvalidRequest(
                "replay produced no rounds".into(),
            ));
        }
    }
    let mut cold = Vec::with_capacity(o.replay_samples / 4);
    for _ in 0..(o.replay_samples / 4).max(1) {
        let r = 1 + rng.below(u64::from(o.replay_rounds.max(1))) as u32;
        let t = Instant::now();
        store.session_at_uncached(sid, AsOf::EndOfRound(r))?;
        cold.push(t.elapsed().as_secs_f64() * 1e3);
    }
    store.close();
    let _ = std::fs::remove_dir_all(&rdir);
    lat.sort_by(|a, b| a.total_cmp(b));
    cold.sort_by(|a, b| a.total_cmp(b));
    let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));

    let rebuild_floor = if large_events > 0 {
        large_rebuild
    } else {
        small_rebuild
    };
    Ok(StoreBenchReport {
        single_commit_events: o.single_commit_events,
        single_commit_events_per_s: single,
        group_commit_events: small_events,
        group_commit_producers: o.producers,
        group_commit_events_per_s: group_rate,
        group_commit_mean_group_size: mean_group,
        rebuild_small_events: small_events,
        rebuild_small_events_per_s: small_rebuild,
        verify_open_small_events_per_s: small_verify,
        rebuild_large_events: large_events,
        rebuild_large_events_per_s: large_rebuild,
        verify_open_large_events_per_s: large_verify,
        replay_session_events: session_events,
        replay_p50_ms: p50,
        replay_p99_ms: p99,
        replay_cold_p50_ms: percentile(&cold, 0.5),
        replay_cold_p99_ms: percentile(&cold, 0.99),
        disk_bytes_per_event: disk,
        targets: Targets {
            group_commit_min_events_per_s: 15_000.0,
            rebuild_min_events_per_s: 1_000_000.0,
            replay_max_p99_ms: 0.5,
            group_commit_met: group_rate >= 15_000.0,
            rebuild_met: small_rebuild.min(rebuild_floor) >= 1_000_000.0,
            replay_met: p99 < 0.5,
        },
    })
}
