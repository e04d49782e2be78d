//! One append as one PostgreSQL transaction, with the sled backend's semantics: idempotent by
//! event id, optimistic versions per stream, all streams or none.
//!
//! Each stream of the request is locked with a transaction-scoped advisory lock *before* the
//! transaction writes anything. PostgreSQL assigns the transaction id at the first write, so a
//! later writer of the same stream always gets a larger id than the one it waited for, and the
//! `(xid, position)` commit order keeps every stream's versions in order.

use std::collections::HashMap;

use tokio_postgres::error::SqlState;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::store::append::{PreparedAppend, PreparedEvent, PreparedStream};
use crate::store::backend::{AppendOutcome, ExpectedVersion, Position, StreamOutcome};
use crate::store::error::{Result, StoreError};
use crate::store::ids::StreamId;
use crate::store::postgres::read::{self, Located, COLUMNS};
use crate::store::postgres::{db_error, NOTIFY_CHANNEL};
use crate::store::util::now_us;

/// Why one attempt failed.
enum Attempt {
    /// A concurrent writer took an event id or version between our checks and our insert (only
    /// possible for writers that skip the stream lock, or an identical retry in flight): retry.
    Raced,
    Failed(StoreError),
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Self {
        Attempt::Failed(e)
    }
}

/// Append a validated request; resolves once it is committed.
pub(crate) async fn append(client: &mut Client, req: &PreparedAppend) -> Result<AppendOutcome> {
    for _ in 0..3 {
        match attempt(client, req).await {
            Ok(outcome) => return Ok(outcome),
            Err(Attempt::Raced) => continue,
            Err(Attempt::Failed(e)) => return Err(e),
        }
    }
    Err(StoreError::Database {
        detail: "an append kept racing concurrent writers of the same event ids; retry".into(),
    })
}

async fn attempt(client: &mut Client, req: &PreparedAppend) -> Result<AppendOutcome, Attempt> {
    let tx = client.transaction().await.map_err(db_error)?;
    let mut locks: Vec<i64> = req.streams.iter().map(|s| lock_key(&s.stream)).collect();
    locks.sort_unstable();
    locks.dedup();
    for key in locks {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
            .await
            .map_err(db_error)?;
    }
    if let Some(outcome) = already_recorded(&tx, req).await? {
        return Ok(outcome);
    }
    let mut bases = Vec::with_capacity(req.streams.len());
    for s in &req.streams {
        let current = read::stream_version(&tx, s.stream).await?;
        if let ExpectedVersion::Exact(expected) = s.expected {
            if expected != current {
                return Err(StoreError::Conflict {
                    stream: s.stream,
                    expected,
                    current,
                }
                .into());
            }
        }
        bases.push(current);
    }
    let rows: Vec<Row> = req
        .streams
        .iter()
        .zip(&bases)
        .flat_map(|(s, base)| rows_for(s, *base))
        .collect();
    let inserted = insert_rows(&tx, &rows).await.map_err(|e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            Attempt::Raced
        } else {
            Attempt::Failed(db_error(e))
        }
    })?;
    tx.batch_execute(&format!("NOTIFY {NOTIFY_CHANNEL}"))
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(outcome(req, &bases, &inserted))
}

/// Idempotency, read side: the request's ids already in the log.
async fn already_recorded(
    tx: &tokio_postgres::Transaction<'_>,
    req: &PreparedAppend,
) -> Result<Option<AppendOutcome>, Attempt> {
    let ids: Vec<Uuid> = events(req).map(|(_, e)| e.event_id).collect();
    let sql = format!("SELECT {COLUMNS} FROM events WHERE event_id = ANY($1)");
    let rows = tx.query(&sql, &[&ids]).await.map_err(db_error)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let found: HashMap<Uuid, Located> = rows
        .iter()
        .map(|r| read::envelope_from_row(r).map(|l| (l.envelope.event_id, l)))
        .collect::<Result<_>>()?;
    Ok(decide_recorded(req, &found)?)
}

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

/// Where each inserted row landed: `(position, xid)` in insert order.
type Inserted = Vec<(i64, i64)>;

/// One row to insert.
pub(crate) struct Row {
    kind: i16,
    entity: Uuid,
    version: i64,
    event_id: Uuid,
    event_type: i16,
    schema_version: i16,
    payload: Vec<u8>,
}

/// The rows of one stream's events, versions counting on from `base`.
pub(crate) fn rows_for(s: &PreparedStream, base: u64) -> impl Iterator<Item = Row> + '_ {
    let (kind, entity) = read::stream_key(&s.stream);
    (base + 1..).zip(&s.events).map(move |(version, e)| Row {
        kind,
        entity,
        version: version as i64,
        event_id: e.event_id,
        event_type: e.event_type.code() as i16,
        schema_version: e.event_type.current_version() as i16,
        payload: e.payload.clone(),
    })
}

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
    let returned = tx
        .query(
            "INSERT INTO events (stream_kind, stream_entity, stream_version, event_id, \
                                 event_type, schema_version, payload, recorded_at) \
             SELECT k, e, v, i, t, s, p, timestamptz 'epoch' + $8::bigint * interval '1 microsecond' \
             FROM unnest($1::int2[], $2::uuid[], $3::int8[], $4::uuid[], $5::int2[], \
                         $6::int2[], $7::bytea[]) WITH ORDINALITY AS u(k, e, v, i, t, s, p, n) \
             ORDER BY n RETURNING event_id, position, xid",
            &[
                &kinds, &entities, &versions, &ids, &types, &schemas, &payloads, &now_us(),
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

fn outcome(req: &PreparedAppend, bases: &[u64], rows: &Inserted) -> AppendOutcome {
    let streams = req
        .streams
        .iter()
        .zip(bases)
        .map(|(s, base)| StreamOutcome {
            stream: s.stream,
            first_version: base + 1,
            last_version: base + s.events.len() as u64,
        })
        .collect();
    let last = rows
        .iter()
        .max_by_key(|(seq, _)| *seq)
        .copied()
        .unwrap_or((0, 0));
    AppendOutcome {
        streams,
        first_seq: rows.iter().map(|(s, _)| *s as u64).min().unwrap_or(0),
        last_seq: last.0 as u64,
        position: Position::from_parts(last.1 as u64, last.0 as u64),
        duplicate: false,
    }
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
