//! The fixed bincode configuration of the log and bounded decode helpers.
//!
//! Configuration (frozen): bincode 2 `standard()` — little endian, varint integers — with a
//! decode limit of [`MAX_RECORD_BYTES`]. The limit makes bincode refuse any length prefix that
//! would claim more than the limit *before* allocating, so a hostile or corrupt record cannot
//! trigger a huge allocation.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};

/// Largest record (format byte + CRC + envelope) the store writes or reads.
pub const MAX_RECORD_BYTES: usize = 4 << 20;

/// Largest encoded payload accepted at append time.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

/// The frozen bincode configuration.
pub type LogConfig = Configuration<LittleEndian, Varint, Limit<MAX_RECORD_BYTES>>;

/// The frozen bincode configuration.
pub fn config() -> LogConfig {
    bincode::config::standard().with_limit::<MAX_RECORD_BYTES>()
}

/// Encode a value with the log configuration.
pub fn encode<T: bincode::Encode>(value: &T) -> Result<Vec<u8>, bincode::error::EncodeError> {
    bincode::encode_to_vec(value, config())
}

/// Decode a value that must use every byte of `bytes`.
///
/// Errors are returned as text; callers wrap them in their own typed error.
pub fn decode_exact<T: bincode::Decode<()>>(bytes: &[u8]) -> Result<T, DecodeFailure> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(DecodeFailure::Malformed(format!(
            "{} bytes exceed the {MAX_RECORD_BYTES}-byte limit",
            bytes.len()
        )));
    }
    let (value, used) = bincode::decode_from_slice::<T, _>(bytes, config())
        .map_err(|e| DecodeFailure::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(DecodeFailure::Trailing(bytes.len() - used));
    }
    Ok(value)
}

/// Like [`decode_exact`] for types that borrow from `bytes`.
pub fn borrow_decode_exact<'a, T: bincode::BorrowDecode<'a, ()>>(
    bytes: &'a [u8],
) -> Result<T, DecodeFailure> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(DecodeFailure::Malformed(format!(
            "{} bytes exceed the {MAX_RECORD_BYTES}-byte limit",
            bytes.len()
        )));
    }
    let (value, used) = bincode::borrow_decode_from_slice::<T, _>(bytes, config())
        .map_err(|e| DecodeFailure::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(DecodeFailure::Trailing(bytes.len() - used));
    }
    Ok(value)
}

/// Why [`decode_exact`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeFailure {
    Malformed(String),
    Trailing(usize),
}

impl std::fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeFailure::Malformed(s) => f.write_str(s),
            DecodeFailure::Trailing(n) => write!(f, "{n} trailing bytes"),
        }
    }
}
