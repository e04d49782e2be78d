//! The store's command-line entry points (`stablesteering store …` and
//! `stablesteering bench store`), with minimal argument parsing so the product binary can
//! forward its arguments here or call the functions from its own (clap) front end.
//!
//! Exit codes: 0 success, 1 usage or other error, 2 the store is damaged / refused.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::store::backup;
use crate::store::devtools::bench::{run_store_bench, StoreBenchOptions};
use crate::store::devtools::torture::run_append_child;
use crate::store::error::StoreError;
use crate::store::export::{self, ExportFormats, ImportMode};
use crate::store::sled::open::{rewrite_manifest, verify_data_dir, StoreOptions};
use crate::store::sled::store::SledStore;

/// Usage text of the `store` and `bench store` commands.
pub const USAGE: &str = "\
usage:
  stablesteering store verify  --data-dir D [--json] [--rewrite-manifest]
  stablesteering store gc      --data-dir D [--dry-run] [--json]
  stablesteering store purge   --data-dir D --session UUID [--json]
  stablesteering store backup  --data-dir D --out FILE [--allow-missing-artifacts]
  stablesteering store restore --from FILE --data-dir D
  stablesteering store export  --data-dir D --out DIR [--session UUID] [--formats jsonl,csv,parquet]
  stablesteering store import  --data-dir D --from FILE.jsonl [--renumber]
  stablesteering store migrate --from D --to postgres://USER@HOST/DB
  stablesteering bench store   [--events N] [--large N] [--json]
  stablesteering bench store   --store postgres://USER@HOST/DB [--events N] [--json]";

struct Args(Vec<String>);

impl Args {
    fn value(&self, flag: &str) -> Option<&str> {
        let i = self.0.iter().position(|a| a == flag)?;
        self.0.get(i + 1).map(String::as_str)
    }

    fn flag(&self, flag: &str) -> bool {
        self.0.iter().any(|a| a == flag)
    }

    fn path(&self, flag: &str) -> Result<PathBuf, String> {
        self.value(flag)
            .map(PathBuf::from)
            .ok_or_else(|| format!("missing {flag}"))
    }

    fn num(&self, flag: &str) -> Result<Option<u64>, String> {
        self.value(flag)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("{flag} wants a number, got {v:?}"))
            })
            .transpose()
    }
}

fn fail(e: &StoreError) -> i32 {
    eprintln!("error: {e}");
    match e {
        StoreError::Refused { .. } | StoreError::Corrupt { .. } => 2,
        _ => 1,
    }
}

fn print_json<T: serde::Serialize>(v: &T) {
    match serde_json::to_string(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: {e}"),
    }
}

