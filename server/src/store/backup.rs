//! Logical backup and restore (`stablesteering store backup` / `restore`).
//!
//! A backup is the log's records, verbatim, in sequence order — not a copy of sled's files,
//! so it does not inherit sled-level damage and restores into any backend. Format (frozen):
//!
//! ```text
//! "SSBK" format u8 = 1
//! repeated: len u32 BE (1..=MAX_RECORD_BYTES), record bytes (each with its own CRC)
//! trailer:  u32 0, event count u64 BE, CRC32 (BE) of every byte before the trailer
//! ```
//!
//! The file is written to a temp name, fsynced and renamed. Restore verifies the whole file
//! (every record, contiguity, trailer) before importing anything into an empty data dir.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde::Serialize;

use crate::store::codec::MAX_RECORD_BYTES;
use crate::store::envelope::{self, Envelope};
use crate::store::error::{Result, StoreError};
use crate::store::manifest::sync_dir;
use crate::store::open::StoreOptions;
use crate::store::sled_store::SledStore;

const MAGIC: &[u8; 4] = b"SSBK";
const FORMAT: u8 = 1;

/// What a backup or restore handled.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSummary {
    pub events: u64,
    pub bytes: u64,
}

struct CrcWriter<W: Write> {
    inner: W,
    crc: crc32fast::Hasher,
    bytes: u64,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Back up every event up to the current head of `store` into `out`.
pub fn backup(store: &SledStore, out: &Path) -> Result<BackupSummary> {
    let head = store.head_seq();
    let tmp = out.with_extension("partial");
    let io = |e| StoreError::io(&tmp, e);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io)?;
    let mut w = CrcWriter {
        inner: BufWriter::new(file),
        crc: crc32fast::Hasher::new(),
        bytes: 0,
    };
    w.write_all(MAGIC).map_err(io)?;
    w.write_all(&[FORMAT]).map_err(io)?;
    let mut after = 0;
    while after < head {
        let batch = store.raw_records(after, 4096)?;
        if batch.is_empty() {
            break;
        }
        for (seq, rec) in batch {
            if seq > head {
                break;
            }
            after = seq;
            w.write_all(&(rec.len() as u32).to_be_bytes()).map_err(io)?;
            w.write_all(&rec).map_err(io)?;
        }
    }
    let crc = w.crc.clone().finalize();
    let bytes = w.bytes + 16;
    let mut inner = w.inner;
    inner.write_all(&0u32.to_be_bytes()).map_err(io)?;
    inner.write_all(&after.to_be_bytes()).map_err(io)?;
    inner.write_all(&crc.to_be_bytes()).map_err(io)?;
    let file = inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, out).map_err(|e| StoreError::io(out, e))?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        sync_dir(dir)?;
    }
    Ok(BackupSummary {
        events: after,
        bytes,
    })
}

/// Read a backup, handing every decoded envelope to `f`; verifies the trailer at the end.
fn read_backup(path: &Path, mut f: impl FnMut(Envelope) -> Result<()>) -> Result<u64> {
    let bad = |msg: String| StoreError::Import(format!("backup {}: {msg}", path.display()));
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut r = BufReader::new(file);
    let mut crc = crc32fast::Hasher::new();
    let mut head = [0u8; 5];
    r.read_exact(&mut head).map_err(|e| bad(e.to_string()))?;
    if &head[..4] != MAGIC || head[4] != FORMAT {
        return Err(bad("not a backup file (bad magic or format)".into()));
    }
    crc.update(&head);
    let mut count = 0u64;
    let mut buf = Vec::new();
    loop {
        let mut len = [0u8; 4];
        r.read_exact(&mut len)
            .map_err(|e| bad(format!("truncated after seq {count}: {e}")))?;
        let n = u32::from_be_bytes(len) as usize;
        if n == 0 {
            let mut trailer = [0u8; 12];
            r.read_exact(&mut trailer)
                .map_err(|e| bad(format!("truncated trailer: {e}")))?;
            let want = u64::from_be_bytes(trailer[..8].try_into().unwrap_or_default());
            let stored = u32::from_be_bytes(trailer[8..].try_into().unwrap_or_default());
            if want != count {
                return Err(bad(format!("trailer says {want} events, found {count}")));
            }
            if stored != crc.finalize() {
                return Err(bad("checksum mismatch".into()));
            }
            let mut rest = [0u8; 1];
            if r.read(&mut rest).map_err(|e| bad(e.to_string()))? != 0 {
                return Err(bad("bytes after the trailer".into()));
            }
            return Ok(count);
        }
        if n > MAX_RECORD_BYTES {
            return Err(bad(format!("record length {n} above the limit")));
        }
        crc.update(&len);
        buf.resize(n, 0);
        r.read_exact(&mut buf)
            .map_err(|e| bad(format!("truncated record: {e}")))?;
        crc.update(&buf);
        let env =
            envelope::decode_record(&buf).map_err(|e| bad(format!("record {}: {e}", count + 1)))?;
        if env.seq != count + 1 {
            return Err(bad(format!(
                "expected seq {}, found {}",
                count + 1,
                env.seq
            )));
        }
        count += 1;
        f(env)?;
    }
}

/// Verify a backup file without restoring it; returns its event count.
pub fn verify_backup(path: &Path) -> Result<u64> {
    read_backup(path, |_| Ok(()))
}

/// Restore a backup into `data_dir`, which must not hold a store yet.
pub fn restore(backup_file: &Path, data_dir: &Path) -> Result<BackupSummary> {
    if data_dir.join(crate::store::manifest::FILE_NAME).exists() {
        return Err(StoreError::Import(format!(
            "{} already holds an event store; restore into an empty directory",
            data_dir.display()
        )));
    }
    verify_backup(backup_file)?;
    let store = SledStore::open(data_dir, StoreOptions::default())?;
    let mut batch = Vec::with_capacity(8192);
    let events = read_backup(backup_file, |env| {
        batch.push(env);
        if batch.len() >= 8192 {
            store.import_blocking(std::mem::take(&mut batch))?;
        }
        Ok(())
    })?;
    store.import_blocking(batch)?;
    store.close();
    let bytes = std::fs::metadata(backup_file).map(|m| m.len()).unwrap_or(0);
    Ok(BackupSummary { events, bytes })
}
