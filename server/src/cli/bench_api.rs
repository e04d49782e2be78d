//! `stablesteering bench api`: a loopback load test of the real server (the bundled tiny model on
//! the CPU): concurrent sessions doing the whole loop (generate → feedback) for many rounds, then
//! read-heavy GETs. Reports throughput, p50/p99 latency, and the per-round *server overhead*
//! (request latency minus the time the runner spent rendering) at the first and last rounds —
//! the reference grows from ~8 ms to ~60 ms by round 30; ours must stay flat.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value};

use super::Failure;
use crate::serve::{EngineArgs, ServeArgs};

/// Options of `bench api`.
#[derive(Debug, Clone, Args)]
pub struct ApiBenchArgs {
    /// Concurrent sessions.
    #[arg(long, default_value_t = 4)]
    pub sessions: usize,
    /// Rounds per session.
    #[arg(long, default_value_t = 300)]
    pub rounds: usize,
    /// GET requests in the read phase (spread over the sessions' threads).
    #[arg(long, default_value_t = 4000)]
    pub reads: usize,
    /// Print the report as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

fn free_port() -> Result<u16, Failure> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

pub(crate) fn call(method: &str, url: &str, body: Option<Value>) -> Result<(Value, f64), String> {
    let started = Instant::now();
    let req = ureq::request(method, url).timeout(Duration::from_secs(600));
    let response = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    }
    .map_err(|e| format!("{method} {url}: {e}"))?;
    let value: Value = response.into_json().unwrap_or(Value::Null);
    Ok((value, started.elapsed().as_secs_f64() * 1e3))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub(crate) fn summary(mut xs: Vec<f64>) -> Value {
    xs.sort_by(f64::total_cmp);
    let mean = xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    json!({"n": xs.len(), "mean_ms": mean, "p50_ms": percentile(&xs, 50.0), "p99_ms": percentile(&xs, 99.0)})
}

/// Per round: (generate latency, render + queue wait ms, feedback latency).
type RoundTimes = (f64, f64, f64);
/// A session's id and its rounds.
type SessionTimes = (String, Vec<RoundTimes>);

/// One session's loop: per round, (generate latency, render + queue wait ms, feedback latency).
pub(crate) fn session_loop(
    base: &str,
    rounds: usize,
    index: usize,
) -> Result<SessionTimes, String> {
    let (created, _) = call(
        "POST",
        &format!("{base}/setup/session"),
        Some(json!({
            "experiment_name": format!("bench {index}"),
            "prompt": format!("bench prompt {index}"),
            "config_yaml": "feedback_mode: winner_only\nimage_size: 64x64\nnum_inference_steps: 1\ncandidate_count: 3\n",
        })),
    )?;
    let sid = created["session"]["id"]
        .as_str()
        .ok_or("no session id")?
        .to_string();
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let (round, generate_ms) =
            call("POST", &format!("{base}/sessions/{sid}/rounds/next"), None)?;
        let rid = round["round_id"].as_str().ok_or("no round id")?;
        let winner = round["candidate_metadata"][1]["id"].clone();
        let (session, _) = call("GET", &format!("{base}/sessions/{sid}"), None)?;
        let _ = session;
        let (replay_job, _) = call(
            "GET",
            &format!("{base}/api/jobs?session_id={sid}&limit=1"),
            None,
        )?;
        // Rendering and waiting behind other sessions' renders are not server overhead.
        let render_ms = replay_job[0]["result"]["timings"]
            .as_array()
            .and_then(|t| t.iter().find(|x| x["name"] == "total"))
            .and_then(|x| x["ms"].as_f64())
            .unwrap_or(0.0)
            + replay_job[0]["queue_wait_ms"].as_f64().unwrap_or(0.0);
        let (_, feedback_ms) = call(
            "POST",
            &format!("{base}/rounds/{rid}/feedback"),
            Some(
                json!({"feedback_type": "winner_only", "payload": {"winner_candidate_id": winner}}),
            ),
        )?;
        out.push((generate_ms, render_ms, feedback_ms));
    }
    Ok((sid, out))
}

/// Starts the real server (tiny model, CPU, the site found as `serve` finds it) on a free loopback port
/// with a fresh data dir; answers its base URL and the data dir to remove afterwards.
pub(crate) fn start_server(name: &str) -> Result<(String, PathBuf), Failure> {
    start_server_with(name, None)
}

/// [`start_server`] with a model folder (`None`: the built-in demo model).
pub(crate) fn start_server_with(
    name: &str,
    model: Option<PathBuf>,
) -> Result<(String, PathBuf), Failure> {
    let data = std::env::temp_dir().join(format!(
        "stablesteering-bench-{name}-{}",
        uuid::Uuid::now_v7()
    ));
    let port = free_port()?;
    let serve_args = ServeArgs {
        data_dir: data.clone(),
        store: None,
        addr: format!("127.0.0.1:{port}")
            .parse()
            .map_err(|e| format!("{e}"))?,
        site_root: None,
        engine: EngineArgs {
            device: engine::DeviceRequest::Cpu,
            model,
            precision: engine::runtime::Precision::F32,
        },
        render_concurrency: 1,
        allowed_host: Vec::new(),
        allowed_origin: Vec::new(),
        // The benchmark measures the server, not its defence against floods.
        rate_limit: 0,
        auth: crate::http::auth::AuthMode::None,
        api_auth: None,
        secure_cookie: false,
    };
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        let _ = runtime.block_on(crate::serve::serve(serve_args));
    });
    let base = format!("http://127.0.0.1:{port}");
    let ready = (0..600).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        ureq::get(&format!("{base}/api/health")).call().is_ok()
    });
    if !ready {
        return Err(format!("bench {name}: the server did not start").into());
    }
    Ok((base, data))
}

