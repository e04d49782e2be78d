//! `Idempotency-Key` across a restart: the answer of the first request is in the log, so a
//! client that retries after the server came back gets it again, and nothing is created twice.

use serde_json::{json, Value};

use crate::common::{free_port, start, stop};

fn create(port: u16, key: &str) -> (Value, Option<String>) {
    let response = ureq::post(&format!("http://127.0.0.1:{port}/setup/session"))
        .set("Idempotency-Key", key)
        .send_json(json!({"prompt": "a red circle", "config_yaml": "num_inference_steps: 2\n"}))
        .expect("create");
    let replayed = response.header("idempotent-replayed").map(str::to_string);
    (response.into_json().expect("json"), replayed)
}

fn sessions(port: u16) -> usize {
    let list: Value = ureq::get(&format!("http://127.0.0.1:{port}/api/sessions"))
        .call()
        .expect("list")
        .into_json()
        .expect("json");
    list.as_array().map_or(0, Vec::len)
}

#[test]
fn a_retry_after_a_restart_gets_the_first_answer() {
    let _serial = crate::common::serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let server = start(&data, port);
    let (first, replayed) = create(port, "retry-after-restart");
    assert_eq!(replayed, None);
    stop(server);

    let port = free_port();
    let server = start(&data, port);
    let (again, replayed) = create(port, "retry-after-restart");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(again["session"]["id"], first["session"]["id"]);
    assert_eq!(sessions(port), 1, "nothing created twice");
    stop(server);
}

/// A1111 options are events too: what a client set is still set after a restart.
#[test]
fn a1111_options_survive_a_restart() {
    let _serial = crate::common::serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let server = start(&data, port);
    ureq::post(&format!("http://127.0.0.1:{port}/sdapi/v1/options"))
        .send_json(json!({"CLIP_stop_at_last_layers": 2, "my_tool_setting": "kept"}))
        .expect("set options");
    stop(server);

    let port = free_port();
    let server = start(&data, port);
    let options: Value = ureq::get(&format!("http://127.0.0.1:{port}/sdapi/v1/options"))
        .call()
        .expect("options")
        .into_json()
        .expect("json");
    assert_eq!(options["CLIP_stop_at_last_layers"], 2, "{options}");
    assert_eq!(options["my_tool_setting"], "kept", "{options}");
    stop(server);
    crate::common::assert_store_verifies(&data, "after options");
}
