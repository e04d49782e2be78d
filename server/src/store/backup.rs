//! Logical backup and restore (`stablesteering store backup` / `restore`).
//!
//! A backup is the log's records, verbatim, in sequence order — not a copy of sled's files,
//! so it does not inherit sled-level damage and restores into any backend — followed by the
//! files the log needs: every image artifact it references and the trace files. Format 2:
//!
//! ```text
//! "SSBK" format u8 = 2
//! repeated: len u32 BE (1..=MAX_RECORD_BYTES), record bytes (each with its own CRC)
//! u32 0
//! repeated: kind u8 (1 artifact, 2 trace file), name len u16 BE, name, len u64 BE, bytes
//! u8 0
//! trailer:  event count u64 BE, file count u64 BE, CRC32 (BE) of every byte before it
//! ```
//!
//! An artifact's name is its content hash (checked on restore); a trace file's name is its
//! path under `traces/`. Format 1 (events only, trailer `u32 0, count u64, CRC32` over the
//! bytes before the `u32 0`) is still read. The file is written to a temp name, fsynced and
//! renamed. Restore verifies the whole file (every record, contiguity, every artifact's hash,
//! the trailer) before importing anything into an empty data dir.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::artifacts::{content_hash, is_valid_hash, ArtifactStore};
use crate::store::artifact_refs::ArtifactRefs;
use crate::store::codec::MAX_RECORD_BYTES;
use crate::store::envelope::{self, Envelope};
use crate::store::error::{Result, StoreError};
use crate::store::sled::manifest::sync_dir;
use crate::store::sled::open::StoreOptions;
use crate::store::sled::store::SledStore;

const MAGIC: &[u8; 4] = b"SSBK";
const FORMAT_EVENTS_ONLY: u8 = 1;
const FORMAT: u8 = 2;
/// Largest artifact a backup carries (they are read whole to check their hash).
const MAX_ARTIFACT_BYTES: u64 = 256 << 20;

/// What a file in a backup is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// An image artifact, named by its content hash.
    Artifact = 1,
    /// A file under `traces/`, named by its relative path.
    Trace = 2,
}

/// What a backup or restore handled.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSummary {
    pub events: u64,
    /// Artifacts and trace files carried.
    pub files: u64,
    /// Referenced artifacts left out because they were missing or damaged (only with
    /// [`BackupOptions::allow_missing_artifacts`]).
    pub missing_artifacts: u64,
    pub bytes: u64,
}

/// How a backup treats a data dir whose artifacts are not all there.
#[derive(Debug, Clone, Copy, Default)]
pub struct BackupOptions {
    /// Back up what is there and count what is not, instead of refusing (for rescuing the
    /// events of a data dir that already lost images).
    pub allow_missing_artifacts: bool,
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

struct CrcReader<R: Read> {
    inner: R,
    crc: crc32fast::Hasher,
}

impl<R: Read> Read for CrcReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

/// Back up every event up to the current head of `store`, then the artifacts those events
/// reference and the trace files of its data dir, into `out`. A referenced artifact that is
/// missing or damaged fails the backup (run `store verify` to see them all) unless `options`
/// allow it.
pub fn backup(store: &SledStore, out: &Path, options: BackupOptions) -> Result<BackupSummary> {
    let data_dir = store.data_dir().to_path_buf();
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
    let mut refs = ArtifactRefs::default();
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
            let env = envelope::decode_record(&rec)
                .map_err(|source| StoreError::Corrupt { seq, source })?;
            refs.note(seq, &env.event);
            w.write_all(&(rec.len() as u32).to_be_bytes()).map_err(io)?;
            w.write_all(&rec).map_err(io)?;
        }
    }
    w.write_all(&0u32.to_be_bytes()).map_err(io)?;
    let (mut files, mut missing_artifacts) = (0u64, 0u64);
    let images = ArtifactStore::new(&data_dir);
    for (hash, seq) in &refs.0 {
        if let Err(problem) = images.check(hash) {
            if options.allow_missing_artifacts {
                missing_artifacts += 1;
                continue;
            }
            let _ = std::fs::remove_file(&tmp);
            return Err(StoreError::Import(format!(
                "artifact {hash} (referenced at seq {seq}) {problem}; nothing was backed up \
                 (--allow-missing-artifacts backs up the rest)"
            )));
        }
        let path = images.path(hash).unwrap_or_default();
        write_file(&mut w, FileKind::Artifact, hash, &path).map_err(io)?;
        files += 1;
    }
    for (name, path) in trace_files(&data_dir)? {
        write_file(&mut w, FileKind::Trace, &name, &path).map_err(io)?;
        files += 1;
    }
    w.write_all(&[0u8]).map_err(io)?;
    w.write_all(&after.to_be_bytes()).map_err(io)?;
    w.write_all(&files.to_be_bytes()).map_err(io)?;
    let crc = w.crc.clone().finalize();
    let bytes = w.bytes + 4;
    let mut inner = w.inner;
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
        files,
        missing_artifacts,
        bytes,
    })
}

