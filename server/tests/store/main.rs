//! Event-store integration tests: golden bytes, corruption, kill -9, concurrency, disk full,
//! projections, exports and the backend conformance suite (sled and PostgreSQL). One binary, linked once.

#[path = "../store_common/mod.rs"]
mod common;
#[path = "../pg_common/mod.rs"]
mod pg_common;

mod concurrency;
mod conformance;
mod corruption;
mod disk_full;
mod exports;
mod golden;
mod kill9;
mod pg_leases;
mod postgres;
mod projections;
