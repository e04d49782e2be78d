//! SIGTERM during a long render: the process exits within seconds (the render stops at its
//! next step instead of running on for minutes), the store is released and verifies, and after
//! a restart the job reads as interrupted by the shutdown, ready to be retried.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{free_port, start};

fn jobs(port: u16) -> Vec<Value> {
    let body: Value = ureq::get(&format!("http://127.0.0.1:{port}/api/jobs"))
        .call()
        .expect("GET /api/jobs")
        .into_json()
        .expect("json");
    body.get("jobs")
        .and_then(Value::as_array)
        .or_else(|| body.as_array())
        .cloned()
        .unwrap_or_default()
}

#[test]
fn sigterm_stops_a_running_render_and_releases_the_store() {
    let _serial = crate::common::serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut server = start(&data, port);
    // A quick render first: its proof of one render must survive the restart.
    ureq::post(&format!("http://127.0.0.1:{port}/sdapi/v1/txt2img"))
        .send_json(json!({"prompt": "a blue square", "steps": 2}))
        .expect("quick txt2img");
    // A render that takes minutes on the CPU, in short steps so the cancel lands within the
    // grace (the demo model at 384x384, 150 steps), sent from a thread because txt2img answers
    // only when it is done.
    let url = format!("http://127.0.0.1:{port}/sdapi/v1/txt2img");
    std::thread::spawn(move || {
        let _ = ureq::post(&url)
            .timeout(Duration::from_secs(600))
            .send_json(
                json!({"prompt": "a red circle", "width": 384, "height": 384, "steps": 150}),
            );
    });
    let running = (0..300).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        jobs(port).iter().any(|j| j["state"] == "running")
    });
    assert!(running, "the render never started");
    std::thread::sleep(Duration::from_millis(500));

    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(20),
            "the server was still running 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = signalled.elapsed();
    assert!(exited.success(), "exit status {exited:?}");
    assert!(took < Duration::from_secs(10), "exit took {took:?}");

    // The store lock is released: verify opens it.
    crate::common::assert_store_verifies(&data, "after the shutdown");

    // After a restart the job is failed as interrupted by the shutdown (retryable), not lost
    // and not "cancelled" by a person.
    let port = free_port();
    let mut server = start(&data, port);
    let all = jobs(port);
    let quick = all
        .iter()
        .find(|j| j["state"] == "succeeded")
        .unwrap_or_else(|| panic!("no finished job in {all:?}"));
    assert_eq!(quick["runner_invocations"], 1, "{quick}");
    let job = all
        .iter()
        .find(|j| j["operation"] == "txt2img" && j["state"] != "succeeded")
        .unwrap_or_else(|| panic!("no interrupted txt2img job in {all:?}"));
    assert_eq!(job["state"], "failed", "{job}");
    let reason = job.to_string();
    assert!(reason.contains("shut down"), "{job}");
    let _ = server.kill();
    let _ = server.wait();
}
