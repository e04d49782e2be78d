//! The command line's contract for bad input: one clear line on stderr, a non-zero exit, and
//! no half-created data directory.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

fn stablesteering(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stablesteering"))
        .args(args)
        .env_remove("STABLESTEERING_DATA_DIR")
        .env_remove("STABLESTEERING_MODEL")
        .env("RUST_LOG", "off")
        .output()
        .expect("binary runs")
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn unknown_flag_is_one_line_and_exit_2() {
    let out = stablesteering(&["serve", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("--no-such-flag"), "{lines:?}");
}

#[test]
fn bad_device_is_one_line() {
    let out = stablesteering(&["serve", "--device", "tpu"]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("tpu"), "{lines:?}");
}

#[test]
fn unwritable_data_dir_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let data = file.join("data");
    let port = free_port();
    let out = stablesteering(&[
        "serve",
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("data dir"), "{lines:?}");
    assert!(!data.exists());
}

#[test]
fn busy_port_fails_without_creating_the_data_dir() {
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = stablesteering(&[
        "serve",
        "--addr",
        &addr.to_string(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("already in use"), "{lines:?}");
    assert!(!data.exists(), "no data dir left behind");
    drop(holder);
}

#[test]
fn serve_answers_health_json() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let port = free_port();
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
        .env("XDG_CACHE_HOME", tmp.path().join("cache"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let body = (0..100).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        http_get(port, "/api/health")
    });
    let _ = child.kill();
    let _ = child.wait();
    let body = body.expect("health answered");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["engine"]["device"], "cpu");
    assert_eq!(json["store"]["status"], "open");
    assert!(json["data_dir"].as_str().unwrap().ends_with("data"));
    // Without --model the demo model built into the binary serves, unpacked into the cache,
    // and the report says so.
    assert_eq!(
        json["engine"]["model"]["name"],
        engine::demo_model::DEMO_MODEL_NAME
    );
    let model_dir = std::path::PathBuf::from(json["engine"]["model"]["dir"].as_str().unwrap());
    assert!(
        model_dir.starts_with(tmp.path().join("cache")),
        "{model_dir:?}"
    );
    assert_eq!(json["engine"]["model"]["demo"], true);
    assert!(json["engine"]["model"]["notice"]
        .as_str()
        .unwrap()
        .contains("--model"));
}

/// The tiny SD-1 test model of the checkout (the render tests' expectations name it).
fn tiny_model() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../engine/models/tiny-sd1").to_string()
}

/// The PNG text chunks (`keyword`, `text`) of a file.
fn png_text(bytes: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 8;
    while i + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        if &bytes[i + 4..i + 8] == b"tEXt" {
            let data = &bytes[i + 8..i + 8 + len];
            let nul = data.iter().position(|&b| b == 0).unwrap();
            out.push((
                String::from_utf8_lossy(&data[..nul]).into_owned(),
                String::from_utf8_lossy(&data[nul + 1..]).into_owned(),
            ));
        }
        i += 12 + len;
    }
    out
}

#[test]
fn render_writes_a_png_with_its_parameters_and_is_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let render = |name: &str, seed: &str| {
        let out_path = tmp.path().join(name);
        let out = stablesteering(&[
            "render",
            "--model",
            &tiny_model(),
            "--prompt",
            "a red fox",
            "--negative-prompt",
            "blurry",
            "--scheduler",
            "euler-a",
            "--steps",
            "4",
            "--seed",
            seed,
            "--device",
            "cpu",
            "--out",
            out_path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            stdout.contains("runner runs 1"),
            "the CLI renders through the runner once: {stdout}"
        );
        std::fs::read(out_path).unwrap()
    };
    let a = render("a.png", "42");
    let b = render("b.png", "42");
    let c = render("c.png", "43");
    assert_eq!(a, b, "the same seed gives the same bytes");
    assert_ne!(a, c, "another seed gives another image");
    assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
    let text = png_text(&a);
    let parameters = &text
        .iter()
        .find(|(k, _)| k == "parameters")
        .expect("parameters chunk")
        .1;
    assert!(
        parameters.starts_with("a red fox\nNegative prompt: blurry\nSteps: 4, Sampler: Euler a"),
        "{parameters}"
    );
    assert!(
        parameters.contains("Seed: 42, Size: 64x64, Model: tiny-sd1"),
        "{parameters}"
    );
    // Our chunk carries the sealed settings snapshot; its hash is the hash of its JSON.
    let ours: serde_json::Value = serde_json::from_str(
        &text
            .iter()
            .find(|(k, _)| k == "stablesteering")
            .expect("stablesteering chunk")
            .1,
    )
    .unwrap();
    assert_eq!(ours["format"], "stablesteering.image/1");
    assert_eq!(ours["snapshot"]["kind"], "cli");
    assert_eq!(ours["seed"], 42);
    let json = serde_json::to_string(&ours["snapshot"]).unwrap();
    assert_eq!(
        ours["snapshot_hash"],
        stablesteering::artifacts::content_hash(json.as_bytes())
    );
}

