//! Planning a group: idempotency lookups, expected-version checks, position assignment and
//! record encoding for appends and imports. Nothing here touches the disk except reads of the
//! event-id index; the plan is written by `Writer::write` as one atomic batch.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::store::append::{PreparedAppend, PreparedEvent};
use crate::store::backend::{AppendOutcome, ExpectedVersion, Position, StreamOutcome};
use crate::store::envelope::{self, Envelope, RecordHeader};
use crate::store::error::{DecodeError, Result, StoreError};
use crate::store::ids::StreamId;
use crate::store::sled::keys;
use crate::store::util::now_us;

use super::{sled_err, GroupPlan, Located, Writer};

impl Writer {
    pub(super) fn current_version(&self, plan: &GroupPlan, stream: &StreamId) -> u64 {
        plan.heads
            .get(stream)
            .or_else(|| self.heads.get(stream))
            .copied()
            .unwrap_or(0)
    }

    pub(super) fn next_seq(&self, plan: &GroupPlan) -> u64 {
        plan.envelopes.last().map(|e| e.seq).unwrap_or(self.head) + 1
    }

    /// Find an already-recorded event id: pending in this group, or committed.
    fn locate(&self, plan: &GroupPlan, id: &Uuid) -> Result<Option<(Located, Option<usize>)>> {
        if let Some((loc, idx)) = plan.ids.get(id) {
            return Ok(Some((*loc, Some(*idx))));
        }
        let db = self
            .db
            .as_ref()
            .ok_or_else(|| sled_err(&self.shared, "database not open"))?;
        let Some(v) = db
            .get(keys::event_id(id))
            .map_err(|e| sled_err(&self.shared, e))?
        else {
            return Ok(None);
        };
        let seq = keys::parse_u64(&v).ok_or(StoreError::Corrupt {
            seq: 0,
            source: DecodeError::Envelope(format!("bad index value for event id {id}")),
        })?;
        let rec = db
            .get(keys::event(seq))
            .map_err(|e| sled_err(&self.shared, e))?
            .ok_or(StoreError::Corrupt {
                seq,
                source: DecodeError::Envelope("indexed record is missing".into()),
            })?;
        let raw =
            envelope::decode_raw(&rec).map_err(|source| StoreError::Corrupt { seq, source })?;
        Ok(Some((
            Located {
                seq,
                stream: raw.header.stream,
                version: raw.header.stream_version,
            },
            None,
        )))
    }

    /// Is the recorded event at `loc` the same as `new` (stream, type and payload)?
    fn same_event(
        &self,
        plan: &GroupPlan,
        loc: &Located,
        pending_idx: Option<usize>,
        stream: &StreamId,
        new: &PreparedEvent,
    ) -> Result<bool> {
        if &loc.stream != stream {
            return Ok(false);
        }
        if let Some(i) = pending_idx {
            return Ok(plan.envelopes.get(i).is_some_and(|e| e.event == new.event));
        }
        let db = self
            .db
            .as_ref()
            .ok_or_else(|| sled_err(&self.shared, "database not open"))?;
        let rec = db
            .get(keys::event(loc.seq))
            .map_err(|e| sled_err(&self.shared, e))?
            .ok_or(StoreError::Corrupt {
                seq: loc.seq,
                source: DecodeError::Envelope("indexed record is missing".into()),
            })?;
        let raw = envelope::decode_raw(&rec).map_err(|source| StoreError::Corrupt {
            seq: loc.seq,
            source,
        })?;
        if raw.header.event_type != new.event_type {
            return Ok(false);
        }
        if raw.header.schema_version == new.event_type.current_version() {
            return Ok(raw.payload == new.payload);
        }
        let old = raw.into_envelope().map_err(|source| StoreError::Corrupt {
            seq: loc.seq,
            source,
        })?;
        Ok(old.event == new.event)
    }

