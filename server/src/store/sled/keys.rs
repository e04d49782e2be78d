//! The sled key layout (one tree, one-byte prefixes, big-endian integers so that byte order is
//! numeric order). Frozen: changing it is a data migration.
//!
//! | key | value |
//! |---|---|
//! | `e` + seq u64 | record `[format u8][crc32 u32][envelope]` |
//! | `s` + stream key + version u64 | seq u64 |
//! | `h` + stream key | current stream version u64 |
//! | `i` + event id (16 bytes) | seq u64 |
//! | `m` + `head` | last committed seq u64 |

use uuid::Uuid;

use crate::store::ids::StreamId;

pub const EVENT: u8 = b'e';
pub const STREAM: u8 = b's';
pub const STREAM_HEAD: u8 = b'h';
pub const EVENT_ID: u8 = b'i';
pub const META: u8 = b'm';

/// `m` + `head`.
pub const HEAD_KEY: &[u8] = b"mhead";

/// `e` + seq.
pub fn event(seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = EVENT;
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Parse an `e` key.
pub fn parse_event(key: &[u8]) -> Option<u64> {
    if key.len() != 9 || key[0] != EVENT {
        return None;
    }
    Some(u64::from_be_bytes(key[1..].try_into().ok()?))
}

/// `s` + stream key (the prefix of all of a stream's version keys).
pub fn stream_prefix(stream: &StreamId) -> Vec<u8> {
    let mut k = Vec::with_capacity(26);
    k.push(STREAM);
    stream.write_key(&mut k);
    k
}

/// `s` + stream key + version.
pub fn stream_version(stream: &StreamId, version: u64) -> Vec<u8> {
    let mut k = stream_prefix(stream);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// Parse an `s` key into (stream, version).
pub fn parse_stream_version(key: &[u8]) -> Option<(StreamId, u64)> {
    if key.first() != Some(&STREAM) {
        return None;
    }
    let (stream, used) = StreamId::from_key_prefix(&key[1..])?;
    let rest = &key[1 + used..];
    if rest.len() != 8 {
        return None;
    }
    Some((stream, u64::from_be_bytes(rest.try_into().ok()?)))
}

/// `h` + stream key.
pub fn stream_head(stream: &StreamId) -> Vec<u8> {
    let mut k = Vec::with_capacity(18);
    k.push(STREAM_HEAD);
    stream.write_key(&mut k);
    k
}

/// Parse an `h` key.
pub fn parse_stream_head(key: &[u8]) -> Option<StreamId> {
    if key.first() != Some(&STREAM_HEAD) {
        return None;
    }
    let (stream, used) = StreamId::from_key_prefix(&key[1..])?;
    (1 + used == key.len()).then_some(stream)
}

/// `i` + event id.
pub fn event_id(id: &Uuid) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = EVENT_ID;
    k[1..].copy_from_slice(id.as_bytes());
    k
}

/// Parse an `i` key.
pub fn parse_event_id(key: &[u8]) -> Option<Uuid> {
    if key.len() != 17 || key[0] != EVENT_ID {
        return None;
    }
    Some(Uuid::from_bytes(key[1..].try_into().ok()?))
}

/// A u64 value as stored.
pub fn u64_value(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

/// Parse a stored u64 value.
pub fn parse_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back() {
        let s = StreamId::Session(Uuid::now_v7());
        assert_eq!(parse_event(&event(42)), Some(42));
        assert_eq!(parse_stream_version(&stream_version(&s, 7)), Some((s, 7)));
        assert_eq!(
            parse_stream_version(&stream_version(&StreamId::Jobs, 7)),
            Some((StreamId::Jobs, 7))
        );
        assert_eq!(parse_stream_head(&stream_head(&s)), Some(s));
        let id = Uuid::now_v7();
        assert_eq!(parse_event_id(&event_id(&id)), Some(id));
        assert!(event(1) < event(256));
    }
}
