//! kill -9 of the real server in the middle of a session: after a restart every acknowledged
//! action is there, the job that was running is failed with the restart reason (not silently
//! lost), a queued job is resumed, and the session continues.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data: &std::path::Path, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stablesteering"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            data.to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(100));
        if ureq::get(&format!("http://127.0.0.1:{port}/api/health"))
            .call()
            .is_ok()
        {
            return child;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start");
}

fn call(method: &str, port: u16, path: &str, body: Option<Value>) -> (u16, Value) {
    let req = ureq::request(method, &format!("http://127.0.0.1:{port}{path}"))
        .timeout(Duration::from_secs(300));
    let result = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    match result {
        Ok(r) => {
            let status = r.status();
            (status, r.into_json().unwrap_or(Value::Null))
        }
        Err(ureq::Error::Status(status, r)) => (status, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

#[test]
fn kill_9_mid_session_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let port = free_port();
    let mut server = start(&data, port);

    let (status, created) = call(
        "POST",
        port,
        "/setup/session",
        Some(json!({
            "prompt": "a lighthouse at dusk",
            "config_yaml": "feedback_mode: winner_only\nimage_size: 64x64\nnum_inference_steps: 2\ncandidate_count: 3\n",
        })),
    );
    assert_eq!(status, 200, "{created}");
    let sid = created["session"]["id"].as_str().unwrap().to_string();
    let (status, round) = call("POST", port, &format!("/sessions/{sid}/rounds/next"), None);
    assert_eq!(status, 200, "{round}");
    let rid = round["round_id"].as_str().unwrap().to_string();
    let winner = round["candidate_metadata"][2]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, fb) = call(
        "POST",
        port,
        &format!("/rounds/{rid}/feedback"),
        Some(json!({"feedback_type": "winner_only", "payload": {"winner_candidate_id": winner}})),
    );
    assert_eq!(status, 200, "{fb}");
    let acked_z = fb["next_incumbent_state"].clone();

    // A long round, killed while it renders.
    let (_, slow) = call(
        "POST",
        port,
        "/setup/session",
        Some(json!({
            "prompt": "a slow render",
            "config_yaml": "image_size: 128x128\nnum_inference_steps: 100\ncandidate_count: 8\n",
        })),
    );
    let slow_sid = slow["session"]["id"]
        .as_str()
        .expect("slow session")
        .to_string();
    let (status, handle) = call(
        "POST",
        port,
        &format!("/sessions/{slow_sid}/rounds/next/async"),
        None,
    );
    assert_eq!(status, 202);
    let running_job = handle["job_id"].as_str().unwrap().to_string();
    for _ in 0..200 {
        let (_, job) = call("GET", port, &format!("/jobs/{running_job}"), None);
        if job["state"] == "running" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // A third session's round waits behind it in the queue (one render worker).
    let (_, waiting) = call(
        "POST",
        port,
        "/setup/session",
        Some(json!({
            "prompt": "a queued render",
            "config_yaml": "image_size: 64x64\nnum_inference_steps: 2\ncandidate_count: 2\n",
        })),
    );
    let waiting_sid = waiting["session"]["id"]
        .as_str()
        .expect("queued session")
        .to_string();
    let (status, queued) = call(
        "POST",
        port,
        &format!("/sessions/{waiting_sid}/rounds/next/async"),
        None,
    );
    assert_eq!(status, 202);
    let queued_job = queued["job_id"].as_str().unwrap().to_string();
    let (_, job) = call("GET", port, &format!("/jobs/{queued_job}"), None);
    assert_eq!(job["state"], "queued", "{job}");
    // SIGKILL: no shutdown hooks run.
    unsafe_kill(&mut server);

    let mut server = start(&data, port);
    // The acknowledged feedback and update are there.
    let (status, session) = call("GET", port, &format!("/sessions/{sid}"), None);
    assert_eq!(status, 200);
    assert_eq!(session["current_z"], acked_z);
    assert_eq!(session["incumbent_candidate_id"], winner.as_str());
    assert_eq!(session["status"], "ready");
    // The interrupted job is failed with the reason, and its session is free again.
    let (_, job) = call("GET", port, &format!("/jobs/{running_job}"), None);
    assert_eq!(job["state"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains("restart"), "{job}");
    let (_, slow_session) = call("GET", port, &format!("/sessions/{slow_sid}"), None);
    assert_eq!(slow_session["status"], "ready");
    // The queued job was resumed and ran.
    let mut resumed = Value::Null;
    for _ in 0..600 {
        resumed = call("GET", port, &format!("/jobs/{queued_job}"), None).1;
        if resumed["state"] == "succeeded" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(resumed["state"], "succeeded", "{resumed}");
    assert_eq!(resumed["runner_invocations"], 1);
    // The session continues: round 2 carries the acknowledged winner.
    let (status, round2) = call("POST", port, &format!("/sessions/{sid}/rounds/next"), None);
    assert_eq!(status, 200, "{round2}");
    assert_eq!(round2["round_index"], 2);
    assert_eq!(round2["candidate_metadata"][0]["sampler_role"], "incumbent");
    let _ = server.kill();
    let _ = server.wait();
}

fn unsafe_kill(child: &mut Child) {
    // std's kill() sends SIGKILL on Unix.
    child.kill().unwrap();
    child.wait().unwrap();
}
