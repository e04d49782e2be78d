//! Everything the log references is in its care: `store verify` checks every referenced image
//! artifact (present, hashing to its name), and `store backup` / `restore` carry the artifacts
//! and traces with the events, so a restored data dir serves the same pictures.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{free_port, start, stop};

fn stablesteering(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stablesteering"))
        .args(args)
        .arg(data)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Serves `data`, renders one round of a session, and stops the server.
fn render_a_round(data: &Path) {
    let port = free_port();
    let server = start(data, port);
    let base = format!("http://127.0.0.1:{port}");
    let yaml = "num_inference_steps: 3\ncandidate_count: 4\n";
    let created: Value = ureq::post(&format!("{base}/setup/session"))
        .send_json(json!({"prompt": "a red circle", "config_yaml": yaml}))
        .unwrap()
        .into_json()
        .unwrap();
    let session = created["session"]["id"].as_str().unwrap().to_string();
    ureq::post(&format!("{base}/sessions/{session}/rounds/next"))
        .timeout(Duration::from_secs(300))
        .call()
        .unwrap();
    stop(server);
}

#[test]
fn verify_checks_artifacts_and_backups_carry_them() {
    let _serial = crate::common::serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    render_a_round(&data);
    let artifacts = data.join("artifacts");
    let on_disk = |root: &Path| {
        walk(root)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .count()
    };
    assert!(on_disk(&artifacts) >= 4, "the round's images are stored");

    let ok = stablesteering(&["store", "verify", "--data-dir"], &data);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(
        text(&ok).contains("referenced artifacts intact"),
        "{}",
        text(&ok)
    );

    // gc removes an artifact nothing references (a render whose event never landed) and keeps
    // every referenced one.
    let orphan_bytes = b"an image no event references";
    let orphan_hash = stablesteering::artifacts::content_hash(orphan_bytes);
    let orphan = artifacts
        .join(&orphan_hash[..2])
        .join(format!("{orphan_hash}.png"));
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, orphan_bytes).unwrap();
    let before = on_disk(&artifacts);
    let dry = stablesteering(&["store", "gc", "--dry-run", "--data-dir"], &data);
    assert!(text(&dry).contains("would remove 1 "), "{}", text(&dry));
    assert!(orphan.exists());
    let gc = stablesteering(&["store", "gc", "--data-dir"], &data);
    assert!(gc.status.success(), "{}", text(&gc));
    assert!(!orphan.exists(), "the orphan is collected");
    assert_eq!(on_disk(&artifacts), before - 1);
    let ok = stablesteering(&["store", "verify", "--data-dir"], &data);
    assert!(ok.status.success(), "after gc: {}", text(&ok));

    let backup = dir.path().join("data.bak");
    let out = Command::new(env!("CARGO_BIN_EXE_stablesteering"))
        .args(["store", "backup", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(&backup)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    // Damage: one image changed, then all deleted. Verify names the artifact and fails.
    let first = walk(&artifacts)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .unwrap();
    std::fs::write(&first, b"not the picture").unwrap();
    let damaged = stablesteering(&["store", "verify", "--data-dir"], &data);
    assert!(!damaged.status.success());
    assert!(text(&damaged).contains("is damaged"), "{}", text(&damaged));
    std::fs::remove_dir_all(&artifacts).unwrap();
    let missing = stablesteering(&["store", "verify", "--data-dir"], &data);
    assert!(!missing.status.success());
    assert!(text(&missing).contains("is missing"), "{}", text(&missing));
    assert_eq!(
        text(&missing).lines().count(),
        1,
        "one line: {}",
        text(&missing)
    );

    // The backup (taken before the damage) restores events, images and traces.
    let restored = dir.path().join("restored");
    let out = Command::new(env!("CARGO_BIN_EXE_stablesteering"))
        .args(["store", "restore", "--from"])
        .arg(&backup)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let ok = stablesteering(&["store", "verify", "--data-dir"], &restored);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(on_disk(&restored.join("artifacts")) >= 4);
    let traces = |root: &Path| walk(&root.join("traces")).len();
    assert_eq!(traces(&restored), traces(&data), "trace files restored");
    assert!(traces(&restored) > 0);

    // A backup of the damaged dir is refused rather than silently missing the images.
    let out = Command::new(env!("CARGO_BIN_EXE_stablesteering"))
        .args(["store", "backup", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(dir.path().join("damaged.bak"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("is missing"), "{}", text(&out));
}

fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}
