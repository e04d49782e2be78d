//! Identifiers used by the log: [`Id`] (a UUID stored as 16 raw bytes) and [`StreamId`].
//!
//! Streams: one per session, one per experiment, and the global `jobs` and `generations`
//! streams. A stream id has a fixed binary key (`kind byte` + 16 bytes for per-entity streams,
//! the kind byte alone for global ones), which keeps key ranges prefix-free in sled.

use std::fmt;
use std::str::FromStr;

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError as BinDecodeError, EncodeError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A UUID as it appears inside frozen payloads: 16 raw bytes in bincode, a string in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Id(pub Uuid);

impl Id {
    /// A fresh time-ordered (v7) id.
    pub fn new_v7() -> Self {
        Id(Uuid::now_v7())
    }
}

impl From<Uuid> for Id {
    fn from(u: Uuid) -> Self {
        Id(u)
    }
}

impl From<Id> for Uuid {
    fn from(i: Id) -> Self {
        i.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl bincode::Encode for Id {
    fn encode<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
        bincode::Encode::encode(self.0.as_bytes(), encoder)
    }
}

impl<C> bincode::Decode<C> for Id {
    fn decode<D: Decoder<Context = C>>(decoder: &mut D) -> Result<Self, BinDecodeError> {
        let bytes: [u8; 16] = bincode::Decode::decode(decoder)?;
        Ok(Id(Uuid::from_bytes(bytes)))
    }
}
bincode::impl_borrow_decode!(Id);

/// Which stream an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamId {
    /// One stream per steering session.
    Session(Uuid),
    /// One stream per experiment.
    Experiment(Uuid),
    /// The global job-milestone stream.
    Jobs,
    /// The global image-generation stream (renders not tied to a session).
    Generations,
    /// The answers of requests sent with an `Idempotency-Key`.
    Requests,
    /// API tokens (created and revoked).
    Access,
}

/// Stream kind bytes, frozen: they are part of the on-disk keys and envelopes.
pub(crate) mod kind {
    pub const SESSION: u8 = b'S';
    pub const EXPERIMENT: u8 = b'X';
    pub const JOBS: u8 = b'J';
    pub const GENERATIONS: u8 = b'G';
    pub const REQUESTS: u8 = b'R';
    pub const ACCESS: u8 = b'A';
}

impl StreamId {
    /// The frozen kind byte.
    pub fn kind_byte(&self) -> u8 {
        match self {
            StreamId::Session(_) => kind::SESSION,
            StreamId::Experiment(_) => kind::EXPERIMENT,
            StreamId::Jobs => kind::JOBS,
            StreamId::Generations => kind::GENERATIONS,
            StreamId::Requests => kind::REQUESTS,
            StreamId::Access => kind::ACCESS,
        }
    }

    /// The entity id, if the stream has one.
    pub fn entity(&self) -> Option<Uuid> {
        match self {
            StreamId::Session(u) | StreamId::Experiment(u) => Some(*u),
            StreamId::Jobs | StreamId::Generations | StreamId::Requests | StreamId::Access => None,
        }
    }

    /// Binary key: the kind byte, then the 16 id bytes for per-entity streams.
    pub fn key_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(17);
        self.write_key(&mut out);
        out
    }

    /// Append the binary key to `out`.
    pub fn write_key(&self, out: &mut Vec<u8>) {
        out.push(self.kind_byte());
        if let Some(u) = self.entity() {
            out.extend_from_slice(u.as_bytes());
        }
    }

    /// Parse a binary key produced by [`StreamId::write_key`]; returns the id and the bytes used.
    pub fn from_key_prefix(bytes: &[u8]) -> Option<(StreamId, usize)> {
        let (&k, rest) = bytes.split_first()?;
        match k {
            kind::JOBS => Some((StreamId::Jobs, 1)),
            kind::GENERATIONS => Some((StreamId::Generations, 1)),
            kind::REQUESTS => Some((StreamId::Requests, 1)),
            kind::ACCESS => Some((StreamId::Access, 1)),
            kind::SESSION | kind::EXPERIMENT => {
                let id: [u8; 16] = rest.get(..16)?.try_into().ok()?;
                let u = Uuid::from_bytes(id);
                let s = if k == kind::SESSION {
                    StreamId::Session(u)
                } else {
                    StreamId::Experiment(u)
                };
                Some((s, 17))
            }
            _ => None,
        }
    }

    /// Rebuild from the envelope's (kind, id bytes) pair.
    pub(crate) fn from_wire(kind_byte: u8, id: [u8; 16]) -> Option<StreamId> {
        match kind_byte {
            kind::SESSION => Some(StreamId::Session(Uuid::from_bytes(id))),
            kind::EXPERIMENT => Some(StreamId::Experiment(Uuid::from_bytes(id))),
            kind::JOBS if id == [0; 16] => Some(StreamId::Jobs),
            kind::GENERATIONS if id == [0; 16] => Some(StreamId::Generations),
            kind::REQUESTS if id == [0; 16] => Some(StreamId::Requests),
            kind::ACCESS if id == [0; 16] => Some(StreamId::Access),
            _ => None,
        }
    }

    /// The (kind, id bytes) pair stored in an envelope.
    pub(crate) fn to_wire(self) -> (u8, [u8; 16]) {
        (
            self.kind_byte(),
            self.entity().map(|u| *u.as_bytes()).unwrap_or([0; 16]),
        )
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamId::Session(u) => write!(f, "session-{u}"),
            StreamId::Experiment(u) => write!(f, "experiment-{u}"),
            StreamId::Jobs => f.write_str("jobs"),
            StreamId::Generations => f.write_str("generations"),
            StreamId::Requests => f.write_str("requests"),
            StreamId::Access => f.write_str("access"),
        }
    }
}

impl FromStr for StreamId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse =
            |rest: &str| Uuid::parse_str(rest).map_err(|e| format!("bad stream id {s:?}: {e}"));
        if s == "jobs" {
            Ok(StreamId::Jobs)
        } else if s == "generations" {
            Ok(StreamId::Generations)
        } else if s == "requests" {
            Ok(StreamId::Requests)
        } else if s == "access" {
            Ok(StreamId::Access)
        } else if let Some(rest) = s.strip_prefix("session-") {
            Ok(StreamId::Session(parse(rest)?))
        } else if let Some(rest) = s.strip_prefix("experiment-") {
            Ok(StreamId::Experiment(parse(rest)?))
        } else {
            Err(format!("bad stream id {s:?}"))
        }
    }
}

impl Serialize for StreamId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_keys_round_trip() {
        let u = Uuid::now_v7();
        for s in [
            StreamId::Session(u),
            StreamId::Experiment(u),
            StreamId::Jobs,
            StreamId::Generations,
            StreamId::Requests,
        ] {
            let k = s.key_bytes();
            assert_eq!(StreamId::from_key_prefix(&k), Some((s, k.len())));
            assert_eq!(s.to_string().parse::<StreamId>(), Ok(s));
            let (kb, id) = s.to_wire();
            assert_eq!(StreamId::from_wire(kb, id), Some(s));
        }
    }
}
