//! Tests of the real `stablesteering` binary as a person runs it: shutdown on SIGTERM, the
//! log's care of artifacts (verify, backup, restore, gc), and a bounded load test. One binary,
//! linked once.

mod common;

mod artifacts;
mod idempotency;
mod load;
mod shutdown;
