//! `stablesteering steer ...`: the steering algorithms as JSON filters, for researchers' scripts
//! and for checking parity with the reference system.

use std::io::Read;

use clap::Subcommand;

use super::Failure;
use crate::steering::cli::{propose_json, seed_token_cli, update_json, SteerCliError};

/// The `steer` subcommands.
#[derive(Debug, Subcommand)]
pub enum SteerCommand {
    /// Raw sampler proposals. Reads `{"sampler","current_z","round_index","candidate_count",
    /// "trust_radius","seed"}` on stdin, prints `{"candidates":[{"z","role"}]}`.
    Propose,
    /// One update step. Reads `{"updater","current_z","trust_radius","candidates":[{"id","z",
    /// "carried_forward"}],"feedback":{"feedback_type","payload"}}`, prints
    /// `{"next_z","winner_candidate_id","summary"}`. Invalid feedback exits with code 2.
    Update,
    /// Prints the seed token of the parts (BLAKE2b-32 of the `|`-joined parts, big-endian).
    SeedToken {
        /// The parts to join.
        #[arg(required = true)]
        parts: Vec<String>,
    },
}

/// Runs one `steer` subcommand.
pub fn run(command: SteerCommand) -> Result<(), Failure> {
    let output = match command {
        SteerCommand::Propose => propose_json(&read_stdin()?).map_err(failure)?,
        SteerCommand::Update => update_json(&read_stdin()?).map_err(failure)?,
        SteerCommand::SeedToken { parts } => seed_token_cli(&parts).to_string(),
    };
    println!("{output}");
    Ok(())
}

fn read_stdin() -> Result<String, Failure> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the request from stdin: {e}"))?;
    Ok(input)
}

fn failure(e: SteerCliError) -> Failure {
    Failure {
        code: u8::try_from(e.exit_code()).unwrap_or(1),
        message: e.to_string(),
    }
}