fn write_file(w: &mut impl Write, kind: FileKind, name: &str, path: &Path) -> std::io::Result<()> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    w.write_all(&[kind as u8])?;
    w.write_all(&(name.len() as u16).to_be_bytes())?;
    w.write_all(name.as_bytes())?;
    w.write_all(&len.to_be_bytes())?;
    let copied = std::io::copy(&mut (&mut file).take(len), w)?;
    if copied != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("{} shrank while it was backed up", path.display()),
        ));
    }
    Ok(())
}

/// Every file under `<data dir>/traces`, as (name relative to it with `/`, path), sorted.
fn trace_files(data_dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let root = crate::traces::traces_dir(data_dir);
    let mut out = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(&dir, e)),
        };
        for entry in entries {
            let path = entry.map_err(|e| StoreError::io(&dir, e))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                let relative = path.strip_prefix(&root).unwrap_or(&path);
                let name: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                let name = name.join("/");
                if trace_name_ok(&name) {
                    out.push((name, path));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A trace file name a restore may create: relative, plain components, no way out.
fn trace_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        })
}

/// Reads a backup, handing every decoded envelope to `on_event` and every carried file to
/// `on_file` (which must read all of it); verifies the trailer at the end. Returns
/// (events, files).
fn read_backup(
    path: &Path,
    mut on_event: impl FnMut(Envelope) -> Result<()>,
    mut on_file: impl FnMut(FileKind, &str, &mut dyn Read) -> Result<()>,
) -> Result<(u64, u64)> {
    let bad = |msg: String| StoreError::Import(format!("backup {}: {msg}", path.display()));
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut r = CrcReader {
        inner: BufReader::new(file),
        crc: crc32fast::Hasher::new(),
    };
    let mut head = [0u8; 5];
    r.read_exact(&mut head).map_err(|e| bad(e.to_string()))?;
    if &head[..4] != MAGIC || !matches!(head[4], FORMAT_EVENTS_ONLY | FORMAT) {
        return Err(bad("not a backup file (bad magic or format)".into()));
    }
    let (events, crc_before_marker) = read_records(&mut r, &bad, &mut on_event)?;
    if head[4] == FORMAT_EVENTS_ONLY {
        let mut trailer = [0u8; 12];
        r.read_exact(&mut trailer)
            .map_err(|e| bad(format!("truncated trailer: {e}")))?;
        let want = u64::from_be_bytes(trailer[..8].try_into().unwrap_or_default());
        let stored = u32::from_be_bytes(trailer[8..].try_into().unwrap_or_default());
        if want != events {
            return Err(bad(format!("trailer says {want} events, found {events}")));
        }
        if stored != crc_before_marker {
            return Err(bad("checksum mismatch".into()));
        }
        return at_end(&mut r, &bad).map(|()| (events, 0));
    }
    let files = read_files(&mut r, &bad, &mut on_file)?;
    let mut counts = [0u8; 16];
    r.read_exact(&mut counts)
        .map_err(|e| bad(format!("truncated trailer: {e}")))?;
    let want_events = u64::from_be_bytes(counts[..8].try_into().unwrap_or_default());
    let want_files = u64::from_be_bytes(counts[8..].try_into().unwrap_or_default());
    let crc = r.crc.clone().finalize();
    let mut stored = [0u8; 4];
    r.read_exact(&mut stored)
        .map_err(|e| bad(format!("truncated trailer: {e}")))?;
    if (want_events, want_files) != (events, files) {
        return Err(bad(format!(
            "trailer says {want_events} events and {want_files} files, found {events} and {files}"
        )));
    }
    if u32::from_be_bytes(stored) != crc {
        return Err(bad("checksum mismatch".into()));
    }
    at_end(&mut r, &bad).map(|()| (events, files))
}

/// The records up to the `u32 0` marker; returns their count and the CRC before the marker.
fn read_records(
    r: &mut CrcReader<impl Read>,
    bad: &impl Fn(String) -> StoreError,
    on_event: &mut impl FnMut(Envelope) -> Result<()>,
) -> Result<(u64, u32)> {
    let mut count = 0u64;
    let mut buf = Vec::new();
    loop {
        let crc_before = r.crc.clone().finalize();
        let mut len = [0u8; 4];
        r.read_exact(&mut len)
            .map_err(|e| bad(format!("truncated after seq {count}: {e}")))?;
        let n = u32::from_be_bytes(len) as usize;
        if n == 0 {
            return Ok((count, crc_before));
        }
        if n > MAX_RECORD_BYTES {
            return Err(bad(format!("record length {n} above the limit")));
        }
        buf.resize(n, 0);
        r.read_exact(&mut buf)
            .map_err(|e| bad(format!("truncated record: {e}")))?;
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
        on_event(env)?;
    }
}

