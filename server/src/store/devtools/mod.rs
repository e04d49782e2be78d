//! Tools for developers of the store, not used by the product's paths: the store benchmark
//! (`stablesteering bench store`), the child process of the kill -9 torture test, the synthetic
//! session workload both use, and the conformance suite every log engine must pass.

pub mod bench;
pub mod conformance;
pub mod torture;
pub mod workload;