    pub(super) fn plan_append(
        &mut self,
        plan: &mut GroupPlan,
        req: PreparedAppend,
    ) -> Result<AppendOutcome> {
        // Idempotency: all ids known -> the original positions; some known -> error.
        let mut found: Vec<(Located, Option<usize>)> = Vec::new();
        for s in &req.streams {
            for e in &s.events {
                if let Some((loc, idx)) = self.locate(plan, &e.event_id)? {
                    if !self.same_event(plan, &loc, idx, &s.stream, e)? {
                        return Err(StoreError::EventIdReused {
                            event_id: e.event_id,
                            seq: loc.seq,
                        });
                    }
                    found.push((loc, idx));
                }
            }
        }
        if found.len() == req.len {
            let locs: Vec<Located> = found.iter().map(|(l, _)| *l).collect();
            return Ok(outcome_from_locs(&locs, true));
        }
        if !found.is_empty() {
            return Err(StoreError::PartialDuplicate {
                existing: found.len(),
            });
        }
        // Expected versions.
        for s in &req.streams {
            let current = self.current_version(plan, &s.stream);
            if let ExpectedVersion::Exact(v) = s.expected {
                if v != current {
                    return Err(StoreError::Conflict {
                        stream: s.stream,
                        expected: v,
                        current,
                    });
                }
            }
        }
        // Assign positions and encode every record before touching the plan.
        let recorded_at_us = now_us().max(self.last_recorded_us);
        let mut seq = self.next_seq(plan);
        let mut staged = Vec::with_capacity(req.len);
        for s in req.streams {
            let base = self.current_version(plan, &s.stream);
            for (version, e) in (base + 1..).zip(s.events) {
                let header = RecordHeader {
                    event_id: e.event_id,
                    stream: s.stream,
                    stream_version: version,
                    seq,
                    recorded_at_us,
                    event_type: e.event_type,
                    schema_version: e.event_type.current_version(),
                };
                let record = envelope::encode_record(&header, &e.payload).map_err(|err| {
                    StoreError::InvalidRequest(format!("event {}: {err}", e.event_id))
                })?;
                let env = Envelope {
                    event_id: e.event_id,
                    stream: s.stream,
                    stream_version: version,
                    seq,
                    recorded_at_us,
                    schema_version: header.schema_version,
                    event: e.event,
                };
                staged.push((env, record));
                seq += 1;
            }
        }
        let locs: Vec<Located> = staged
            .iter()
            .map(|(e, _)| Located {
                seq: e.seq,
                stream: e.stream,
                version: e.stream_version,
            })
            .collect();
        let outcome = outcome_from_locs(&locs, false);
        self.stage(plan, staged);
        Ok(outcome)
    }

    fn stage(&mut self, plan: &mut GroupPlan, staged: Vec<(Envelope, Vec<u8>)>) {
        for (env, record) in staged {
            let loc = Located {
                seq: env.seq,
                stream: env.stream,
                version: env.stream_version,
            };
            plan.bytes += record.len() as u64 + 64;
            plan.batch.insert(&keys::event(env.seq), record);
            plan.batch.insert(
                keys::stream_version(&env.stream, env.stream_version),
                &keys::u64_value(env.seq),
            );
            plan.batch
                .insert(&keys::event_id(&env.event_id), &keys::u64_value(env.seq));
            plan.heads.insert(env.stream, env.stream_version);
            plan.ids.insert(env.event_id, (loc, plan.envelopes.len()));
            plan.envelopes.push(env);
        }
    }

    pub(super) fn plan_import(
        &mut self,
        plan: &mut GroupPlan,
        envelopes: Vec<Envelope>,
    ) -> Result<u64> {
        let mut seq = self.next_seq(plan);
        let mut local_heads: HashMap<StreamId, u64> = HashMap::new();
        let mut local_ids = HashSet::new();
        let mut staged = Vec::with_capacity(envelopes.len());
        for env in envelopes {
            if env.seq != seq {
                return Err(StoreError::Import(format!(
                    "expected seq {seq}, found {} (imports must be contiguous from the store's head)",
                    env.seq
                )));
            }
            let current = local_heads
                .get(&env.stream)
                .copied()
                .unwrap_or_else(|| self.current_version(plan, &env.stream));
            if env.stream_version != current + 1 {
                return Err(StoreError::Import(format!(
                    "seq {}: stream {} version {} does not follow {current}",
                    env.seq, env.stream, env.stream_version
                )));
            }
            if !local_ids.insert(env.event_id) || self.locate(plan, &env.event_id)?.is_some() {
                return Err(StoreError::Import(format!(
                    "seq {}: event id {} is already recorded",
                    env.seq, env.event_id
                )));
            }
            crate::store::events::validate_event(&env.stream, &env.event)
                .map_err(|e| StoreError::Import(format!("seq {}: {e}", env.seq)))?;
            let record = env
                .to_record()
                .map_err(|e| StoreError::Import(format!("seq {}: {e}", env.seq)))?;
            local_heads.insert(env.stream, env.stream_version);
            let mut env = env;
            env.schema_version = env.event_type().current_version();
            staged.push((env, record));
            seq += 1;
        }
        let last = seq - 1;
        self.stage(plan, staged);
        Ok(last)
    }
}

fn outcome_from_locs(locs: &[Located], duplicate: bool) -> AppendOutcome {
    let mut streams: Vec<StreamOutcome> = Vec::new();
    for l in locs {
        match streams.iter_mut().find(|s| s.stream == l.stream) {
            Some(s) => {
                s.first_version = s.first_version.min(l.version);
                s.last_version = s.last_version.max(l.version);
            }
            None => streams.push(StreamOutcome {
                stream: l.stream,
                first_version: l.version,
                last_version: l.version,
            }),
        }
    }
    let first_seq = locs.iter().map(|l| l.seq).min().unwrap_or(0);
    let last_seq = locs.iter().map(|l| l.seq).max().unwrap_or(0);
    AppendOutcome {
        streams,
        first_seq,
        last_seq,
        position: Position::from_parts(0, last_seq),
        duplicate,
    }
}
