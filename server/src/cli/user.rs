//! `stablesteering user add`: a password for `serve --auth accounts`, read from the first line
//! of stdin (so it never appears in the shell history or the process list), on a stopped server.

use std::io::BufRead;

use clap::Subcommand;

use super::token::{open, DataDir};
use super::Failure;
use crate::services::passwords;

/// The user commands.
#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Set a user's password (read from stdin); creates the user if new.
    Add {
        #[command(flatten)]
        dir: DataDir,
        /// The user name (`A-Z a-z 0-9 . _ -`, at most 64).
        #[arg(long)]
        user: String,
        /// Sees and manages every user's sessions and tokens.
        #[arg(long)]
        admin: bool,
    },
}

/// Runs one user command.
pub fn run(command: UserCommand) -> Result<(), Failure> {
    let UserCommand::Add { dir, user, admin } = command;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = password.trim_end_matches(['\r', '\n']);
    let store = open(&dir)?;
    let set = passwords::set_blocking(&store, &user, admin, password);
    store.close();
    set.map_err(|e| Failure::from(e.to_string()))?;
    println!(
        "password set for {user}{}",
        if admin { " (admin)" } else { "" }
    );
    Ok(())
}