#[test]
fn render_with_bad_input_is_one_line_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("x.png");
    let out_arg = out_path.to_str().unwrap();
    for (args, code, needle) in [
        (
            vec!["--model", "/nonexistent", "--prompt", "x"],
            1,
            "not a Stable Diffusion model folder",
        ),
        (
            vec!["--model", &tiny_model(), "--prompt", "x", "--steps", "0"],
            1,
            "steps",
        ),
        (
            vec!["--model", &tiny_model(), "--prompt", "x", "--width", "30"],
            1,
            "width",
        ),
        (
            vec![
                "--model",
                &tiny_model(),
                "--prompt",
                "x",
                "--scheduler",
                "heun",
            ],
            2,
            "heun",
        ),
        (
            vec![
                "--model",
                &tiny_model(),
                "--prompt",
                "x",
                "--init-latents",
                "nofile",
            ],
            1,
            "init-latents",
        ),
    ] {
        let mut full = vec!["render"];
        full.extend(args.iter().copied());
        full.extend(["--out", out_arg, "--device", "cpu"]);
        let out = stablesteering(&full);
        assert_eq!(out.status.code(), Some(code), "{full:?}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains(needle), "{lines:?}");
        assert!(!out_path.exists());
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.0 GET so the test needs no client crate.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let (head, body) = buf.split_once("\r\n\r\n")?;
    let status_ok = head.lines().next()?.split_whitespace().nth(1) == Some("200");
    status_ok.then(|| body.to_string())
}

fn stablesteering_with_stdin(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_stablesteering"))
        .args(args)
        .env("RUST_LOG", "off")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn steer_seed_token_matches_the_reference() {
    let out = stablesteering(&["steer", "seed-token", "ses_test", "1", "sampler"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1301792348");
}

#[test]
fn steer_propose_reproduces_the_reference_golden() {
    let request = r#"{"sampler":"exploit_orthogonal","current_z":[0,0,0,0,0],"round_index":0,
        "candidate_count":5,"trust_radius":0.55,"seed":12345}"#;
    let out = stablesteering_with_stdin(&["steer", "propose"], request);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &json["candidates"][0];
    assert_eq!(first["role"], "exploit");
    let z: Vec<f64> = serde_json::from_value(first["z"].clone()).unwrap();
    let golden = [0.170688, 0.038831, -0.033581, 0.066321, -0.001056];
    for (a, b) in z.iter().zip(golden) {
        assert!((a - b).abs() < 1e-6, "{z:?}");
    }
}

#[test]
fn steer_update_with_invalid_feedback_exits_2() {
    let request = r#"{"updater":"winner_average","current_z":[0,0],"trust_radius":0.5,
        "candidates":[{"id":"a","z":[0.1,0],"carried_forward":false},{"id":"b","z":[0,0.1],"carried_forward":false}],
        "feedback":{"feedback_type":"scalar_rating","payload":{"ratings":{"a":9}}}}"#;
    let out = stablesteering_with_stdin(&["steer", "update"], request);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("ratings"), "{lines:?}");
}

#[test]
fn steer_update_moves_toward_the_winner() {
    let request = r#"{"updater":"winner_average","current_z":[0,0],"trust_radius":0.5,
        "candidates":[{"id":"a","z":[0.2,0],"carried_forward":false},{"id":"b","z":[0,0.2],"carried_forward":false}],
        "feedback":{"feedback_type":"winner_only","payload":{"winner_candidate_id":"b"}}}"#;
    let out = stablesteering_with_stdin(&["steer", "update"], request);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["winner_candidate_id"], "b");
    assert_eq!(json["next_z"], serde_json::json!([0.0, 0.1]));
}