/// Run `stablesteering store <args>`; returns the exit code.
pub fn run_store(args: &[String]) -> i32 {
    let a = Args(args.to_vec());
    let res: Result<i32, String> = (|| {
        let cmd = args.first().map(String::as_str).unwrap_or("");
        Ok(match cmd {
            "verify" if a.flag("--rewrite-manifest") => {
                let dir = a.path("--data-dir")?;
                match rewrite_manifest(&dir) {
                    Ok(head) => {
                        println!("log verified; manifest rewritten at seq {head}");
                        0
                    }
                    Err(e) => fail(&e),
                }
            }
            "verify" => {
                let dir = a.path("--data-dir")?;
                match verify_data_dir(&dir) {
                    Ok(r) => {
                        if a.flag("--json") {
                            print_json(&r);
                        } else {
                            println!(
                                "ok: {} holds {} events in {} streams ({} sessions), {} referenced artifacts intact; manifest high water {}",
                                r.data_dir.display(), r.head, r.streams, r.sessions, r.artifacts, r.manifest_high_water
                            );
                        }
                        0
                    }
                    Err(e) => fail(&e),
                }
            }
            "gc" => {
                let dir = a.path("--data-dir")?;
                match crate::store::sled::gc::collect(&dir, a.flag("--dry-run")) {
                    Ok(r) => {
                        if a.flag("--json") {
                            print_json(&r);
                        } else {
                            println!(
                                "{} {} unreferenced artifact files ({} bytes); {} referenced artifacts kept",
                                if r.dry_run { "would remove" } else { "removed" },
                                r.removed,
                                r.removed_bytes,
                                r.referenced
                            );
                        }
                        0
                    }
                    Err(e) => fail(&e),
                }
            }
            "purge" => {
                let dir = a.path("--data-dir")?;
                let session = a
                    .value("--session")
                    .and_then(|s| s.parse::<uuid::Uuid>().ok())
                    .ok_or("--session needs a session UUID")?;
                purge(&dir, session, a.flag("--json"))
            }
            "backup" => {
                let dir = a.path("--data-dir")?;
                let out = a.path("--out")?;
                match SledStore::open(
                    &dir,
                    StoreOptions {
                        create_if_missing: false,
                        ..Default::default()
                    },
                )
                .and_then(|s| {
                    backup::backup(
                        &s,
                        &out,
                        backup::BackupOptions {
                            allow_missing_artifacts: a.flag("--allow-missing-artifacts"),
                        },
                    )
                }) {
                    Ok(s) => {
                        println!(
                            "backed up {} events and {} files (artifacts, traces), {} bytes, to {}{}",
                            s.events,
                            s.files,
                            s.bytes,
                            out.display(),
                            if s.missing_artifacts > 0 {
                                format!(" ({} referenced artifacts were missing)", s.missing_artifacts)
                            } else {
                                String::new()
                            }
                        );
                        0
                    }
                    Err(e) => fail(&e),
                }
            }
            "restore" => {
                let from = a.path("--from")?;
                let dir = a.path("--data-dir")?;
                match backup::restore(&from, &dir) {
                    Ok(s) => {
                        println!(
                            "restored {} events and {} files into {}",
                            s.events,
                            s.files,
                            dir.display()
                        );
                        0
                    }
                    Err(e) => fail(&e),
                }
            }
            "export" => {
                let dir = a.path("--data-dir")?;
                let out = a.path("--out")?;
                let session = a
                    .value("--session")
                    .map(|s| Uuid::parse_str(s).map_err(|e| format!("--session: {e}")))
                    .transpose()?;
                let formats = match a.value("--formats") {
                    None => ExportFormats::ALL,
                    Some(f) => ExportFormats {
                        jsonl: f.contains("jsonl"),
                        csv: f.contains("csv"),
                        parquet: f.contains("parquet"),
                    },
                };
                match SledStore::open(
                    &dir,
                    StoreOptions {
                        create_if_missing: false,
                        ..Default::default()
                    },
                )
                .and_then(|s| export::export_all(&s, &out, session, formats))
                {
                    Ok(s) => {
                        println!(
                            "exported {} events; tables {:?}; into {}",
                            s.events,
                            s.rows,
                            out.display()
                        );
                        0
                    }
                    Err(e) => fail(&e),
                }
            }
            "import" => {
                let dir = a.path("--data-dir")?;
                let from = a.path("--from")?;
                let mode = if a.flag("--renumber") {
                    ImportMode::Renumber
                } else {
                    ImportMode::Exact
                };
                let file =
                    std::fs::File::open(&from).map_err(|e| format!("{}: {e}", from.display()))?;
                match SledStore::open(&dir, StoreOptions::default())
                    .and_then(|s| export::import_jsonl(&s, std::io::BufReader::new(file), mode))
                {
                    Ok(n) => {
                        println!("imported {n} events into {}", dir.display());
                        0
                    }
                    Err(e) => fail(&e),
                }
            }
            "migrate" => {
                let from = a.path("--from")?;
                let to = a.value("--to").ok_or("missing --to postgres://…")?;
                match crate::store::postgres::migrate::migrate_sled_to_postgres(&from, to) {
                    Ok(r) => {
                        println!(
                            "copied {} events from {} in {:.1} s and verified them event by event",
                            r.events,
                            from.display(),
                            r.seconds
                        );
                        0
                    }
                    Err(e) => fail(&e),
                }
            }
            "torture-append" => {
                let dir = a.path("--data-dir")?;
                let producers = a.num("--producers")?.unwrap_or(4) as usize;
                run_append_child(&dir, producers, a.num("--max-events")?)
            }
            _ => return Err(format!("unknown store command {cmd:?}")),
        })
    })();
    res.unwrap_or_else(|e| {
        eprintln!("error: {e}\n{USAGE}");
        1
    })
}

