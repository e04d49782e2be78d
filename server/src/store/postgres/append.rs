//! The pieces of an append on PostgreSQL, with the sled backend's semantics, used by the
//! group-commit writer (`writer.rs`) and `store migrate`: the idempotency decision, the rows of
//! a request, the one-statement insert and the per-stream advisory-lock key.

use std::collections::HashMap;

use uuid::Uuid;

use crate::store::append::{PreparedAppend, PreparedEvent, PreparedStream};
use crate::store::backend::{AppendOutcome, Position, StreamOutcome};
use crate::store::envelope::Envelope;
use crate::store::error::{Result, StoreError};
use crate::store::ids::StreamId;
use crate::store::postgres::read::{self, Located};

/// Idempotency, decision: none of the ids in `found` -> `None` (append it); all of them, as
/// the same events -> the original outcome; some, or a different event -> an error.
pub(crate) fn decide_recorded(
    req: &PreparedAppend,
    found: &HashMap<Uuid, Located>,
) -> Result<Option<AppendOutcome>> {
    let mut known = 0;
    for (stream, e) in events(req) {
        if let Some(old) = found.get(&e.event_id) {
            if old.envelope.stream != stream || old.envelope.event != e.event {
                return Err(StoreError::EventIdReused {
                    event_id: e.event_id,
                    seq: old.envelope.seq,
                });
            }
            known += 1;
        }
    }
    if known == 0 {
        return Ok(None);
    }
    if known < req.len {
        return Err(StoreError::PartialDuplicate { existing: known });
    }
    let located: Vec<&Located> = events(req).map(|(_, e)| &found[&e.event_id]).collect();
    let mut streams: Vec<StreamOutcome> = Vec::new();
    for l in &located {
        let v = l.envelope.stream_version;
        match streams.iter_mut().find(|s| s.stream == l.envelope.stream) {
            Some(s) => {
                s.first_version = s.first_version.min(v);
                s.last_version = s.last_version.max(v);
            }
            None => streams.push(StreamOutcome {
                stream: l.envelope.stream,
                first_version: v,
                last_version: v,
            }),
        }
    }
    Ok(Some(AppendOutcome {
        streams,
        first_seq: located.iter().map(|l| l.envelope.seq).min().unwrap_or(0),
        last_seq: located.iter().map(|l| l.envelope.seq).max().unwrap_or(0),
        position: located
            .iter()
            .map(|l| l.position)
            .max()
            .unwrap_or(Position::START),
        duplicate: true,
    }))
}

/// One row to insert.
pub(crate) struct Row {
    kind: i16,
    entity: Uuid,
    version: i64,
    event_id: Uuid,
    event_type: i16,
    schema_version: i16,
    payload: Vec<u8>,
    recorded_at_us: i64,
}

/// The rows of one stream's events, versions counting on from `base`.
pub(crate) fn rows_for(
    s: &PreparedStream,
    base: u64,
    recorded_at_us: i64,
) -> impl Iterator<Item = Row> + '_ {
    let (kind, entity) = read::stream_key(&s.stream);
    (base + 1..).zip(&s.events).map(move |(version, e)| Row {
        kind,
        entity,
        version: version as i64,
        event_id: e.event_id,
        event_type: e.event_type.code() as i16,
        schema_version: e.event_type.current_version() as i16,
        payload: e.payload.clone(),
        recorded_at_us,
    })
}

impl Row {
    /// An event from another log as it is (id, stream, version, time), its payload re-encoded at
    /// today's schema version (it was validated when first appended).
    pub(crate) fn from_envelope(env: &Envelope) -> Result<Row> {
        let payload = env
            .event
            .encode_payload()
            .map_err(|e| StoreError::Import(format!("seq {}: {e}", env.seq)))?;
        let (kind, entity) = read::stream_key(&env.stream);
        let ty = env.event_type();
        Ok(Row {
            kind,
            entity,
            version: env.stream_version as i64,
            event_id: env.event_id,
            event_type: ty.code() as i16,
            schema_version: ty.current_version() as i16,
            payload,
            recorded_at_us: env.recorded_at_us,
        })
    }
}

/// Where each inserted row landed: `(position, xid)` in insert order.
type Inserted = Vec<(i64, i64)>;

/// Insert `rows` in one statement; returns `(position, xid)` per row, in order.
pub(crate) async fn insert_rows(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[Row],
) -> std::result::Result<Inserted, tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let kinds: Vec<i16> = rows.iter().map(|r| r.kind).collect();
    let entities: Vec<Uuid> = rows.iter().map(|r| r.entity).collect();
    let versions: Vec<i64> = rows.iter().map(|r| r.version).collect();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.event_id).collect();
    let types: Vec<i16> = rows.iter().map(|r| r.event_type).collect();
    let schemas: Vec<i16> = rows.iter().map(|r| r.schema_version).collect();
    let payloads: Vec<&[u8]> = rows.iter().map(|r| r.payload.as_slice()).collect();
    let times: Vec<i64> = rows.iter().map(|r| r.recorded_at_us).collect();
    let returned = tx
        .query(
            "INSERT INTO events (stream_kind, stream_entity, stream_version, event_id, \
                                 event_type, schema_version, payload, recorded_at) \
             SELECT k, e, v, i, t, s, p, timestamptz 'epoch' + r * interval '1 microsecond' \
             FROM unnest($1::int2[], $2::uuid[], $3::int8[], $4::uuid[], $5::int2[], \
                         $6::int2[], $7::bytea[], $8::int8[]) WITH ORDINALITY \
                  AS u(k, e, v, i, t, s, p, r, n) \
             ORDER BY n RETURNING event_id, position, xid",
            &[
                &kinds, &entities, &versions, &ids, &types, &schemas, &payloads, &times,
            ],
        )
        .await?;
    let by_id: HashMap<Uuid, (i64, i64)> = returned
        .iter()
        .map(|r| (r.get::<_, Uuid>(0), (r.get(1), r.get(2))))
        .collect();
    // Every id was just inserted, so each has its row; 0 marks an impossible miss.
    Ok(ids
        .iter()
        .map(|id| by_id.get(id).copied().unwrap_or((0, 0)))
        .collect())
}

fn events(req: &PreparedAppend) -> impl Iterator<Item = (StreamId, &PreparedEvent)> {
    req.streams
        .iter()
        .flat_map(|s| s.events.iter().map(move |e| (s.stream, e)))
}

/// The advisory-lock key of a stream: FNV-1a over its wire form. A collision only makes two
/// streams share a lock.
pub(crate) fn lock_key(stream: &StreamId) -> i64 {
    let (kind, entity) = stream.to_wire();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(kind).chain(entity) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}
