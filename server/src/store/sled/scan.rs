//! Ordered, parallel decoding of a range of the log, used by the start-up verification and
//! by projection rebuilds.
//!
//! The range is cut into chunks of [`CHUNK`] sequence numbers; decoder thread `w` iterates and
//! decodes chunks `w, w + T, w + 2T, …` from sled and hands each chunk over a small bounded
//! channel; the caller consumes chunk 0, 1, 2, … in order, so events arrive in sequence order
//! and memory stays bounded (at most two chunks in flight per thread).

use std::sync::mpsc::sync_channel;

use crate::store::envelope::{self, Envelope};
use crate::store::sled::keys;

/// Sequence numbers per chunk.
pub const CHUNK: u64 = 4096;

/// A failure while scanning: the first bad sequence number and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    pub seq: u64,
    pub reason: String,
}

/// Number of decoder threads to use for `events` records.
pub fn default_threads(events: u64) -> usize {
    if events < 2 * CHUNK {
        return 1;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

type Chunk = Result<Vec<(Envelope, usize)>, ScanError>;

fn decode_chunk(db: &sled::Db, first: u64, last: u64) -> Chunk {
    let mut out = Vec::with_capacity((last - first + 1) as usize);
    let mut expected = first;
    for item in db.range(keys::event(first)..=keys::event(last)) {
        let (k, v) = item.map_err(|e| ScanError {
            seq: expected,
            reason: format!("sled read failed: {e}"),
        })?;
        let seq = keys::parse_event(&k).ok_or_else(|| ScanError {
            seq: expected,
            reason: "malformed event key".into(),
        })?;
        if seq != expected {
            return Err(ScanError {
                seq: expected,
                reason: format!(
                    "the log has a gap: seq {expected} is missing (next record is {seq})"
                ),
            });
        }
        let env = envelope::decode_record(&v).map_err(|e| ScanError {
            seq,
            reason: format!("record seq {seq}: {e}"),
        })?;
        if env.seq != seq {
            return Err(ScanError {
                seq,
                reason: format!("record under key seq {seq} claims seq {}", env.seq),
            });
        }
        out.push((env, v.len()));
        expected += 1;
    }
    if expected != last + 1 {
        return Err(ScanError {
            seq: expected,
            reason: format!("the log has a gap: seq {expected} is missing"),
        });
    }
    Ok(out)
}

/// Decode every record with seq in `first..=last`, calling `f(envelope, record_len)` in
/// sequence order. Stops at the first bad record.
pub fn for_each_decoded(
    db: &sled::Db,
    first: u64,
    last: u64,
    threads: usize,
    mut f: impl FnMut(Envelope, usize),
) -> Result<(), ScanError> {
    if last < first {
        return Ok(());
    }
    if last - first > 1 << 48 {
        return Err(ScanError {
            seq: first,
            reason: format!("implausible range {first}..={last}"),
        });
    }
    let chunks = (last - first) / CHUNK + 1;
    let bounds = |k: u64| (first + k * CHUNK, (first + (k + 1) * CHUNK - 1).min(last));
    let threads = threads.clamp(1, chunks.min(16) as usize);
    if threads == 1 {
        for k in 0..chunks {
            let (a, b) = bounds(k);
            for (env, len) in decode_chunk(db, a, b)? {
                f(env, len);
            }
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let mut rxs = Vec::with_capacity(threads);
        for w in 0..threads {
            let (tx, rx) = sync_channel::<Chunk>(2);
            rxs.push(rx);
            scope.spawn(move || {
                let mut k = w as u64;
                while k < chunks {
                    let (a, b) = bounds(k);
                    let chunk = decode_chunk(db, a, b);
                    let failed = chunk.is_err();
                    if tx.send(chunk).is_err() || failed {
                        return;
                    }
                    k += threads as u64;
                }
            });
        }
        for k in 0..chunks {
            let rx = &rxs[(k % threads as u64) as usize];
            let chunk = rx.recv().map_err(|_| ScanError {
                seq: bounds(k).0,
                reason: "decoder thread stopped".into(),
            })?;
            for (env, len) in chunk? {
                f(env, len);
            }
        }
        Ok(())
    })
}