/// Runs the benchmark.
pub fn run(args: ApiBenchArgs) -> Result<(), Failure> {
    let (base, data) = start_server("api")?;

    let started = Instant::now();
    let results: Vec<Result<SessionTimes, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.sessions)
            .map(|i| {
                let base = base.clone();
                scope.spawn(move || session_loop(&base, args.rounds, i))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let loop_s = started.elapsed().as_secs_f64();
    let mut sessions = Vec::new();
    let mut rounds = Vec::new();
    for r in results {
        let (sid, per_round) = r.map_err(|e| format!("bench api: {e}"))?;
        sessions.push(sid);
        rounds.push(per_round);
    }
    let overhead = |range: std::ops::Range<usize>| -> Vec<f64> {
        rounds
            .iter()
            .flat_map(|r| {
                r[range.clone()]
                    .iter()
                    .map(|(g, render, f)| (g - render).max(0.0) + f)
            })
            .collect()
    };
    let n = args.rounds;
    let window = 5.min(n);
    let first = summary(overhead(0..window));
    let last = summary(overhead(n - window..n));
    let generate = summary(rounds.iter().flatten().map(|(g, _, _)| *g).collect());
    let feedback = summary(rounds.iter().flatten().map(|(_, _, f)| *f).collect());
    let loop_requests = (args.sessions * n * 4) as f64;

    // Read phase: session state, job list and replay of long sessions, from all threads.
    let per_thread = args.reads / args.sessions.max(1);
    let read_started = Instant::now();
    let reads: Vec<Result<Vec<f64>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sessions
            .iter()
            .map(|sid| {
                let base = base.clone();
                scope.spawn(move || {
                    let mut lat = Vec::with_capacity(per_thread);
                    for i in 0..per_thread {
                        let path = match i % 4 {
                            0 | 1 => format!("/sessions/{sid}"),
                            2 => format!("/api/jobs?session_id={sid}&limit=20"),
                            _ => "/api/health".to_string(),
                        };
                        lat.push(call("GET", &format!("{base}{path}"), None)?.1);
                    }
                    Ok(lat)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let read_s = read_started.elapsed().as_secs_f64();
    let mut read_lat = Vec::new();
    for r in reads {
        read_lat.extend(r.map_err(|e| format!("bench api: {e}"))?);
    }
    let reads_done = read_lat.len();
    let (replay, replay_ms) = call(
        "GET",
        &format!("{base}/sessions/{}/replay", sessions[0]),
        None,
    )
    .map_err(|e| format!("bench api: {e}"))?;
    let report = json!({
        "sessions": args.sessions,
        "rounds_per_session": n,
        "loop": {
            "seconds": loop_s,
            "requests_per_s": loop_requests / loop_s,
            "rounds_per_s": (args.sessions * n) as f64 / loop_s,
            "generate_sync": generate,
            "feedback": feedback,
        },
        "server_overhead_per_round": {
            "first_rounds": first,
            "last_rounds": last,
            "window": window,
        },
        "reads": {
            "requests": reads_done,
            "seconds": read_s,
            "requests_per_s": reads_done as f64 / read_s,
            "latency": summary(read_lat),
        },
        "replay_of_longest_session_ms": replay_ms,
        "replay_rounds": replay["rounds"].as_array().map_or(0, Vec::len),
    });
    println!(
        "bench api: {} sessions × {} rounds on the tiny model (CPU), then {} GETs",
        args.sessions, n, reads_done
    );
    println!("  loop: {:.1} rounds/s, {:.0} requests/s; generate p50 {:.1} ms p99 {:.1} ms; feedback p50 {:.2} ms p99 {:.2} ms",
        report["loop"]["rounds_per_s"].as_f64().unwrap_or(0.0), report["loop"]["requests_per_s"].as_f64().unwrap_or(0.0),
        generate["p50_ms"].as_f64().unwrap_or(0.0), generate["p99_ms"].as_f64().unwrap_or(0.0),
        feedback["p50_ms"].as_f64().unwrap_or(0.0), feedback["p99_ms"].as_f64().unwrap_or(0.0));
    println!("  server overhead per round (generate − render + feedback): rounds 1–{window}: mean {:.2} ms p99 {:.2} ms; rounds {}–{n}: mean {:.2} ms p99 {:.2} ms",
        first["mean_ms"].as_f64().unwrap_or(0.0), first["p99_ms"].as_f64().unwrap_or(0.0), n - window + 1,
        last["mean_ms"].as_f64().unwrap_or(0.0), last["p99_ms"].as_f64().unwrap_or(0.0));
    println!("  reads: {:.0} requests/s, p50 {:.2} ms p99 {:.2} ms; replay of a {}-round session {:.1} ms",
        report["reads"]["requests_per_s"].as_f64().unwrap_or(0.0),
        report["reads"]["latency"]["p50_ms"].as_f64().unwrap_or(0.0), report["reads"]["latency"]["p99_ms"].as_f64().unwrap_or(0.0),
        report["replay_rounds"], replay_ms);
    if args.json {
        println!("{report}");
    }
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
