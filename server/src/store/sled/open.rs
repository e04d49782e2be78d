//! Opening a data directory safely, and the offline verification behind
//! `stablesteering store verify`.
//!
//! Data directory layout: `<data-dir>/MANIFEST` (high-water manifest) and `<data-dir>/sled/`
//! (the sled database; `<data-dir>/sled/db` is the file we fsync).
//!
//! Start-up: read the manifest; open sled inside `catch_unwind` (corrupt files make sled
//! panic); verify every record and index while rebuilding the projections; refuse with
//! [`StoreError::Refused`] naming the data dir and the first bad position if anything is off;
//! make what was read durable, raise the manifest, and start the writer. A damaged store is
//! refused every time, cleanly, so a supervisor never sees a crash loop.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::store::error::{Result, StoreError};
use crate::store::replay_cache::ReplayCache;
use crate::store::sled::manifest;
use crate::store::sled::store::{Shared, SledStore};
use crate::store::sled::verify::{self, ScanOutput};
use crate::store::sled::writer::{Writer, WriterSettings};

/// Tuning knobs; the defaults suit the server.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Bounded queue of the writer; a full queue makes appends fail with `Busy`.
    pub queue_capacity: usize,
    /// Most events committed in one group.
    pub max_group_events: usize,
    /// Minimum time between manifest updates (zero: after every commit).
    pub manifest_interval: Duration,
    /// sled page cache size.
    pub cache_capacity_bytes: u64,
    /// Create the data directory when it does not exist.
    pub create_if_missing: bool,
    /// Decoded events kept for time travel (0 disables the cache).
    pub replay_cache_events: usize,
    /// Free space (bytes) kept on the data volume: a group that would go below it fails with
    /// `DiskFull` before sled is touched (0 disables the guard).
    pub min_free_bytes: u64,
    /// Remove the image artifacts the log does not reference once it is verified (what
    /// `store gc` does; `serve` turns it on, so garbage never outlives a restart).
    pub collect_garbage: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            queue_capacity: 4096,
            max_group_events: 4096,
            manifest_interval: Duration::from_millis(100),
            cache_capacity_bytes: 256 << 20,
            create_if_missing: true,
            replay_cache_events: 100_000,
            min_free_bytes: 64 << 20,
            collect_garbage: false,
        }
    }
}

/// sled settings kept by the writer for reopening.
#[derive(Debug, Clone)]
pub(crate) struct SledSettings {
    pub cache_capacity_bytes: u64,
}

/// Directory of the sled database inside a data directory.
pub fn sled_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("sled")
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Open sled, turning panics into errors.
pub(crate) fn open_sled(
    dir: &Path,
    settings: &SledSettings,
) -> std::result::Result<sled::Db, String> {
    let cfg = sled::Config::new()
        .path(dir)
        .cache_capacity(settings.cache_capacity_bytes)
        .flush_every_ms(None);
    // sled's I/O threads can hold the file lock for a moment after the last handle of a closed
    // store in this process is dropped; a reopen right after a close waits for them instead of
    // reporting the database "in use by another process". A real other process still holds it
    // after LOCK_WAIT, and is refused then.
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match catch_unwind(AssertUnwindSafe(|| cfg.open())) {
            Ok(Ok(db)) => return Ok(db),
            Ok(Err(e)) => {
                let message = e.to_string();
                if !message.contains("could not acquire lock")
                    || std::time::Instant::now() >= deadline
                {
                    return Err(message);
                }
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            Err(p) => return Err(format!("sled panicked while opening: {}", panic_text(p))),
        }
    }
}

/// How long opening waits for a lock a just-closed store of this process still holds.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn refused(data_dir: &Path, first_bad: Option<u64>, reason: impl Into<String>) -> StoreError {
    StoreError::Refused {
        data_dir: data_dir.to_path_buf(),
        first_bad,
        reason: reason.into(),
    }
}

