//! StableSteering's server library: the command line, the data directory, the event store,
//! the HTTP surface, and (as the issues land) the steering domain, runner and jobs.
//!
//! Dependencies point one way: this crate uses `app` (pages and API types) and `engine`
//! (rendering); neither of them knows about the server.

pub mod artifacts;
pub mod cli;
pub mod data_dir;
pub mod demo_scenes;
pub mod http;
pub mod runner;
pub mod serve;
pub mod services;
pub mod state;
pub mod steering;
pub mod store;
pub mod telemetry;
pub mod traces;
pub mod worker;

/// The server's version, reported by `--version` and `/api/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
