//! The record decoder fed garbage: random bytes, mutated valid records (with the CRC fixed up
//! so the bytes reach bincode), and huge length prefixes. Every input must give a typed error
//! (or, for mutations, a valid decode), never a panic, and no allocation above the codec limit
//! (a counting global allocator watches the largest single allocation).

#[path = "store_common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use stablesteering::store::codec::MAX_RECORD_BYTES;
use stablesteering::store::devtools::workload::Rng;
use stablesteering::store::envelope::{decode_record, FORMAT_V1, HEADER_LEN};

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn with_crc(mut body: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&body);
    let mut out = vec![FORMAT_V1];
    out.extend_from_slice(&crc.to_be_bytes());
    out.append(&mut body);
    out
}

fn decode_guarded(bytes: &[u8]) -> bool {
    std::panic::catch_unwind(|| decode_record(bytes).is_ok()).expect("decoder panicked")
}

#[test]
fn random_bytes_are_typed_errors() {
    let mut rng = Rng::new(1);
    for i in 0..20_000 {
        let len = rng.below(600) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if i % 2 == 0 && !bytes.is_empty() {
            // Give half of them a valid header so bincode sees the garbage.
            bytes = with_crc(bytes[HEADER_LEN.min(bytes.len())..].to_vec());
        }
        let _ = decode_guarded(&bytes);
    }
    assert!(LARGEST.load(Ordering::Relaxed) <= 2 * MAX_RECORD_BYTES);
}

#[test]
fn mutated_records_never_panic() {
    let mut rng = Rng::new(2);
    let records: Vec<Vec<u8>> = common::sample_envelopes()
        .iter()
        .map(|e| e.to_record().unwrap())
        .collect();
    let mut ok = 0;
    for i in 0..40_000 {
        let rec = &records[i % records.len()];
        let mut body = rec[HEADER_LEN..].to_vec();
        match rng.below(4) {
            0 => {
                let p = rng.below(body.len() as u64) as usize;
                body[p] ^= 1 << rng.below(8);
            }
            1 => {
                let p = rng.below(body.len() as u64) as usize;
                body[p] = rng.next_u64() as u8;
            }
            2 => {
                let n = rng.below(body.len() as u64) as usize;
                body.truncate(n);
            }
            _ => {
                // Splice a varint of a huge length somewhere.
                let p = rng.below(body.len() as u64) as usize;
                let huge = [0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F];
                body.splice(p..p, huge);
            }
        }
        if decode_guarded(&with_crc(body)) {
            ok += 1;
        }
    }
    // Some mutations (e.g. in a string's bytes) still decode; that is fine.
    println!("mutations that still decoded: {ok} of 40000");
    assert!(
        LARGEST.load(Ordering::Relaxed) <= 2 * MAX_RECORD_BYTES,
        "largest allocation {}",
        LARGEST.load(Ordering::Relaxed)
    );
}

#[test]
fn huge_length_prefixes_do_not_allocate() {
    // Envelope whose payload claims u64::MAX / 2^40 / 2^31 bytes.
    for claim in [
        u64::MAX,
        1u64 << 40,
        1u64 << 31,
        (MAX_RECORD_BYTES as u64) * 4,
    ] {
        let mut body = vec![0u8; 16]; // event id
        body.push(b'J'); // stream kind
        body.extend_from_slice(&[0u8; 16]);
        body.extend_from_slice(&[1, 1, 0]); // version, seq, recorded_at (varints)
        body.extend_from_slice(&[15, 1]); // type code, schema version
        body.push(0xFD); // u64 varint marker
        body.extend_from_slice(&claim.to_le_bytes());
        body.extend_from_slice(&[1, 2, 3]);
        let before = LARGEST.load(Ordering::Relaxed);
        let r = std::panic::catch_unwind(|| decode_record(&with_crc(body.clone()))).expect("panic");
        assert!(r.is_err(), "claim {claim} decoded");
        let after = LARGEST.load(Ordering::Relaxed);
        assert!(
            after <= before.max(2 * MAX_RECORD_BYTES),
            "claim {claim} allocated {after} bytes"
        );
    }
    // An oversized record is refused before any parsing.
    let big = vec![FORMAT_V1; MAX_RECORD_BYTES + 1];
    assert!(decode_record(&big).is_err());
}
