//! The steering domain of StableSteering: a faithful port of the reference system's algorithms
//! (see `shared/docs/reference-system.md`), as pure functions.

pub mod basis;
pub mod cli;
pub mod cli_next;
pub mod composition;
pub mod config;
pub mod convergence;
pub mod dimensions;
pub mod feedback;
pub mod kinds;
pub mod math;
pub mod oracle;
pub mod ordered_map;
pub mod preference;
pub mod rng;
pub mod samplers;
pub mod seeds;
pub mod step;
pub mod taste_profile;
pub mod updaters;
