//! The embedded log engine: sled 0.34.7 in the data directory, one writer thread with group
//! commit (`writer/`), verified at every open (`open.rs`, `verify.rs`, `scan.rs`), a high-water
//! manifest outside sled (`manifest.rs`), the key layout (`keys.rs`), subscriptions on the
//! durable head (`subscribe.rs`) and the artifact collection run at start (`gc.rs`).

pub mod gc;
pub mod keys;
pub mod manifest;
pub mod open;
pub mod scan;
pub mod store;
pub mod subscribe;
pub mod verify;
pub(crate) mod writer;