/// Read the manifest and open + verify sled, without starting anything.
fn open_and_scan(
    data_dir: &Path,
    settings: &SledSettings,
    create: bool,
) -> Result<(sled::Db, ScanOutput, u64)> {
    let hw = manifest::read(data_dir)?;
    let sdir = sled_dir(data_dir);
    let sled_exists = sdir.join("db").exists();
    let hw = match (hw, sled_exists) {
        (None, true) => {
            return Err(refused(
                data_dir,
                None,
                "the high-water manifest is missing although a log exists",
            ))
        }
        (None, false) if create => {
            manifest::write(data_dir, 0)?;
            0
        }
        (None, false) => return Err(refused(data_dir, None, "no event store here")),
        (Some(hw), false) if hw > 0 => {
            return Err(refused(
                data_dir,
                Some(1),
                format!("the log is missing but the manifest records seq {hw}"),
            ))
        }
        (Some(hw), _) => hw,
    };
    let db = open_sled(&sdir, settings).map_err(|e| {
        if e.contains("lock") {
            StoreError::Storage {
                data_dir: data_dir.to_path_buf(),
                detail: format!("the database is in use by another process ({e})"),
            }
        } else {
            refused(data_dir, None, format!("sled could not open the log: {e}"))
        }
    })?;
    let out = match catch_unwind(AssertUnwindSafe(|| verify::scan(&db, hw))) {
        Ok(Ok(out)) => out,
        Ok(Err(d)) => return Err(refused(data_dir, d.first_bad, d.reason)),
        Err(p) => {
            return Err(refused(
                data_dir,
                None,
                format!("sled panicked while reading the log: {}", panic_text(p)),
            ))
        }
    };
    Ok((db, out, hw))
}

impl SledStore {
    /// Open (or create) the store in `data_dir`, verify it and start the writer.
    pub fn open(data_dir: impl AsRef<Path>, options: StoreOptions) -> Result<SledStore> {
        let data_dir = data_dir.as_ref().to_path_buf();
        if !data_dir.exists() {
            if !options.create_if_missing {
                return Err(refused(
                    &data_dir,
                    None,
                    "the data directory does not exist",
                ));
            }
            std::fs::create_dir_all(&data_dir).map_err(|e| StoreError::io(&data_dir, e))?;
        }
        let settings = SledSettings {
            cache_capacity_bytes: options.cache_capacity_bytes,
        };
        let (db, scan, hw) = open_and_scan(&data_dir, &settings, options.create_if_missing)?;
        // What we read may have come from the page cache after a crash: make it durable before
        // the manifest vouches for it.
        db.flush().map_err(|e| StoreError::storage(&data_dir, e))?;
        let db_path = sled_dir(&data_dir).join("db");
        std::fs::File::open(&db_path)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(&db_path, e))?;
        if scan.head > hw {
            manifest::write(&data_dir, scan.head)?;
        }
        if options.collect_garbage {
            let swept = crate::store::sled::gc::sweep(&data_dir, &scan.artifacts, false)?;
            if swept.removed > 0 {
                tracing::info!(
                    removed = swept.removed,
                    bytes = swept.removed_bytes,
                    "removed image artifacts the log does not reference"
                );
            }
        }
        tracing::info!(data_dir = %data_dir.display(), head = scan.head,
            streams = scan.stream_heads.len(), "event store verified and opened");

        let (head_tx, _) = watch::channel(scan.head);
        let shared = Arc::new(Shared {
            sled_dir: sled_dir(&data_dir),
            data_dir: data_dir.clone(),
            db: RwLock::new(Some(db.clone())),
            durable: AtomicU64::new(scan.head),
            head_tx,
            projections: RwLock::new(scan.projections),
            stream_heads: RwLock::new(scan.stream_heads.clone()),
            closed: AtomicBool::new(false),
            failure: RwLock::new(None),
            commits: AtomicU64::new(0),
            replay_cache: Mutex::new(ReplayCache::new(options.replay_cache_events)),
        });
        let writer = Writer::new(
            shared.clone(),
            db,
            scan.head,
            scan.stream_heads,
            scan.head.max(hw),
            scan.last_recorded_us,
            WriterSettings {
                max_group_events: options.max_group_events.max(1),
                min_free_bytes: options.min_free_bytes,
                manifest_interval: options.manifest_interval,
                sled: settings,
            },
        )?;
        let capacity = options.queue_capacity.max(1);
        let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
        let handle = std::thread::Builder::new()
            .name("event-store-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::io(&data_dir, e))?;
        Ok(SledStore::from_parts(shared, tx, handle, capacity))
    }
}