#[test]
fn bench_oracle_quick_prints_json_last() {
    let out = stablesteering(&[
        "bench",
        "oracle",
        "--quick",
        "--json",
        "--samplers",
        "exploit_orthogonal",
        "--updaters",
        "winner_average",
        "--modes",
        "winner_only",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap();
    let json: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(json["cells"].as_array().unwrap().len(), 1);
    let unknown = stablesteering(&["bench", "oracle", "--samplers", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr_lines(&unknown)[0].contains("valid:"));
}

#[test]
fn a_network_address_without_auth_is_refused_and_tokens_are_made_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = data.to_str().unwrap();
    let out = stablesteering(&["serve", "--addr", "0.0.0.0:0", "--data-dir", dir]);
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("--auth token"), "{lines:?}");
    assert!(!data.exists(), "no data dir left behind");
    let out = stablesteering(&["serve", "--api-auth", "a:longenough", "--data-dir", dir]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_lines(&out)[0].contains("--auth token"));

    let out = stablesteering(&[
        "token",
        "add",
        "--data-dir",
        dir,
        "--user",
        "alice",
        "--label",
        "laptop",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(secret.starts_with("sst_") && secret.len() == 68, "{secret}");
    let out = stablesteering(&["token", "list", "--data-dir", dir]);
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed.contains("laptop") && listed.contains("live"),
        "{listed}"
    );
    assert!(!listed.contains(&secret));
    let id = listed.split_whitespace().next().unwrap().to_string();
    let out = stablesteering(&["token", "revoke", "--data-dir", dir, "--id", &id]);
    assert!(out.status.success());
    let out = stablesteering(&["token", "revoke", "--data-dir", dir, "--id", &id]);
    assert_eq!(out.status.code(), Some(1), "revoking twice is an error");
    assert_eq!(stderr_lines(&out).len(), 1);
}

#[test]
fn user_add_reads_the_password_from_stdin_and_refuses_a_short_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = data.to_str().unwrap();
    let args = ["user", "add", "--data-dir", dir, "--user", "ada"];
    let out = stablesteering_with_stdin(&args, "short\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_lines(&out)[0].contains("password"));
    let out = stablesteering_with_stdin(&args, "a long enough secret\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("password set for ada"));
}

#[test]
fn an_unreachable_postgresql_store_is_one_line_and_serves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let url = format!(
        "postgres://nobody:secret@/stablesteering?host={}",
        tmp.path().join("no-socket-here").display()
    );
    let port = free_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    let out = stablesteering(&[
        "serve",
        "--store",
        &url,
        "--data-dir",
        data.to_str().unwrap(),
        "--addr",
        &addr,
    ]);
    assert_ne!(out.status.code(), Some(0));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("cannot reach PostgreSQL"), "{lines:?}");
    assert!(
        !lines[0].contains("secret"),
        "the password leaked: {lines:?}"
    );
    let out = stablesteering(&["store", "migrate", "--from", data.to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing --to"),
        "{:?}",
        stderr_lines(&out)
    );
}

/// `serve --render-concurrency 0` renders nothing, so it needs workers on a shared database;
/// a worker needs that database. Both refusals are one line, and nothing is created.
#[test]
fn render_workers_need_a_postgresql_store_one_line_each() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let addr = format!("127.0.0.1:{}", free_port());
    let out = stablesteering(&[
        "serve",
        "--render-concurrency",
        "0",
        "--data-dir",
        data.to_str().unwrap(),
        "--addr",
        &addr,
    ]);
    assert_ne!(out.status.code(), Some(0));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("--render-concurrency 0"), "{lines:?}");
    assert!(!data.exists(), "a refused serve created its data dir");

    let out = stablesteering(&[
        "worker",
        "--store",
        "/var/lib/sled",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(0));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("postgres://"), "{lines:?}");
    let url = format!(
        "postgres://nobody:secret@/stablesteering?host={}",
        tmp.path().join("no-socket-here").display()
    );
    let out = stablesteering(&[
        "worker",
        "--store",
        &url,
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(0));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("cannot reach PostgreSQL"), "{lines:?}");
    assert!(
        !lines[0].contains("secret"),
        "the password leaked: {lines:?}"
    );
    assert!(!data.exists(), "a refused worker created its data dir");
}

/// A pickle checkpoint is refused by name (unpickling runs code); a single-file
/// `.safetensors` says it is not loaded yet and how to convert it. One line each.
#[test]
fn single_file_models_get_a_one_line_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for (name, says) in [("sd15.ckpt", "pickle"), ("sd15.safetensors", "single-file")] {
        let file = tmp.path().join(name);
        std::fs::write(&file, b"not really a model").unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let out = stablesteering(&[
            "serve",
            "--model",
            file.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--addr",
            &addr,
        ]);
        assert_ne!(out.status.code(), Some(0));
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains(says), "{lines:?}");
        assert!(!data.exists());
    }
}
