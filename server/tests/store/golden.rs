//! Golden byte fixtures of every event type: decoding them must give the expected values and
//! re-encoding must reproduce the bytes exactly, so a change that breaks old logs fails here.
//! Regenerate (only when adding a new type or version!) with `STORE_BLESS_GOLDEN=1`.

use std::path::PathBuf;

use stablesteering::store::codec;
use stablesteering::store::envelope::{decode_raw, decode_record, encode_record, RecordHeader};
use stablesteering::store::events::upcast::feedback_v1_to_v2;
use stablesteering::store::events::v1::FeedbackSubmittedV1;
use stablesteering::store::*;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/store")
}

fn check(name: &str, bytes: &[u8]) -> Vec<u8> {
    let path = golden_dir().join(name);
    if std::env::var_os("STORE_BLESS_GOLDEN").is_some() && !path.exists() {
        std::fs::write(&path, bytes).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden fixture {} (run with STORE_BLESS_GOLDEN=1 once, then commit it)",
            path.display()
        )
    });
    assert_eq!(
        golden, bytes,
        "encoding of {name} changed: old logs would no longer match"
    );
    golden
}

#[test]
fn every_event_type_matches_its_golden_bytes() {
    let samples = crate::common::sample_envelopes();
    let mut seen = std::collections::HashSet::new();
    for env in samples {
        let t = env.event_type();
        seen.insert(t);
        let name = format!("{}.v{}.bin", t.name(), t.current_version());
        let bytes = env.to_record().unwrap();
        let golden = check(&name, &bytes);
        let decoded = decode_record(&golden).unwrap();
        assert_eq!(decoded, env, "{name} decodes differently");
        assert_eq!(
            decoded.to_record().unwrap(),
            golden,
            "{name} re-encodes differently"
        );
    }
    for t in EventType::ALL {
        assert!(seen.contains(t), "no golden sample for {t}");
    }
}

#[test]
fn old_feedback_v1_records_upcast() {
    let v1 = crate::common::feedback_v1();
    let header = RecordHeader {
        event_id: uuid::Uuid::from_u128(0xF1),
        stream: StreamId::Session(uuid::Uuid::from_u128(0x5E55)),
        stream_version: 7,
        seq: 9,
        recorded_at_us: 1_700_000_000_000_000,
        event_type: EventType::FeedbackSubmitted,
        schema_version: 1,
    };
    let bytes = encode_record(&header, &codec::encode(&v1).unwrap()).unwrap();
    let golden = check("feedback.submitted.v1.bin", &bytes);
    // Raw v1 payload decodes and re-encodes identically.
    let raw = decode_raw(&golden).unwrap();
    assert_eq!(raw.header, header);
    let back: FeedbackSubmittedV1 = codec::decode_exact(&raw.payload).unwrap();
    assert_eq!(back, v1);
    assert_eq!(codec::encode(&back).unwrap(), raw.payload);
    // Full decode upcasts to the current shape.
    let env = decode_record(&golden).unwrap();
    assert_eq!(env.schema_version, 1);
    assert_eq!(env.event, Event::FeedbackSubmitted(feedback_v1_to_v2(v1)));
}

#[test]
fn unknown_versions_and_types_are_typed_errors() {
    let env = &crate::common::sample_envelopes()[0];
    let payload = env.event.encode_payload().unwrap();
    let mut h = RecordHeader {
        event_id: env.event_id,
        stream: env.stream,
        stream_version: 1,
        seq: 1,
        recorded_at_us: 0,
        event_type: env.event_type(),
        schema_version: 99,
    };
    let rec = encode_record(&h, &payload).unwrap();
    assert!(matches!(
        decode_record(&rec),
        Err(DecodeError::UnsupportedSchemaVersion { version: 99, .. })
    ));
    h.schema_version = 1;
    let mut rec = encode_record(&h, &payload).unwrap();
    rec[0] = 7;
    assert!(matches!(
        decode_record(&rec),
        Err(DecodeError::UnknownFormat(7))
    ));
}
