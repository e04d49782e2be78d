//! The high-water manifest: a small fsynced file outside sled recording a sequence number the
//! log is known to have reached durably.
//!
//! Start-up refuses to serve when the log's head is below the manifest (sled's failure mode
//! under corruption is to silently drop every later event). The manifest is only ever written
//! with a head that is already durable (after flush + fsync), so a crash can leave it behind the
//! log but never ahead of it.
//!
//! File `<data-dir>/MANIFEST`, 17 bytes, frozen: `b"SSEM"`, format u8 = 1, high water u64 BE,
//! CRC32 (BE) of the first 13 bytes. Written as temp file + fsync + rename + directory fsync.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::store::error::{Result, StoreError};

const MAGIC: &[u8; 4] = b"SSEM";
const FORMAT: u8 = 1;
const LEN: usize = 17;

/// File name inside the data directory.
pub const FILE_NAME: &str = "MANIFEST";

/// Path of the manifest of `data_dir`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Read the manifest; `Ok(None)` if it does not exist.
pub fn read(data_dir: &Path) -> Result<Option<u64>> {
    let p = path(data_dir);
    let bytes = match fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(&p, e)),
    };
    parse(&bytes)
        .map(Some)
        .map_err(|reason| StoreError::Refused {
            data_dir: data_dir.to_path_buf(),
            first_bad: None,
            reason: format!("the manifest {} is damaged: {reason}", p.display()),
        })
}

fn parse(bytes: &[u8]) -> std::result::Result<u64, String> {
    if bytes.len() != LEN {
        return Err(format!("{} bytes instead of {LEN}", bytes.len()));
    }
    if &bytes[..4] != MAGIC {
        return Err("bad magic".into());
    }
    if bytes[4] != FORMAT {
        return Err(format!("unknown format {}", bytes[4]));
    }
    let stored = u32::from_be_bytes([bytes[13], bytes[14], bytes[15], bytes[16]]);
    if crc32fast::hash(&bytes[..13]) != stored {
        return Err("CRC mismatch".into());
    }
    let mut hw = [0u8; 8];
    hw.copy_from_slice(&bytes[5..13]);
    Ok(u64::from_be_bytes(hw))
}

fn encode(high_water: u64) -> [u8; LEN] {
    let mut b = [0u8; LEN];
    b[..4].copy_from_slice(MAGIC);
    b[4] = FORMAT;
    b[5..13].copy_from_slice(&high_water.to_be_bytes());
    let crc = crc32fast::hash(&b[..13]);
    b[13..].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Durably replace the manifest with `high_water`.
pub fn write(data_dir: &Path, high_water: u64) -> Result<()> {
    let tmp = data_dir.join("MANIFEST.tmp");
    let dst = path(data_dir);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| StoreError::io(&tmp, e))?;
        f.write_all(&encode(high_water))
            .map_err(|e| StoreError::io(&tmp, e))?;
        f.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
    }
    fs::rename(&tmp, &dst).map_err(|e| StoreError::io(&dst, e))?;
    sync_dir(data_dir)
}

/// fsync a directory so a rename or a new file in it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        write(dir.path(), 1234).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(1234));
        let mut b = fs::read(path(dir.path())).unwrap();
        b[7] ^= 1;
        fs::write(path(dir.path()), &b).unwrap();
        assert!(matches!(read(dir.path()), Err(StoreError::Refused { .. })));
    }
}
