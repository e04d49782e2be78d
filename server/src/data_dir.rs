//! The data directory: created atomically, checked for writability, never left half-made.
//!
//! A missing directory is built under a temporary sibling name and renamed into place only
//! once it is complete, so a failure at any step leaves nothing behind.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Errors preparing the data directory; each names the path.
#[derive(Debug, Error)]
pub enum DataDirError {
    /// The path exists and is not a directory.
    #[error("data dir {0} exists but is not a directory")]
    NotADirectory(PathBuf),
    /// The directory (or its parent) cannot be written.
    #[error("data dir {path} is not writable: {source}")]
    NotWritable {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Creating the directory failed.
    #[error("cannot create data dir {path}: {source}")]
    Create {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Initialising the new directory's contents failed.
    #[error("cannot initialise data dir {path}: {message}")]
    Init {
        /// The directory.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Makes sure `path` is a usable data directory and returns its absolute path.
///
/// When the directory is missing, `init` runs on a temporary sibling directory first; the
/// sibling is renamed to `path` only if `init` succeeds, and removed otherwise.
pub fn prepare(
    path: &Path,
    init: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, DataDirError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            check_writable(path)?;
            Ok(absolute(path))
        }
        Ok(_) => Err(DataDirError::NotADirectory(path.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_atomically(path, init),
        Err(source) => Err(DataDirError::NotWritable {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn create_atomically(
    path: &Path,
    init: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, DataDirError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    let staging = parent.join(format!(".{name}.creating-{}", std::process::id()));
    let create_err = |source| DataDirError::Create {
        path: path.to_path_buf(),
        source,
    };
    fs::create_dir_all(&parent).map_err(create_err)?;
    fs::create_dir(&staging).map_err(create_err)?;
    let finished = init(&staging)
        .map_err(|message| DataDirError::Init {
            path: path.to_path_buf(),
            message,
        })
        .and_then(|()| fs::rename(&staging, path).map_err(create_err));
    if let Err(e) = finished {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    sync_dir(&parent);
    Ok(absolute(path))
}

fn check_writable(path: &Path) -> Result<(), DataDirError> {
    let probe = path.join(format!(".write-probe-{}", std::process::id()));
    fs::write(&probe, b"ok")
        .and_then(|()| fs::remove_file(&probe))
        .map_err(|source| DataDirError::NotWritable {
            path: path.to_path_buf(),
            source,
        })
}

fn absolute(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Makes a rename durable; best effort, since some filesystems refuse to open directories.
fn sync_dir(dir: &Path) {
    if let Ok(f) = fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_missing_directory_after_init() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("nested").join("data");
        let made = prepare(&target, |dir| {
            fs::write(dir.join("marker"), b"x").map_err(|e| e.to_string())
        })
        .unwrap();
        assert!(made.join("marker").exists());
    }

    #[test]
    fn failed_init_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("data");
        let err = prepare(&target, |_| Err("boom".into())).unwrap_err();
        assert!(err.to_string().contains("boom"));
        assert!(!target.exists());
        let leftovers: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert!(leftovers.is_empty(), "staging dir removed");
    }

    #[test]
    fn a_file_is_not_a_data_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        fs::write(&file, b"x").unwrap();
        assert!(matches!(
            prepare(&file, |_| Ok(())),
            Err(DataDirError::NotADirectory(_))
        ));
        // A path below a regular file cannot be created.
        assert!(prepare(&file.join("data"), |_| Ok(())).is_err());
    }
}
