//! `stablesteering steer ...`: the steering algorithms as JSON filters, for researchers' scripts
//! and for checking parity with the reference system.

use std::io::Read;

use clap::Subcommand;

use super::Failure;
use crate::steering::cli::{propose_json, seed_token_cli, update_json, SteerCliError};
use crate::steering::cli_next::next_json;

/// Largest request read from stdin.
const MAX_STDIN: u64 = 16 << 20;

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
    /// The next round of a whole session, through the server's own strategy code. Reads
    /// `{"config":{…},"seed":N,"history":[{"candidates":[{"id","z"}],"feedback":{"feedback_type",
    /// "payload"}}…]}`, prints `{"round_index","candidates":[{"id","z","role"}],"recommended_z"}`.
    /// Bad input exits with code 2 and one line naming the field.
    Next,
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
        SteerCommand::Next => next_json(&read_stdin()?).map_err(|e| Failure {
            code: 2,
            message: e.to_string(),
        })?,
        SteerCommand::SeedToken { parts } => seed_token_cli(&parts).to_string(),
    };
    println!("{output}");
    Ok(())
}

fn read_stdin() -> Result<String, Failure> {
    let mut input = String::new();
    std::io::stdin()
        .take(MAX_STDIN + 1)
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the request from stdin: {e}"))?;
    if input.len() as u64 > MAX_STDIN {
        return Err(Failure {
            code: 2,
            message: format!("invalid request: larger than {MAX_STDIN} bytes"),
        });
    }
    Ok(input)
}

fn failure(e: SteerCliError) -> Failure {
    Failure {
        code: u8::try_from(e.exit_code()).unwrap_or(1),
        message: e.to_string(),
    }
}
