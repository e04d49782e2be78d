//! `stablesteering token add|list|revoke`: API tokens for `serve --auth token`, on a stopped
//! server (the store is opened exclusively). The secret is printed once; only its hash is kept.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use uuid::Uuid;

use super::Failure;
use crate::services::tokens;
use crate::store::{LogStore, StoreOptions};

/// The token commands.
#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (once).
    Add {
        #[command(flatten)]
        dir: DataDir,
        /// Whose token: the sessions it creates are theirs.
        #[arg(long)]
        user: String,
        /// Sees and manages every user's sessions and tokens.
        #[arg(long)]
        admin: bool,
        /// What the token is for ("lab laptop", "webuiapi script"; default: the user name).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens (id, label, created, revoked).
    List {
        #[command(flatten)]
        dir: DataDir,
    },
    /// Revoke a token by id.
    Revoke {
        #[command(flatten)]
        dir: DataDir,
        /// The token's id (from `token list`).
        #[arg(long)]
        id: Uuid,
    },
}

/// `--data-dir` and `--store`: where the server's log is.
#[derive(Debug, Clone, Args)]
pub struct DataDir {
    /// The server's data directory.
    #[arg(long, env = "STABLESTEERING_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The server's PostgreSQL log (`serve --store`), instead of the one in --data-dir.
    #[arg(long, env = "STABLESTEERING_STORE")]
    pub store: Option<String>,
}

pub fn open(dir: &DataDir) -> Result<LogStore, Failure> {
    if let Some(url) = &dir.store {
        return crate::store::HostedPg::open_blocking(url, &dir.data_dir)
            .map(LogStore::from)
            .map_err(|e| Failure::from(e.to_string()));
    }
    let options = StoreOptions {
        create_if_missing: true,
        ..StoreOptions::default()
    };
    if !dir.data_dir.exists() {
        std::fs::create_dir_all(&dir.data_dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.data_dir.display()))?;
        crate::store::sled::manifest::write(&dir.data_dir, 0).map_err(|e| e.to_string())?;
    }
    crate::store::SledStore::open(&dir.data_dir, options)
        .map(LogStore::from)
        .map_err(|e| Failure::from(e.to_string()))
}

/// Runs one token command.
pub fn run(command: TokenCommand) -> Result<(), Failure> {
    match command {
        TokenCommand::Add {
            dir,
            user,
            admin,
            label,
        } => {
            let store = open(&dir)?;
            let spec = tokens::TokenSpec { user, admin, label };
            let created = tokens::create_blocking(&store, &spec);
            store.close();
            let token = created.map_err(|e| Failure::from(e.to_string()))?;
            println!("{}", token.secret);
            eprintln!(
                "token {} for {}{} ({}) created; the secret above is shown only now: send it as \
                 `Authorization: Bearer <secret>` or paste it on the login page",
                token.token_id,
                token.user,
                if token.admin { ", admin" } else { "" },
                token.label
            );
            Ok(())
        }
        TokenCommand::List { dir } => {
            let store = open(&dir)?;
            let list = tokens::list(&store);
            store.close();
            for t in list {
                let state = if t.revoked { "revoked" } else { "live" };
                let created = crate::services::history::iso(t.created_at_us);
                let role = if t.admin { "admin" } else { "user" };
                println!(
                    "{}  {state:7}  {created}  {} ({role})  {}",
                    t.token_id, t.user, t.label
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { dir, id } => {
            let store = open(&dir)?;
            let revoked = tokens::revocation(&store, id)
                .and_then(|request| store.append_blocking(request).map_err(Into::into));
            store.close();
            revoked.map_err(|e| Failure::from(e.to_string()))?;
            println!("token {id} revoked");
            Ok(())
        }
    }
}