/// `bench store --store postgres://…`.
fn run_bench_postgres(url: &str, a: &Args) -> i32 {
    use crate::store::postgres::bench::{print_report, run_pg_bench, PgBenchOptions};
    let mut o = PgBenchOptions::default();
    match a.num("--events") {
        Ok(Some(n)) => o.group_commit_events = n,
        Ok(None) => {}
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return 1;
        }
    }
    match run_pg_bench(url, &o) {
        Ok(r) => {
            print_report(&r);
            if a.flag("--json") {
                print_json(&r);
            }
            0
        }
        Err(e) => fail(&e),
    }
}

/// Run `stablesteering bench store <args>`; with `--json` the last line is one JSON object.
pub fn run_bench_store(args: &[String]) -> i32 {
    let a = Args(args.to_vec());
    let store = a
        .value("--store")
        .map(str::to_string)
        .or_else(|| std::env::var("STABLESTEERING_STORE").ok());
    if let Some(url) = store.filter(|u| u.starts_with("postgres")) {
        return run_bench_postgres(&url, &a);
    }
    let mut o = StoreBenchOptions::default();
    let parsed: Result<(), String> = (|| {
        if let Some(n) = a.num("--events")? {
            o.events = n;
        }
        if let Some(n) = a.num("--large")? {
            o.large_rebuild_events = n;
        }
        if let Some(n) = a.num("--producers")? {
            o.producers = n as usize;
        }
        Ok(())
    })();
    if let Err(e) = parsed {
        eprintln!("error: {e}\n{USAGE}");
        return 1;
    }
    match run_store_bench(&o) {
        Ok(r) => {
            println!(
                "durable appends, one event per commit : {:>12.0} events/s",
                r.single_commit_events_per_s
            );
            println!(
                "durable appends, group commit ({:>3} producers): {:>8.0} events/s (mean group {:.1}; target >= 15000)",
                r.group_commit_producers, r.group_commit_events_per_s, r.group_commit_mean_group_size
            );
            println!(
                "projection rebuild, {:>8} events       : {:>12.0} events/s (verify+rebuild at open {:.0}/s)",
                r.rebuild_small_events, r.rebuild_small_events_per_s, r.verify_open_small_events_per_s
            );
            println!(
                "projection rebuild, {:>8} events       : {:>12.0} events/s (verify+rebuild at open {:.0}/s; target >= 1000000)",
                r.rebuild_large_events, r.rebuild_large_events_per_s, r.verify_open_large_events_per_s
            );
            println!(
                "replay to round ({} events, 50 rounds)  : p50 {:.3} ms, p99 {:.3} ms (cold p99 {:.3} ms; target p99 < 0.5)",
                r.replay_session_events, r.replay_p50_ms, r.replay_p99_ms, r.replay_cold_p99_ms
            );
            println!(
                "disk bytes per event                  : {:>12.0}",
                r.disk_bytes_per_event
            );
            if a.flag("--json") {
                print_json(&r);
            }
            0
        }
        Err(e) => fail(&e),
    }
}

/// `store purge`: the same purge as `DELETE /sessions/{id}?purge=true`, on a stopped server.
fn purge(dir: &Path, session: uuid::Uuid, json: bool) -> i32 {
    let options = StoreOptions {
        create_if_missing: false,
        ..Default::default()
    };
    let store = match SledStore::open(dir, options) {
        Ok(store) => crate::store::LogStore::from(store),
        Err(e) => return fail(&e),
    };
    let artifacts = crate::artifacts::ArtifactStore::new(dir);
    let known = store.session(session);
    let outcome = match known {
        None => Err(crate::services::ServiceError::not_found("session", session)),
        Some(_) => crate::services::purge::purge_blocking(&store, &artifacts, dir, session),
    };
    store.close();
    match outcome {
        Ok(report) if json => {
            print_json(&report);
            0
        }
        Ok(r) => {
            println!(
                "purged session {session}: {} events redacted, {} images ({} bytes) removed",
                r.events_redacted, r.artifacts_removed, r.bytes_removed
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
