//! The envelope of every event and the record codec.
//!
//! Stored record (format 1), frozen:
//!
//! ```text
//! [format u8 = 1][crc32 u32 big-endian, over the envelope bytes][envelope bytes]
//! envelope bytes = bincode(standard, varint, LE) of, in order:
//!   event_id [u8;16], stream_kind u8, stream_entity [u8;16] (zeros for global streams),
//!   stream_version u64, seq u64, recorded_at_us i64, event_type u16, schema_version u16,
//!   payload Vec<u8> (the bincode bytes of the frozen payload struct of that version)
//! ```
//!
//! Decoding checks the size limit, the format byte, the CRC, that every byte is used, the
//! event type and schema version, then decodes and upcasts the payload. Every failure is a
//! typed [`DecodeError`]; nothing panics and no allocation exceeds the codec limit.

use bincode::enc::Encoder;
use bincode::error::EncodeError;
use bincode::Encode;
use uuid::Uuid;

use crate::store::codec::{self, MAX_RECORD_BYTES};
use crate::store::error::DecodeError;
use crate::store::events::{upcast, Event, EventType};
use crate::store::ids::StreamId;

/// The only record format so far.
pub const FORMAT_V1: u8 = 1;

/// Bytes before the envelope: format byte + CRC32.
pub const HEADER_LEN: usize = 5;

/// One recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub event_id: Uuid,
    pub stream: StreamId,
    /// 1-based version of the event within its stream.
    pub stream_version: u64,
    /// 1-based global sequence number; equals commit order.
    pub seq: u64,
    /// Wall-clock time of the commit, microseconds since the Unix epoch.
    pub recorded_at_us: i64,
    /// The schema version the payload was stored with (the payload itself is already upcast).
    pub schema_version: u16,
    pub event: Event,
}

impl Envelope {
    /// The event's type.
    pub fn event_type(&self) -> EventType {
        self.event.event_type()
    }

    /// Encode as a record with the payload at its current schema version.
    pub fn to_record(&self) -> Result<Vec<u8>, EncodeError> {
        let payload = self.event.encode_payload()?;
        let header = RecordHeader {
            event_id: self.event_id,
            stream: self.stream,
            stream_version: self.stream_version,
            seq: self.seq,
            recorded_at_us: self.recorded_at_us,
            event_type: self.event_type(),
            schema_version: self.event_type().current_version(),
        };
        encode_record(&header, &payload)
    }
}

/// Everything in an envelope except the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub event_id: Uuid,
    pub stream: StreamId,
    pub stream_version: u64,
    pub seq: u64,
    pub recorded_at_us: i64,
    pub event_type: EventType,
    pub schema_version: u16,
}

/// A record whose envelope is decoded but whose payload is still bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub header: RecordHeader,
    pub payload: Vec<u8>,
}

impl RawRecord {
    /// Decode and upcast the payload.
    pub fn into_envelope(self) -> Result<Envelope, DecodeError> {
        let h = self.header;
        let event = upcast::decode_payload(h.event_type, h.schema_version, &self.payload)?;
        Ok(Envelope {
            event_id: h.event_id,
            stream: h.stream,
            stream_version: h.stream_version,
            seq: h.seq,
            recorded_at_us: h.recorded_at_us,
            schema_version: h.schema_version,
            event,
        })
    }
}

struct WireRef<'a> {
    header: &'a RecordHeader,
    payload: &'a [u8],
}

impl Encode for WireRef<'_> {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        let h = self.header;
        let (kind, entity) = h.stream.to_wire();
        h.event_id.as_bytes().encode(e)?;
        kind.encode(e)?;
        entity.encode(e)?;
        h.stream_version.encode(e)?;
        h.seq.encode(e)?;
        h.recorded_at_us.encode(e)?;
        h.event_type.code().encode(e)?;
        h.schema_version.encode(e)?;
        self.payload.encode(e)
    }
}

