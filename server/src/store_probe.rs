//! Opens the sled database inside the data directory and reports its status.
//!
//! sled panics on some corrupt files instead of returning an error, so the open runs inside
//! `catch_unwind` and a panic becomes a clear refusal naming the directory.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Subdirectory of the data dir that holds the sled database.
pub const EVENTS_DIR: &str = "events";

/// Errors opening the store.
#[derive(Debug, Error)]
pub enum StoreOpenError {
    /// sled returned an error.
    #[error("cannot open the event store in {path}: {message}")]
    Open {
        /// The database directory.
        path: PathBuf,
        /// sled's message.
        message: String,
    },
    /// sled panicked, which it does on some damaged files.
    #[error("the event store in {0} is damaged (sled panicked while opening it); restore a backup or run `stablesteering store verify`")]
    Panicked(PathBuf),
}

/// An open sled database.
#[derive(Clone)]
pub struct StoreHandle {
    db: sled::Db,
}

impl StoreHandle {
    /// Opens (or creates) the database under `data_dir/events`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreOpenError> {
        let path = data_dir.join(EVENTS_DIR);
        let opened = catch_unwind(AssertUnwindSafe(|| sled::Config::new().path(&path).open()));
        match opened {
            Ok(Ok(db)) => Ok(Self { db }),
            Ok(Err(e)) => Err(StoreOpenError::Open {
                path,
                message: e.to_string(),
            }),
            Err(_) => Err(StoreOpenError::Panicked(path)),
        }
    }

    /// Number of events in the log (records under the `e` key prefix).
    pub fn event_count(&self) -> u64 {
        self.db.scan_prefix(b"e").count() as u64
    }

    /// Flushes the database to disk.
    pub fn flush(&self) -> Result<(), String> {
        self.db.flush().map(|_| ()).map_err(|e| e.to_string())
    }
}
