//! Steering-domain integration tests: goldens from the reference implementation, config,
//! edge cases and the JSON CLI. One test binary, so CI links the server library once.

#[path = "../common/mod.rs"]
mod common;

mod cli_json;
mod config_yaml;
mod edge_cases;
mod golden_feedback;
mod golden_misc;
mod golden_samplers;
mod golden_sessions;
mod golden_updaters;
