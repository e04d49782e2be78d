//! Render workers on a shared PostgreSQL queue (issue 17): one API server that only queues
//! (`serve --render-concurrency 0`) and two `stablesteering worker` processes, one of them
//! killed with SIGKILL at random moments while twenty rounds render. Every job must end exactly
//! once, every acknowledged job must be there, and no image the log names may be missing.
//!
//! `STABLESTEERING_WORKER_KILLS` and `STABLESTEERING_WORKER_ROUNDS` scale it (`make test` runs
//! 8 kills over 20 rounds; the benchmark in docs/BENCHMARKS.md 100 over 200) and
//! `STABLESTEERING_WORKER_SEED` replays a run.

#[path = "pg_common/mod.rs"]
mod pg_common;
#[path = "served/common.rs"]
#[allow(dead_code)]
mod served;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stablesteering::artifacts::ArtifactStore;
use stablesteering::store::events::Event;
use stablesteering::store::{EventStore, PgStore, Position};
use uuid::Uuid;

const LEASE_MS: u64 = 1_000;

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_stablesteering")
}

fn tiny_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/models/tiny-sd1")
}

/// A small xorshift, seeded per run (printed, so a failure can be replayed).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

struct Processes {
    server: Child,
    workers: Vec<Child>,
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in std::iter::once(&mut self.server).chain(&mut self.workers) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `stablesteering COMMAND ARGS…` on the shared database and data dir, with the tiny model on
/// the CPU, quietly.
fn spawn(command: &str, args: &[&str], url: &str, data: &Path) -> Child {
    Command::new(binary())
        .args([command, "--device", "cpu", "--store", url])
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .arg("--model")
        .arg(tiny_model())
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn start_server(url: &str, data: &Path, port: u16) -> Child {
    let addr = format!("127.0.0.1:{port}");
    let args = [
        "--render-concurrency",
        "0",
        "--rate-limit",
        "0",
        "--addr",
        &addr,
    ];
    served::wait_for_health(spawn("serve", &args, url, data), port)
}

fn start_worker(url: &str, data: &Path) -> Child {
    spawn("worker", &["--lease-ms", &LEASE_MS.to_string()], url, data)
}

fn post(port: u16, path: &str, body: Value) -> Value {
    let answer = ureq::post(&format!("http://127.0.0.1:{port}{path}"))
        .send_json(body)
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    answer.into_json().unwrap()
}

fn get(port: u16, path: &str) -> Value {
    ureq::get(&format!("http://127.0.0.1:{port}{path}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .into_json()
        .unwrap()
}

/// `rounds` sessions, each with its first round queued; returns the job ids.
fn queue_rounds(port: u16, rounds: usize) -> Vec<String> {
    (0..rounds).map(|i| queue_round(port, i)).collect()
}

fn queue_round(port: u16, i: usize) -> String {
    let created = post(
        port,
        "/setup/session",
        json!({
            "experiment_name": "workers",
            "prompt": format!("a red circle number {i}"),
            "config_yaml": "feedback_mode: winner_only\nimage_size: 64x64\n\
                            num_inference_steps: 8\ncandidate_count: 4\n\
                            steering_dimension: 4\n",
        }),
    );
    let sid = created["session"]["id"].as_str().unwrap().to_string();
    let queued = post(
        port,
        &format!("/sessions/{sid}/rounds/next/async"),
        json!({}),
    );
    queued["job_id"].as_str().unwrap().to_string()
}

/// Follow a job's progress stream on the API server to its end: the step numbers seen while
/// it was running and the final state.
fn follow_progress(port: u16, job: &str) -> (Vec<u64>, String) {
    use std::io::BufRead;
    let answer = ureq::get(&format!("http://127.0.0.1:{port}/api/jobs/{job}/events"))
        .timeout(Duration::from_secs(60))
        .call()
        .unwrap();
    let mut steps = Vec::new();
    let mut event = String::new();
    for line in std::io::BufReader::new(answer.into_reader()).lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix("event:") {
            event = name.trim().to_string();
        } else if let Some(data) = line.strip_prefix("data:") {
            let update: Value = serde_json::from_str(data.trim()).unwrap();
            if event == "done" || update["terminal"] == true {
                return (
                    steps,
                    update["state"].as_str().unwrap_or_default().to_string(),
                );
            }
            if update["state"] == "running" {
                steps.push(update["step"].as_u64().unwrap_or(0));
            }
        }
    }
    (steps, "stream ended".into())
}

fn job_states(port: u16, jobs: &[String]) -> Vec<Value> {
    jobs.iter()
        .map(|id| get(port, &format!("/api/jobs/{id}")))
        .collect()
}

/// Every event of the database, in commit order.
fn whole_log(url: &str) -> Vec<stablesteering::store::Envelope> {
    let store = PgStore::open_blocking(url).unwrap();
    let mut at = Position::START;
    let mut events = Vec::new();
    loop {
        let page = stablesteering::store::util::block_on(store.read_all(at, 1_000)).unwrap();
        if page.events.is_empty() {
            return events;
        }
        at = page.next;
        events.extend(page.events);
    }
}

#[test]
fn a_worker_killed_at_random_moments_loses_and_repeats_nothing() {
    let setting = |name: &str, default: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let kills = setting("STABLESTEERING_WORKER_KILLS", 8);
    let rounds = setting("STABLESTEERING_WORKER_ROUNDS", 20);
    let seed: u64 = std::env::var("STABLESTEERING_WORKER_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("worker kill test: seed {seed}, {kills} kills");
    let mut dice = Dice(seed);
    let cluster = pg_common::Cluster::start();
    let url = cluster.fresh_database();
    let shared = tempfile::tempdir().unwrap();
    let data = shared.path().join("data");
    let port = served::free_port();
    let mut procs = Processes {
        server: start_server(&url, &data, port),
        workers: vec![start_worker(&url, &data), start_worker(&url, &data)],
    };
    // Live progress of a render on a worker reaches the server's event stream.
    let watched = queue_round(port, rounds);
    let (steps, end) = follow_progress(port, &watched);
    assert_eq!(end, "succeeded");
    let distinct: HashSet<u64> = steps.iter().copied().filter(|s| *s > 0).collect();
    assert!(distinct.len() >= 2, "steps seen from the worker: {steps:?}");

    let jobs = queue_rounds(port, rounds);
    let started = Instant::now();
    let mut killed = 0;
    let mut kill_times_us = Vec::new();
    let mut pending = jobs.clone();
    while !pending.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60 + 2 * rounds as u64),
            "jobs still open after the time allowed: {pending:?} (seed {seed})"
        );
        std::thread::sleep(Duration::from_millis(100 + dice.below(1_400)));
        if killed < kills {
            // Always the first worker: the second keeps the queue moving between restarts.
            let victim = &mut procs.workers[0];
            victim.kill().unwrap();
            victim.wait().unwrap();
            kill_times_us.push(now_us());
            killed += 1;
            procs.workers[0] = start_worker(&url, &data);
        }
        pending.retain(|id| {
            let job = get(port, &format!("/api/jobs/{id}"));
            matches!(job["state"].as_str(), Some("queued" | "running"))
        });
        if killed >= kills && pending.is_empty() {
            break;
        }
    }
    // Kills done, queue drained; what the API says and what the log holds must agree.
    let records = job_states(port, &jobs);
    let mut by_state: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *by_state
            .entry(r["state"].as_str().unwrap().to_string())
            .or_default() += 1;
        if r["state"] == "failed" {
            let why = r["error"].as_str().unwrap_or_default();
            assert!(why.contains("worker stopped"), "unexpected failure: {why}");
        }
    }
    let runs: Vec<f64> = records
        .iter()
        .filter_map(|r| r["run_ms"].as_f64())
        .collect();
    eprintln!(
        "{kills} kills, {rounds} rounds in {:?}: {by_state:?}; mean run {:.0} ms",
        started.elapsed(),
        runs.iter().sum::<f64>() / runs.len().max(1) as f64
    );
    // The second worker is never killed, so jobs keep being rendered between the kills.
    assert!(
        by_state.get("succeeded").copied().unwrap_or(0) >= 1,
        "nothing rendered despite a healthy worker: {by_state:?}"
    );
    drop(procs);
    let log = whole_log(&url);
    check_log(&log, &data, &jobs);
    let delays = reclaim_delays_ms(&log, &kill_times_us);
    if !delays.is_empty() {
        let mut sorted = delays.clone();
        sorted.sort_by(f64::total_cmp);
        eprintln!(
            "{} jobs taken again after a kill: reclaim p50 {:.0} ms, max {:.0} ms (lease {LEASE_MS} ms)",
            sorted.len(),
            sorted[sorted.len() / 2],
            sorted[sorted.len() - 1]
        );
    }
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// For each kill, the jobs that were running then and started again next: the time from the
/// kill to that start (the dead worker's job, taken by the other or the restarted worker).
fn reclaim_delays_ms(log: &[stablesteering::store::Envelope], kills_us: &[i64]) -> Vec<f64> {
    let mut by_job: HashMap<Uuid, Vec<(i64, bool)>> = HashMap::new();
    for env in log {
        let (job, is_start) = match &env.event {
            Event::JobStarted(s) => (s.job_id.0, true),
            Event::JobFinished(f) => (f.job_id.0, false),
            Event::JobFailed(f) => (f.job_id.0, false),
            Event::JobCancelled(c) => (c.job_id.0, false),
            _ => continue,
        };
        by_job
            .entry(job)
            .or_default()
            .push((env.recorded_at_us, is_start));
    }
    let mut delays = Vec::new();
    for &kill in kills_us {
        for marks in by_job.values() {
            let before = marks.iter().rev().find(|(t, _)| *t <= kill);
            let after = marks.iter().find(|(t, _)| *t > kill);
            if let (Some((_, true)), Some((t, true))) = (before, after) {
                delays.push((t - kill) as f64 / 1e3);
            }
        }
    }
    delays
}

/// Every queued job ends exactly once, no round is rendered or readied twice, and every image
/// the log names exists with the bytes its name promises.
fn check_log(log: &[stablesteering::store::Envelope], data: &Path, jobs: &[String]) {
    let mut queued = HashSet::new();
    let mut ends: HashMap<Uuid, usize> = HashMap::new();
    let mut rendered: HashMap<Uuid, usize> = HashMap::new();
    let mut ready: HashMap<Uuid, usize> = HashMap::new();
    let mut images = Vec::new();
    for env in log {
        match &env.event {
            Event::JobQueued(q) => {
                queued.insert(q.job_id.0);
            }
            Event::JobFinished(f) => *ends.entry(f.job_id.0).or_default() += 1,
            Event::JobFailed(f) => *ends.entry(f.job_id.0).or_default() += 1,
            Event::JobCancelled(c) => *ends.entry(c.job_id.0).or_default() += 1,
            Event::CandidateRendered(c) => {
                *rendered.entry(c.candidate_id.0).or_default() += 1;
                images.push(c.artifact_hash.clone());
            }
            Event::RoundReady(r) => *ready.entry(r.round_id.0).or_default() += 1,
            _ => {}
        }
    }
    for id in jobs {
        let id: Uuid = id.parse().unwrap();
        assert!(
            queued.contains(&id),
            "acknowledged job {id} is not in the log"
        );
        assert_eq!(
            ends.get(&id),
            Some(&1),
            "job {id} ended {:?} times",
            ends.get(&id)
        );
    }
    assert!(
        rendered.values().all(|n| *n == 1),
        "a candidate rendered twice"
    );
    assert!(ready.values().all(|n| *n == 1), "a round readied twice");
    let artifacts = ArtifactStore::new(data);
    for hash in &images {
        assert_eq!(artifacts.check(hash), Ok(()), "artifact {hash}");
    }
    assert!(!images.is_empty(), "no round rendered at all");
}
