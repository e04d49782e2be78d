//! `stablesteering store gc`: removes the image artifacts the log does not reference — renders
//! whose event was never appended (a crash between the file and the event), the leftovers of
//! interrupted writes — so the artifact folder holds what the log needs and nothing else.
//! Runs on a stopped server (it holds the store's lock like every store command); the log is
//! fully verified first, and nothing is removed from a log that does not verify.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::artifacts::is_valid_hash;
use crate::store::artifact_refs::ArtifactRefs;
use crate::store::error::{Result, StoreError};

/// Temporary files younger than this may belong to a write in progress elsewhere.
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// What a collection found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// Artifacts the log references (kept).
    pub referenced: usize,
    /// Unreferenced artifacts and stale temporary files removed (or, dry run, to remove).
    pub removed: usize,
    /// Their bytes.
    pub removed_bytes: u64,
    /// Whether this was a dry run (nothing removed).
    pub dry_run: bool,
}

/// Collects the artifact garbage of `data_dir`.
pub fn collect(data_dir: &Path, dry_run: bool) -> Result<GcReport> {
    let refs = crate::store::sled::open::referenced_artifacts(data_dir)?;
    sweep(data_dir, &refs, dry_run)
}

/// Removes the artifacts of `data_dir` that `refs` (a verified log's references) does not
/// name, and stale temporary files.
pub fn sweep(data_dir: &Path, refs: &ArtifactRefs, dry_run: bool) -> Result<GcReport> {
    let mut report = GcReport {
        referenced: refs.len(),
        dry_run,
        ..GcReport::default()
    };
    let root = data_dir.join("artifacts");
    for path in files_under(&root)? {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let garbage = match name.strip_suffix(".png") {
            Some(hash) if is_valid_hash(hash) => !refs.0.contains_key(hash),
            // `.{hash}.{id}.tmp`: an interrupted write, once it is surely not in progress.
            _ if name.starts_with('.') && name.ends_with(".tmp") => is_stale(&path),
            _ => false,
        };
        if !garbage {
            continue;
        }
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if !dry_run {
            std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
        }
        report.removed += 1;
        report.removed_bytes += bytes;
    }
    Ok(report)
}

fn is_stale(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > STALE_TEMP_AGE)
}

/// The files one or two levels under `root` (`artifacts/<xx>/<hash>.png`).
fn files_under(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let shards = match std::fs::read_dir(root) {
        Ok(shards) => shards,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(StoreError::io(root, e)),
    };
    for shard in shards {
        let shard = shard.map_err(|e| StoreError::io(root, e))?.path();
        if !shard.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&shard).map_err(|e| StoreError::io(&shard, e))? {
            let file = file.map_err(|e| StoreError::io(&shard, e))?.path();
            if file.is_file() {
                out.push(file);
            }
        }
    }
    Ok(out)
}
