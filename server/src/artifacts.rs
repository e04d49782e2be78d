//! Content-addressed image artifacts under `<data dir>/artifacts`.
//!
//! An artifact's name is the BLAKE2b-256 of its bytes (64 lowercase hex digits); it is written
//! to a temporary file, fsynced and renamed into place *before* the event that references it is
//! appended, so an acknowledged event never points at a missing file. Reads accept only a
//! well-formed hash, so no request can steer a path outside the folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};

/// Where images live, addressed by the BLAKE2b-256 of their bytes. Everything that reads or
/// writes images (the runner, the HTTP routes, exports, purge) goes through this contract.
///
/// [`ArtifactStore`], a directory, is the one built: local, or shared by an API server and its
/// render workers (NFS and the like). An S3-compatible object store fits the same contract —
/// key = hash, `put` returns once the object is durable (a completed PUT), `check` re-hashes the
/// bytes — so a worker can write images the server then serves.
pub trait ArtifactBackend: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` durably and returns their hash (idempotent). It returns only once the
    /// bytes would survive a crash: events naming the hash are appended after it.
    fn put(&self, bytes: &[u8]) -> std::io::Result<String>;
    /// The bytes of artifact `hash`; `None` for a malformed or unknown hash.
    fn get(&self, hash: &str) -> Option<Vec<u8>>;
    /// Whether artifact `hash` exists.
    fn contains(&self, hash: &str) -> bool;
    /// Checks that `hash` exists and its bytes hash to its name ("is missing", "is damaged…").
    fn check(&self, hash: &str) -> Result<(), String>;
    /// Removes `hash`; the bytes freed, `None` when it was not there.
    fn remove(&self, hash: &str) -> std::io::Result<Option<u64>>;
    /// Total bytes stored (for diagnostics).
    fn total_bytes(&self) -> u64;
}

/// Length of an artifact hash in hex digits.
pub const HASH_LEN: usize = 64;

/// The artifact folder of one data directory.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    root: PathBuf,
}

/// Hex BLAKE2b-256 of `bytes` (the artifact name and the settings-snapshot hash).
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Blake2b::<U32>::digest(bytes);
    let mut out = String::with_capacity(HASH_LEN);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// True for exactly 64 lowercase hex digits.
pub fn is_valid_hash(hash: &str) -> bool {
    hash.len() == HASH_LEN && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl ArtifactStore {
    /// The store under `data_dir/artifacts` (created on first write).
    pub fn new(data_dir: &Path) -> Self {
        ArtifactStore {
            root: data_dir.join("artifacts"),
        }
    }

    fn path_of(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2]).join(format!("{hash}.png"))
    }

    /// Stores `bytes` durably and returns their hash (idempotent).
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let hash = content_hash(bytes);
        let path = self.path_of(&hash);
        if path.is_file() {
            return Ok(hash);
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{hash}.{}.tmp", uuid::Uuid::now_v7().simple()));
        let result = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            // The rename is durable only once the directory entry is.
            std::fs::File::open(&dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map(|()| hash)
    }

    /// The bytes of artifact `hash`; `None` for a malformed or unknown hash.
    pub fn get(&self, hash: &str) -> Option<Vec<u8>> {
        if !is_valid_hash(hash) {
            return None;
        }
        std::fs::read(self.path_of(hash)).ok()
    }

    /// Whether artifact `hash` exists.
    pub fn contains(&self, hash: &str) -> bool {
        is_valid_hash(hash) && self.path_of(hash).is_file()
    }

    /// Checks that artifact `hash` exists and its bytes hash to its name; the error says
    /// what is wrong ("is missing", "is damaged: ...").
    pub fn check(&self, hash: &str) -> Result<(), String> {
        if !is_valid_hash(hash) {
            return Err("has a malformed name".into());
        }
        match std::fs::read(self.path_of(hash)) {
            Ok(bytes) if content_hash(&bytes) == hash => Ok(()),
            Ok(bytes) => Err(format!(
                "is damaged: its {} bytes hash to {}",
                bytes.len(),
                content_hash(&bytes)
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err("is missing from artifacts/".into())
            }
            Err(e) => Err(format!("cannot be read: {e}")),
        }
    }

    /// Where artifact `hash` lives (for backups); `None` for a malformed hash.
    pub fn path(&self, hash: &str) -> Option<PathBuf> {
        is_valid_hash(hash).then(|| self.path_of(hash))
    }

    /// Total bytes stored (for diagnostics).
    pub fn total_bytes(&self) -> u64 {
        let mut total = 0;
        let Ok(dirs) = std::fs::read_dir(&self.root) else {
            return 0;
        };
        for dir in dirs.flatten() {
            if let Ok(files) = std::fs::read_dir(dir.path()) {
                total += files
                    .flatten()
                    .filter_map(|f| f.metadata().ok())
                    .map(|m| m.len())
                    .sum::<u64>();
            }
        }
        total
    }
}

impl ArtifactBackend for ArtifactStore {
    fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        ArtifactStore::put(self, bytes)
    }

    fn get(&self, hash: &str) -> Option<Vec<u8>> {
        ArtifactStore::get(self, hash)
    }

    fn contains(&self, hash: &str) -> bool {
        ArtifactStore::contains(self, hash)
    }

    fn check(&self, hash: &str) -> Result<(), String> {
        ArtifactStore::check(self, hash)
    }

    fn remove(&self, hash: &str) -> std::io::Result<Option<u64>> {
        let Some(path) = self.path(hash) else {
            return Ok(None);
        };
        let bytes = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        std::fs::remove_file(&path)?;
        Ok(Some(bytes))
    }

    fn total_bytes(&self) -> u64 {
        ArtifactStore::total_bytes(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_idempotent_and_get_refuses_malformed_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(dir.path());
        let a = store.put(b"hello").unwrap();
        assert_eq!(a, store.put(b"hello").unwrap());
        assert!(is_valid_hash(&a));
        assert_eq!(store.get(&a).unwrap(), b"hello");
        assert!(store.get("../../etc/passwd").is_none());
        assert!(store.get(&a.to_uppercase()).is_none());
        assert!(store.get(&"0".repeat(64)).is_none());
    }
}