/// Result of an offline verification.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub data_dir: PathBuf,
    pub head: u64,
    pub manifest_high_water: u64,
    pub streams: usize,
    pub sessions: usize,
    pub record_bytes: u64,
    pub fingerprint: u64,
    /// Referenced artifacts found present with the right content hash.
    pub artifacts: usize,
}

/// Verify a data directory without serving it: the start-up checks, then every artifact the
/// log references must exist with the content its name hashes to. Creates nothing.
pub fn verify_data_dir(data_dir: impl AsRef<Path>) -> Result<VerifyReport> {
    let data_dir = data_dir.as_ref();
    if !data_dir.is_dir() {
        return Err(refused(data_dir, None, "the data directory does not exist"));
    }
    let settings = SledSettings {
        cache_capacity_bytes: 64 << 20,
    };
    let (db, scan, hw) = open_and_scan(data_dir, &settings, false)?;
    drop(db);
    let images = crate::artifacts::ArtifactStore::new(data_dir);
    for (hash, seq) in &scan.artifacts.0 {
        if let Err(problem) = images.check(hash) {
            return Err(refused(
                data_dir,
                Some(*seq),
                format!("artifact {hash} (referenced at seq {seq}) {problem}"),
            ));
        }
    }
    Ok(VerifyReport {
        data_dir: data_dir.to_path_buf(),
        head: scan.head,
        manifest_high_water: hw,
        streams: scan.stream_heads.len(),
        sessions: scan.projections.sessions.len(),
        record_bytes: scan.record_bytes,
        fingerprint: scan.projections.fingerprint(),
        artifacts: scan.artifacts.len(),
    })
}

/// The image artifacts the log of `data_dir` references (after the full start-up checks).
pub fn referenced_artifacts(
    data_dir: impl AsRef<Path>,
) -> Result<crate::store::artifact_refs::ArtifactRefs> {
    let data_dir = data_dir.as_ref();
    if !data_dir.is_dir() {
        return Err(refused(data_dir, None, "the data directory does not exist"));
    }
    let settings = SledSettings {
        cache_capacity_bytes: 64 << 20,
    };
    let (db, scan, _) = open_and_scan(data_dir, &settings, false)?;
    drop(db);
    Ok(scan.artifacts)
}

/// Operator repair for a damaged or missing manifest: verify the log fully (without the
/// manifest's high water) and write a new manifest at its head. This blesses the log as it is:
/// use it only when the manifest itself is known to be the damaged part.
pub fn rewrite_manifest(data_dir: impl AsRef<Path>) -> Result<u64> {
    let data_dir = data_dir.as_ref();
    let sdir = sled_dir(data_dir);
    if !sdir.join("db").exists() {
        return Err(refused(data_dir, None, "no event store here"));
    }
    let settings = SledSettings {
        cache_capacity_bytes: 64 << 20,
    };
    let db = open_sled(&sdir, &settings)
        .map_err(|e| refused(data_dir, None, format!("sled could not open the log: {e}")))?;
    let out = match catch_unwind(AssertUnwindSafe(|| verify::scan(&db, 0))) {
        Ok(Ok(out)) => out,
        Ok(Err(d)) => return Err(refused(data_dir, d.first_bad, d.reason)),
        Err(p) => {
            return Err(refused(
                data_dir,
                None,
                format!("sled panicked while reading the log: {}", panic_text(p)),
            ))
        }
    };
    drop(db);
    manifest::write(data_dir, out.head)?;
    Ok(out.head)
}