/// The carried files up to the `u8 0` marker; returns their count.
fn read_files(
    r: &mut CrcReader<impl Read>,
    bad: &impl Fn(String) -> StoreError,
    on_file: &mut impl FnMut(FileKind, &str, &mut dyn Read) -> Result<()>,
) -> Result<u64> {
    let mut count = 0u64;
    loop {
        let mut kind = [0u8; 1];
        r.read_exact(&mut kind)
            .map_err(|e| bad(format!("truncated file list: {e}")))?;
        let kind = match kind[0] {
            0 => return Ok(count),
            1 => FileKind::Artifact,
            2 => FileKind::Trace,
            other => return Err(bad(format!("unknown file kind {other}"))),
        };
        let mut name_len = [0u8; 2];
        r.read_exact(&mut name_len)
            .map_err(|e| bad(format!("truncated file name: {e}")))?;
        let mut name = vec![0u8; usize::from(u16::from_be_bytes(name_len))];
        r.read_exact(&mut name)
            .map_err(|e| bad(format!("truncated file name: {e}")))?;
        let name = String::from_utf8(name).map_err(|_| bad("a file name is not UTF-8".into()))?;
        let name_ok = match kind {
            FileKind::Artifact => is_valid_hash(&name),
            FileKind::Trace => trace_name_ok(&name),
        };
        if !name_ok {
            return Err(bad(format!("refusing the file name {name:?}")));
        }
        let mut len = [0u8; 8];
        r.read_exact(&mut len)
            .map_err(|e| bad(format!("truncated file {name}: {e}")))?;
        let len = u64::from_be_bytes(len);
        if kind == FileKind::Artifact && len > MAX_ARTIFACT_BYTES {
            return Err(bad(format!("artifact {name} claims {len} bytes")));
        }
        let mut body = (&mut *r).take(len);
        on_file(kind, &name, &mut body)?;
        // Whatever the callback left unread still counts toward the checksum.
        std::io::copy(&mut body, &mut std::io::sink())
            .map_err(|e| bad(format!("truncated file {name}: {e}")))?;
        if body.limit() != 0 {
            return Err(bad(format!("truncated file {name}")));
        }
        count += 1;
    }
}

fn at_end(r: &mut impl Read, bad: &impl Fn(String) -> StoreError) -> Result<()> {
    let mut rest = [0u8; 1];
    if r.read(&mut rest).map_err(|e| bad(e.to_string()))? != 0 {
        return Err(bad("bytes after the trailer".into()));
    }
    Ok(())
}

/// Reads one carried artifact whole and checks that it hashes to its name.
fn read_artifact(name: &str, body: &mut dyn Read) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    body.read_to_end(&mut bytes)
        .map_err(|e| StoreError::Import(format!("artifact {name}: {e}")))?;
    if content_hash(&bytes) != name {
        return Err(StoreError::Import(format!(
            "artifact {name} in the backup is damaged (its bytes hash to {})",
            content_hash(&bytes)
        )));
    }
    Ok(bytes)
}

/// Verifies a backup file without restoring it (records, every artifact's hash, trailer);
/// returns its event count.
pub fn verify_backup(path: &Path) -> Result<u64> {
    let (events, _) = read_backup(
        path,
        |_| Ok(()),
        |kind, name, body| match kind {
            FileKind::Artifact => read_artifact(name, body).map(drop),
            FileKind::Trace => Ok(()),
        },
    )?;
    Ok(events)
}

/// Restores a backup into `data_dir`, which must not hold a store yet: the events, then the
/// artifacts and trace files it carries.
pub fn restore(backup_file: &Path, data_dir: &Path) -> Result<BackupSummary> {
    if data_dir
        .join(crate::store::sled::manifest::FILE_NAME)
        .exists()
    {
        return Err(StoreError::Import(format!(
            "{} already holds an event store; restore into an empty directory",
            data_dir.display()
        )));
    }
    verify_backup(backup_file)?;
    let store = SledStore::open(data_dir, StoreOptions::default())?;
    let images = ArtifactStore::new(data_dir);
    let traces = crate::traces::traces_dir(data_dir);
    let mut batch = Vec::with_capacity(8192);
    let (events, files) = read_backup(
        backup_file,
        |env| {
            batch.push(env);
            if batch.len() >= 8192 {
                store.import_blocking(std::mem::take(&mut batch))?;
            }
            Ok(())
        },
        |kind, name, body| match kind {
            FileKind::Artifact => {
                let bytes = read_artifact(name, body)?;
                images
                    .put(&bytes)
                    .map(drop)
                    .map_err(|e| StoreError::io(data_dir.join("artifacts"), e))
            }
            FileKind::Trace => restore_trace(&traces, name, body),
        },
    )?;
    store.import_blocking(batch)?;
    store.close();
    let bytes = std::fs::metadata(backup_file).map(|m| m.len()).unwrap_or(0);
    Ok(BackupSummary {
        events,
        files,
        missing_artifacts: 0,
        bytes,
    })
}

fn restore_trace(traces: &Path, name: &str, body: &mut dyn Read) -> Result<()> {
    let path = traces.join(name);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    }
    let mut file = File::create(&path).map_err(|e| StoreError::io(&path, e))?;
    std::io::copy(body, &mut file).map_err(|e| StoreError::io(&path, e))?;
    file.sync_all().map_err(|e| StoreError::io(&path, e))
}
