//! Full verification of a sled log, used at start-up (where it also rebuilds the projections
//! in the same pass) and by `stablesteering store verify`.
//!
//! Checks, reporting the first bad position:
//! * every `e` record: contiguous seqs from 1, format byte, CRC, envelope and payload decode,
//!   envelope seq equals its key, per-stream versions contiguous;
//! * the `m` head equals the last record, and is not below the high-water manifest (sled's
//!   failure mode under corruption is to silently drop every later event);
//! * the `s` index holds exactly one entry per event, pointing at the matching record;
//! * the `h` stream heads match the records; the `i` index holds every event id exactly once;
//! * no unknown keys.

use std::collections::HashMap;

use crate::store::ids::StreamId;
use crate::store::projections::Projections;
use crate::store::sled::keys;
use crate::store::sled::scan;

/// What a successful scan found.
#[derive(Debug, Clone)]
pub struct ScanOutput {
    pub head: u64,
    pub stream_heads: HashMap<StreamId, u64>,
    pub projections: Projections,
    pub last_recorded_us: i64,
    pub record_bytes: u64,
    /// The image artifacts the log references (checked by `store verify`).
    pub artifacts: crate::store::artifact_refs::ArtifactRefs,
}

/// Why a scan failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub first_bad: Option<u64>,
    pub reason: String,
}

fn damage(first_bad: Option<u64>, reason: impl Into<String>) -> Damage {
    Damage {
        first_bad,
        reason: reason.into(),
    }
}

