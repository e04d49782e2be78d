//! A bounded loopback load test of the real server (issue 15): 32 clients for
//! `STABLESTEERING_LOAD_SECS` seconds (default 60) create sessions, render rounds, give
//! feedback and read pages and lists. No answer may be a 5xx. Then the server is stopped,
//! `store verify` must pass, and after a restart every acknowledged session and feedback is
//! there. Latencies (p50 / p99 per kind of request) are printed for docs/BENCHMARKS.md.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{free_port, start, stop};

const CLIENTS: usize = 32;

/// One answer: status and body (transport errors are status 0).
fn call(method: &str, url: &str, body: Option<&Value>) -> (u16, Value) {
    let request = ureq::request(method, url).timeout(Duration::from_secs(120));
    let result = match body {
        Some(b) => request.send_json(b.clone()),
        None => request.call(),
    };
    match result {
        Ok(r) => {
            let status = r.status();
            (status, r.into_json().unwrap_or(Value::Null))
        }
        Err(ureq::Error::Status(status, r)) => (status, r.into_json().unwrap_or(Value::Null)),
        Err(_) => (0, Value::Null),
    }
}

#[derive(Default)]
struct Tally {
    latencies: BTreeMap<&'static str, Vec<f64>>,
    server_errors: Vec<String>,
    sessions: Vec<String>,
    /// (session, round) pairs whose feedback was acknowledged.
    feedback: Vec<(String, String)>,
}

struct Client {
    base: String,
    tally: Arc<Mutex<Tally>>,
}

impl Client {
    fn timed(
        &self,
        kind: &'static str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let started = Instant::now();
        let (status, answer) = call(method, &format!("{}{path}", self.base), body);
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let mut tally = self.tally.lock().unwrap();
        tally.latencies.entry(kind).or_default().push(ms);
        if status >= 500 || status == 0 {
            tally
                .server_errors
                .push(format!("{method} {path}: {status} {answer}"));
        }
        (status, answer)
    }

    fn create_session(&self, n: usize) -> Option<String> {
        let body = json!({"prompt": format!("a red circle {n}"),
                          "config_yaml": "feedback_mode: winner_only\nnum_inference_steps: 2\ncandidate_count: 4\n"});
        let (status, answer) = self.timed("create session", "POST", "/setup/session", Some(&body));
        let id = answer["session"]["id"].as_str().map(str::to_string);
        if status == 200 {
            self.tally.lock().unwrap().sessions.extend(id.clone());
        }
        id
    }

    /// Renders a round (the sync route; a 202 is waited out on `/jobs/{id}`) and returns its
    /// id and first candidate.
    fn round(&self, session: &str) -> Option<(String, String)> {
        let (status, mut answer) = self.timed(
            "round",
            "POST",
            &format!("/sessions/{session}/rounds/next"),
            None,
        );
        if status == 202 {
            let job = answer["job_id"].as_str()?.to_string();
            for _ in 0..1200 {
                let (_, record) = self.timed("read", "GET", &format!("/jobs/{job}"), None);
                if record["state"] == "succeeded" {
                    answer = record["result"].clone();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        } else if status != 200 {
            return None;
        }
        let round = answer["round_id"].as_str()?.to_string();
        let candidate = answer["candidate_metadata"][0]["id"].as_str()?.to_string();
        Some((round, candidate))
    }

    fn run(&self, index: usize, until: Instant) {
        let mut session = self.create_session(index);
        let mut n = 0;
        while Instant::now() < until {
            n += 1;
            if n % 5 == 0 {
                session = self.create_session(index * 1000 + n).or(session);
            }
            if let Some(sid) = session.clone() {
                if let Some((round, winner)) = self.round(&sid) {
                    let feedback = json!({"feedback_type": "winner_only",
                                          "payload": {"winner_candidate_id": winner}});
                    let (status, _) = self.timed(
                        "feedback",
                        "POST",
                        &format!("/rounds/{round}/feedback"),
                        Some(&feedback),
                    );
                    if status == 200 {
                        self.tally
                            .lock()
                            .unwrap()
                            .feedback
                            .push((sid.clone(), round));
                    }
                }
                self.timed("read", "GET", &format!("/sessions/{sid}"), None);
            }
            self.timed("read", "GET", "/api/sessions", None);
            self.timed("read", "GET", "/api/health", None);
            self.timed("read", "GET", "/api/jobs?limit=20", None);
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[test]
fn thirty_two_clients_get_no_server_error_and_lose_nothing() {
    let _serial = crate::common::serial();
    let secs: u64 = std::env::var("STABLESTEERING_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let server = start(&data, port);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let until = Instant::now() + Duration::from_secs(secs);
    let workers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let client = Client {
                base: format!("http://127.0.0.1:{port}"),
                tally: Arc::clone(&tally),
            };
            std::thread::spawn(move || client.run(i, until))
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    stop(server);

    let tally = tally.lock().unwrap();
    let mut summary = Vec::new();
    for (kind, values) in &tally.latencies {
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        summary.push(format!(
            "{kind}: {} requests, p50 {:.0} ms, p99 {:.0} ms",
            sorted.len(),
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99)
        ));
    }
    eprintln!(
        "load test, {CLIENTS} clients, {secs} s:\n  {}",
        summary.join("\n  ")
    );
    assert!(
        tally.server_errors.is_empty(),
        "{} server errors, first: {:?}",
        tally.server_errors.len(),
        tally.server_errors.first()
    );
    assert!(
        tally.feedback.len() >= CLIENTS,
        "too little work got done: {summary:?}"
    );

    crate::common::assert_store_verifies(&data, "after the load");

    let port = free_port();
    let mut server = start(&data, port);
    let base = format!("http://127.0.0.1:{port}");
    for sid in &tally.sessions {
        let (status, _) = call("GET", &format!("{base}/sessions/{sid}"), None);
        assert_eq!(status, 200, "acknowledged session {sid} is gone");
    }
    let mut replays: BTreeMap<&str, Value> = BTreeMap::new();
    for (sid, round) in &tally.feedback {
        let replay = replays
            .entry(sid.as_str())
            .or_insert_with(|| call("GET", &format!("{base}/sessions/{sid}/replay"), None).1);
        let kept = replay["rounds"].as_array().is_some_and(|rounds| {
            rounds.iter().any(|r| {
                r["id"] == round.as_str()
                    && r["feedback_events"]
                        .as_array()
                        .is_some_and(|f| !f.is_empty())
            })
        });
        assert!(
            kept,
            "acknowledged feedback on round {round} of {sid} is gone"
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}
