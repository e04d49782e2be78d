//! The backend-neutral conformance suite (`store::devtools::conformance`) against the sled backend.

use std::sync::atomic::{AtomicUsize, Ordering};

use stablesteering::store::devtools::conformance;
use stablesteering::store::SledStore;

#[test]
fn sled_backend_passes_the_conformance_suite() {
    let tmp = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    let make = || -> SledStore {
        let dir = tmp
            .path()
            .join(format!("s{}", n.fetch_add(1, Ordering::Relaxed)));
        crate::common::open(&dir)
    };
    let checks = conformance::all::<SledStore>();
    assert!(checks.len() >= 8);
    let failures = conformance::run_all::<SledStore>(&make);
    assert!(failures.is_empty(), "{failures:#?}");
}
