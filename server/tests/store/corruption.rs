//! Corruption on copies of a data directory: flip a byte, truncate, zero a 4 KiB page (mostly
//! in sled's `db` file, sometimes in its other files or the manifest). Every outcome must be
//! either a clean refusal or an intact store (every event and every projection identical) —
//! never a silently truncated log, never a panic, never a hang. Refusals name the data dir; the
//! `store verify` CLI exits 2 on them.
//!
//! Trials: 240 by default (`STORE_CORRUPTION_TRIALS` for more; `STORE_CORRUPTION_SESSIONS`
//! for a bigger log spanning several sled segments).

use std::path::{Path, PathBuf};
use std::time::Duration;

use stablesteering::store::devtools::workload::Rng;
use stablesteering::store::*;

#[derive(Debug, Clone, Copy)]
enum Damage {
    Flip,
    Truncate,
    ZeroPage,
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(files(&e.path()));
        } else if e.metadata().unwrap().len() > 0 {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

fn damage(path: &Path, kind: Damage, rng: &mut Rng) {
    let mut bytes = std::fs::read(path).unwrap();
    let len = bytes.len() as u64;
    match kind {
        Damage::Flip => {
            let p = rng.below(len) as usize;
            bytes[p] ^= 1 << rng.below(8);
        }
        Damage::Truncate => {
            let n = rng.below(len) as usize;
            bytes.truncate(n);
        }
        Damage::ZeroPage => {
            let page = rng.below(len.div_ceil(4096)) as usize * 4096;
            let end = (page + 4096).min(bytes.len());
            bytes[page..end].fill(0);
        }
    }
    std::fs::write(path, bytes).unwrap();
}

enum Outcome {
    Intact,
    Refused(String),
}

fn open_with_watchdog(dir: PathBuf, expected: (Vec<Envelope>, u64)) -> Result<Outcome, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(move || {
            match SledStore::open(&dir, crate::common::options()) {
                Err(e) => Ok(Outcome::Refused(e.to_string())),
                Ok(store) => {
                    let events = store
                        .log_events(0, usize::MAX)
                        .map_err(|e| format!("read after open failed: {e}"))?;
                    let fp = store.projections_snapshot().fingerprint();
                    store.close();
                    if events == expected.0 && fp == expected.1 {
                        Ok(Outcome::Intact)
                    } else {
                        Err(format!(
                        "SILENT DAMAGE: opened with {} events (expected {}), projections equal: {}",
                        events.len(),
                        expected.0.len(),
                        fp == expected.1
                    ))
                    }
                }
            }
        });
        let _ = tx.send(r.unwrap_or_else(|_| Err("PANIC escaped the store".to_string())));
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| Err("HANG: open did not finish in 60 s".into()))
}

#[test]
fn corruption_is_refused_or_harmless() {
    let trials: usize = std::env::var("STORE_CORRUPTION_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(240);
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let expected = {
        let store = crate::common::open(&original);
        let sessions = std::env::var("STORE_CORRUPTION_SESSIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(6);
        crate::common::populate(&store, sessions, 5);
        let all = crate::common::all_events(&store);
        let fp = store.projections_snapshot().fingerprint();
        store.close();
        (all, fp)
    };
    assert!(expected.0.len() > 200);
    let all_files = files(&original);
    let db_file = original.join("sled/db");
    let mut rng = Rng::new(0xC0FFEE ^ stablesteering::store::util::now_us() as u64);
    let (mut intact, mut refused) = (0, 0);
    let mut refusal_kinds = std::collections::BTreeMap::<String, usize>::new();
    let mut failures = Vec::new();
    let mut cli_checked = 0;
    for trial in 0..trials {
        let kind = match trial % 6 {
            0..=2 => Damage::Flip,
            3 => Damage::Truncate,
            _ => Damage::ZeroPage,
        };
        // 80% of the damage lands in sled's main file, the rest in any file.
        let target = if rng.below(5) < 4 {
            db_file.clone()
        } else {
            all_files[rng.below(all_files.len() as u64) as usize].clone()
        };
        let copy = tmp.path().join(format!("trial-{trial}"));
        crate::common::copy_dir(&original, &copy);
        let rel = target.strip_prefix(&original).unwrap();
        damage(&copy.join(rel), kind, &mut rng);
        match open_with_watchdog(copy.clone(), expected.clone()) {
            Ok(Outcome::Intact) => intact += 1,
            Ok(Outcome::Refused(msg)) => {
                refused += 1;
                assert!(
                    msg.contains(&copy.display().to_string()),
                    "refusal does not name the data dir: {msg}"
                );
                let key = [
                    (
                        "high-water manifest",
                        "log shorter than the manifest (silent sled truncation caught)",
                    ),
                    ("manifest", "manifest damaged or missing"),
                    ("panicked", "sled panicked (caught)"),
                    ("could not open", "sled returned an error on open"),
                    ("CRC", "record CRC mismatch"),
                    ("index", "index inconsistent with the log"),
                    ("gap", "gap in the log (silent loss in the middle caught)"),
                    ("head marker", "head marker inconsistent"),
                ]
                .iter()
                .find(|(needle, _)| msg.contains(needle))
                .map(|(_, k)| k.to_string())
                .unwrap_or_else(|| msg.chars().take(120).collect());
                *refusal_kinds.entry(key).or_default() += 1;
                if cli_checked < 3 {
                    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stablesteering"))
                        .args(["store", "verify", "--data-dir"])
                        .arg(&copy)
                        .output()
                        .unwrap();
                    assert_eq!(
                        out.status.code(),
                        Some(2),
                        "verify CLI exit code on a damaged store"
                    );
                    assert!(
                        String::from_utf8_lossy(&out.stderr).contains(&copy.display().to_string())
                    );
                    cli_checked += 1;
                }
            }
            Err(e) => failures.push(format!(
                "trial {trial} ({kind:?} in {}): {e}",
                rel.display()
            )),
        }
        let _ = std::fs::remove_dir_all(&copy);
    }
    println!(
        "corruption: {trials} trials: {intact} intact, {refused} refused, {} failures",
        failures.len()
    );
    for (k, n) in &refusal_kinds {
        println!("  refused {n:4} x {k}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn damaged_manifest_can_be_rewritten_by_the_operator() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let store = crate::common::open(&dir);
    crate::common::populate(&store, 1, 1);
    let head = store.head_seq();
    store.close();
    std::fs::write(dir.join("MANIFEST"), b"garbage").unwrap();
    assert!(matches!(
        SledStore::open(&dir, crate::common::options()),
        Err(StoreError::Refused { .. })
    ));
    assert_eq!(rewrite_manifest(&dir).unwrap(), head);
    assert_eq!(crate::common::open(&dir).head_seq(), head);
}
