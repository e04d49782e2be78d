//! Recovery after a storage error: reopen sled (its error sticks until a reopen) and
//! reconcile memory with what reached the disk.

use std::collections::HashMap;
use std::fs::File;
use std::time::Duration;

use crate::store::envelope;
use crate::store::error::{Result, StoreError};
use crate::store::sled::keys;
use crate::store::sled::open::open_sled;
use crate::store::util;

use super::{sled_err, Writer};

impl Writer {
    /// Reopen sled after a storage error and reconcile memory with what reached the disk.
    pub(super) fn recover(&mut self) -> Result<()> {
        probe_space(&self.shared.data_dir).map_err(|e| sled_err(&self.shared, e))?;
        *util::write(&self.shared.db) = None;
        self.db = None;
        self.db_file = None;
        let mut last_err = String::new();
        let mut db = None;
        for _ in 0..200 {
            match open_sled(&self.shared.sled_dir, &self.settings.sled) {
                Ok(d) => {
                    db = Some(d);
                    break;
                }
                Err(e) => {
                    last_err = e;
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        let Some(db) = db else {
            return Err(sled_err(
                &self.shared,
                format!("reopening sled failed: {last_err}"),
            ));
        };
        let disk_head = match db
            .get(keys::HEAD_KEY)
            .map_err(|e| sled_err(&self.shared, e))?
        {
            Some(v) => keys::parse_u64(&v).unwrap_or(0),
            None => 0,
        };
        if disk_head < self.head {
            let reason = format!(
                "after reopening, the log ends at seq {disk_head} but seq {} was acknowledged",
                self.head
            );
            self.fatal = Some(reason.clone());
            return Err(StoreError::Refused {
                data_dir: self.shared.data_dir.clone(),
                first_bad: Some(disk_head + 1),
                reason,
            });
        }
        let mut adopted = Vec::new();
        let mut heads = HashMap::new();
        for seq in self.head + 1..=disk_head {
            let rec = db
                .get(keys::event(seq))
                .map_err(|e| sled_err(&self.shared, e))?
                .ok_or_else(|| {
                    sled_err(&self.shared, format!("record {seq} missing after reopen"))
                })?;
            let env = envelope::decode_record(&rec)
                .map_err(|source| StoreError::Corrupt { seq, source })?;
            heads.insert(env.stream, env.stream_version);
            adopted.push(env);
        }
        db.flush().map_err(|e| sled_err(&self.shared, e))?;
        let db_path = self.shared.sled_dir.join("db");
        let file = File::open(&db_path).map_err(|e| StoreError::io(&db_path, e))?;
        file.sync_all().map_err(|e| sled_err(&self.shared, e))?;
        *util::write(&self.shared.db) = Some(db.clone());
        self.db = Some(db);
        self.db_file = Some(file);
        self.blobs_synced.clear();
        self.sync_new_blobs()?;
        if !adopted.is_empty() {
            tracing::warn!(
                count = adopted.len(),
                "adopting events of a failed group found on disk after reopen"
            );
            self.publish(heads, adopted);
        }
        self.poisoned = None;
        *util::write(&self.shared.failure) = None;
        tracing::info!(
            head = self.head,
            "event store reopened after a storage error"
        );
        Ok(())
    }
}

/// Check that a little space is available before dropping the read handle to reopen.
fn probe_space(data_dir: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let p = data_dir.join("space.probe");
    let res = (|| {
        let mut f = File::create(&p)?;
        f.write_all(&vec![0u8; 2 << 20])?;
        f.sync_all()
    })();
    let _ = std::fs::remove_file(&p);
    res
}