#[derive(bincode::BorrowDecode)]
struct WireBorrowed<'a> {
    event_id: [u8; 16],
    stream_kind: u8,
    stream_entity: [u8; 16],
    stream_version: u64,
    seq: u64,
    recorded_at_us: i64,
    event_type: u16,
    schema_version: u16,
    payload: &'a [u8],
}

/// Build a record from a header and already-encoded payload bytes.
pub fn encode_record(header: &RecordHeader, payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let body = bincode::encode_to_vec(WireRef { header, payload }, codec::config())?;
    if body.len() + HEADER_LEN > MAX_RECORD_BYTES {
        return Err(EncodeError::Other("record exceeds MAX_RECORD_BYTES"));
    }
    let crc = crc32fast::hash(&body);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Check size, format and CRC, and decode the envelope, leaving the payload as bytes.
pub fn decode_raw(bytes: &[u8]) -> Result<RawRecord, DecodeError> {
    let (header, payload) = decode_header(bytes)?;
    Ok(RawRecord {
        header,
        payload: payload.to_vec(),
    })
}

/// Check size, format and CRC; decode the header and borrow the payload bytes.
pub fn decode_header(bytes: &[u8]) -> Result<(RecordHeader, &[u8]), DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            limit: MAX_RECORD_BYTES,
        });
    }
    if bytes[0] != FORMAT_V1 {
        return Err(DecodeError::UnknownFormat(bytes[0]));
    }
    if bytes.len() < HEADER_LEN {
        return Err(DecodeError::TooShort { len: bytes.len() });
    }
    let stored = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let body = &bytes[HEADER_LEN..];
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(DecodeError::Crc { stored, computed });
    }
    let w: WireBorrowed<'_> = codec::borrow_decode_exact(body).map_err(|e| match e {
        codec::DecodeFailure::Trailing(n) => DecodeError::TrailingBytes {
            what: "envelope",
            trailing: n,
        },
        codec::DecodeFailure::Malformed(s) => DecodeError::Envelope(s),
    })?;
    let stream = StreamId::from_wire(w.stream_kind, w.stream_entity)
        .ok_or(DecodeError::UnknownStreamKind(w.stream_kind))?;
    let event_type =
        EventType::from_code(w.event_type).ok_or(DecodeError::UnknownEventType(w.event_type))?;
    Ok((
        RecordHeader {
            event_id: Uuid::from_bytes(w.event_id),
            stream,
            stream_version: w.stream_version,
            seq: w.seq,
            recorded_at_us: w.recorded_at_us,
            event_type,
            schema_version: w.schema_version,
        },
        w.payload,
    ))
}

/// Fully decode a record: envelope, payload, upcast.
pub fn decode_record(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    let (h, payload) = decode_header(bytes)?;
    let event = upcast::decode_payload(h.event_type, h.schema_version, payload)?;
    Ok(Envelope {
        event_id: h.event_id,
        stream: h.stream,
        stream_version: h.stream_version,
        seq: h.seq,
        recorded_at_us: h.recorded_at_us,
        schema_version: h.schema_version,
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::events::v1::JobStartedV1;
    use crate::store::ids::Id;

    fn sample() -> Envelope {
        Envelope {
            event_id: Uuid::from_u128(7),
            stream: StreamId::Jobs,
            stream_version: 3,
            seq: 9,
            recorded_at_us: 1_700_000_000_000_000,
            schema_version: 1,
            event: Event::JobStarted(JobStartedV1 {
                job_id: Id(Uuid::from_u128(5)),
            }),
        }
    }

    #[test]
    fn round_trip() {
        let env = sample();
        let rec = env.to_record().unwrap();
        assert_eq!(decode_record(&rec).unwrap(), env);
    }

    #[test]
    fn every_truncation_and_flip_is_a_typed_error_or_identical() {
        let rec = sample().to_record().unwrap();
        for n in 0..rec.len() {
            assert!(decode_record(&rec[..n]).is_err());
        }
        for i in 0..rec.len() {
            for bit in 0..8 {
                let mut r = rec.clone();
                r[i] ^= 1 << bit;
                assert!(
                    decode_record(&r).is_err(),
                    "flip at {i}:{bit} went unnoticed"
                );
            }
        }
    }
}