/// Scan and verify everything; `manifest_hw` is the high water the log must reach.
pub fn scan(db: &sled::Db, manifest_hw: u64) -> Result<ScanOutput, Damage> {
    let mut projections = Projections::default();
    let mut stream_ids: Vec<StreamId> = Vec::new();
    let mut stream_index: HashMap<StreamId, u32> = HashMap::new();
    let mut stream_heads: HashMap<StreamId, u64> = HashMap::new();
    // Per seq (index seq-1): stream index, version, event id.
    let mut per_seq: Vec<(u32, u64, [u8; 16])> = Vec::new();
    let mut last_recorded_us = i64::MIN;
    let mut record_bytes = 0u64;
    let mut artifacts = crate::store::artifact_refs::ArtifactRefs::default();

    let sled_err = |at: u64, e: sled::Error| damage(Some(at), format!("sled read failed: {e}"));

    let head = match db.get(keys::HEAD_KEY).map_err(|e| sled_err(1, e))? {
        Some(v) => keys::parse_u64(&v).ok_or_else(|| damage(None, "malformed head value"))?,
        None => 0,
    };
    // Keeps every later `head + 1` far from overflow, whatever a corrupt marker says.
    if head > 1 << 48 {
        return Err(damage(None, format!("implausible head marker {head}")));
    }
    let mut version_damage: Option<Damage> = None;
    scan::for_each_decoded(db, 1, head, scan::default_threads(head), |env, len| {
        if version_damage.is_some() {
            return;
        }
        record_bytes += len as u64;
        let prev = stream_heads.get(&env.stream).copied().unwrap_or(0);
        if env.stream_version != prev + 1 {
            version_damage = Some(damage(
                Some(env.seq),
                format!(
                    "stream {} jumps from version {prev} to {} at seq {}",
                    env.stream, env.stream_version, env.seq
                ),
            ));
            return;
        }
        stream_heads.insert(env.stream, env.stream_version);
        let idx = *stream_index.entry(env.stream).or_insert_with(|| {
            stream_ids.push(env.stream);
            (stream_ids.len() - 1) as u32
        });
        per_seq.push((idx, env.stream_version, *env.event_id.as_bytes()));
        last_recorded_us = last_recorded_us.max(env.recorded_at_us);
        artifacts.note(env.seq, &env.event);
        projections.apply(env);
    })
    .map_err(|e| damage(Some(e.seq), e.reason))?;
    if let Some(d) = version_damage {
        return Err(d);
    }
    // Records beyond the head marker (or a log without one).
    if let Some(item) = db
        .range(keys::event(head + 1)..=keys::event(u64::MAX))
        .next()
    {
        let (k, _) = item.map_err(|e| sled_err(head + 1, e))?;
        let seq = keys::parse_event(&k).unwrap_or(head + 1);
        return Err(damage(
            Some(head + 1),
            format!("record seq {seq} lies beyond the head marker (seq {head})"),
        ));
    }
    if head < manifest_hw {
        return Err(damage(
            Some(head + 1),
            format!(
                "the log ends at seq {head} but the high-water manifest records seq \
                 {manifest_hw}: events were lost (silent truncation)"
            ),
        ));
    }

    // `s` index: one entry per event, matching the record.
    let mut s_count = 0u64;
    for item in db.scan_prefix([keys::STREAM]) {
        let (k, v) = item.map_err(|e| sled_err(0, e))?;
        let (stream, version) = keys::parse_stream_version(&k)
            .ok_or_else(|| damage(None, "malformed stream index key"))?;
        let seq =
            keys::parse_u64(&v).ok_or_else(|| damage(None, "malformed stream index value"))?;
        let ok = seq >= 1
            && seq <= head
            && per_seq.get((seq - 1) as usize).is_some_and(|(i, ver, _)| {
                stream_ids.get(*i as usize) == Some(&stream) && *ver == version
            });
        if !ok {
            return Err(damage(
                Some(seq.clamp(1, head.max(1))),
                format!(
                    "stream index entry {stream} v{version} -> seq {seq} does not match the log"
                ),
            ));
        }
        s_count += 1;
    }
    if s_count != head {
        return Err(damage(
            None,
            format!("the stream index has {s_count} entries for {head} events"),
        ));
    }

    // `h` stream heads.
    let mut h_count = 0usize;
    for item in db.scan_prefix([keys::STREAM_HEAD]) {
        let (k, v) = item.map_err(|e| sled_err(0, e))?;
        let stream =
            keys::parse_stream_head(&k).ok_or_else(|| damage(None, "malformed stream head key"))?;
        let version =
            keys::parse_u64(&v).ok_or_else(|| damage(None, "malformed stream head value"))?;
        if stream_heads.get(&stream) != Some(&version) {
            return Err(damage(
                None,
                format!(
                    "stream head of {stream} says version {version}, the log says {:?}",
                    stream_heads.get(&stream)
                ),
            ));
        }
        h_count += 1;
    }
    if h_count != stream_heads.len() {
        return Err(damage(
            None,
            format!(
                "{h_count} stream heads recorded for {} streams",
                stream_heads.len()
            ),
        ));
    }

    // `i` event-id index.
    let mut i_count = 0u64;
    for item in db.scan_prefix([keys::EVENT_ID]) {
        let (k, v) = item.map_err(|e| sled_err(0, e))?;
        let id = keys::parse_event_id(&k).ok_or_else(|| damage(None, "malformed event id key"))?;
        let seq = keys::parse_u64(&v).ok_or_else(|| damage(None, "malformed event id value"))?;
        let ok = seq >= 1
            && seq <= head
            && per_seq
                .get((seq - 1) as usize)
                .is_some_and(|(_, _, eid)| eid == id.as_bytes());
        if !ok {
            return Err(damage(
                Some(seq.clamp(1, head.max(1))),
                format!("event id index entry {id} -> seq {seq} does not match the log"),
            ));
        }
        i_count += 1;
    }
    if i_count != head {
        return Err(damage(
            None,
            format!("the event id index has {i_count} entries for {head} events"),
        ));
    }

    // Nothing else may live in the tree: the gaps between our prefixes must be empty and the
    // `m` prefix holds only the head marker.
    let gaps: [(&[u8], Option<&[u8]>); 5] = [
        (&[], Some(&[keys::EVENT])),
        (&[keys::EVENT + 1], Some(&[keys::STREAM_HEAD])),
        (&[keys::EVENT_ID + 1], Some(&[keys::META])),
        (&[keys::META + 1], Some(&[keys::STREAM])),
        (&[keys::STREAM + 1], None),
    ];
    for (lo, hi) in gaps {
        let mut it = match hi {
            Some(hi) => db.range(lo..hi),
            None => db.range(lo..),
        };
        if let Some(item) = it.next() {
            let (k, _) = item.map_err(|e| sled_err(0, e))?;
            return Err(damage(
                None,
                format!("unknown key {:?}", String::from_utf8_lossy(&k)),
            ));
        }
    }
    for item in db.scan_prefix([keys::META]) {
        let (k, _) = item.map_err(|e| sled_err(0, e))?;
        if k.as_ref() != keys::HEAD_KEY {
            return Err(damage(
                None,
                format!("unknown key {:?}", String::from_utf8_lossy(&k)),
            ));
        }
    }
    let trees = db.tree_names();
    if trees.len() != 1 {
        return Err(damage(
            None,
            format!("{} sled trees, expected 1", trees.len()),
        ));
    }

    Ok(ScanOutput {
        head,
        stream_heads,
        projections,
        last_recorded_us: if last_recorded_us == i64::MIN {
            0
        } else {
            last_recorded_us
        },
        record_bytes,
        artifacts,
    })
}
