//! Command-line interface: `stablesteering <command>`.
//!
//! Every failure prints one line on stderr and exits non-zero: 2 for usage errors (clap's
//! convention), 1 for everything else. Help and `--version` still print their full text.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::telemetry::LogFormat;

pub mod bench;
pub mod bench_api;
pub mod bench_demo_model;
pub mod bench_engine;
pub mod bench_render_oracle;
pub mod bench_ui;
pub mod render;
pub mod steer;
pub mod token;
pub mod user;

/// Steer Stable Diffusion by preference.
#[derive(Debug, Parser)]
#[command(name = "stablesteering", version = crate::VERSION, about)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "STABLESTEERING_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and the HTTP API.
    Serve(crate::serve::ServeArgs),
    /// Run the steering algorithms on JSON from stdin (for scripts and parity checks).
    #[command(subcommand)]
    Steer(steer::SteerCommand),
    /// Event-store maintenance: verify, backup, restore, export, import.
    #[command(after_help = crate::store::cli::USAGE)]
    Store(PassThrough),
    /// Render one image to a PNG.
    Render(Box<render::RenderArgs>),
    /// API tokens for `serve --auth token` (on a stopped server).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Passwords for `serve --auth accounts` (on a stopped server).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Render jobs from a shared PostgreSQL queue (beside `serve --store postgres://…`).
    Worker(crate::worker::WorkerArgs),
    /// Measure performance; results belong in docs/BENCHMARKS.md.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// Arguments handed unparsed to a subsystem with its own parser (the store's commands).
#[derive(Debug, Clone, Args)]
pub struct PassThrough {
    /// The subcommand and its flags.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<String>,
}

impl PassThrough {
    /// Maps a subsystem's exit code (it printed its own message) to a result.
    pub fn finish(code: i32) -> Result<(), Failure> {
        match code {
            0 => Ok(()),
            c => Err(Failure {
                message: String::new(),
                code: u8::try_from(c).unwrap_or(1),
            }),
        }
    }
}

/// A command failure: the one line to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, in one line.
    pub message: String,
    /// The process exit code (1 unless the command documents otherwise).
    pub code: u8,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self { message, code: 1 }
    }
}

/// Parses the process arguments, runs the command and maps every outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    crate::telemetry::init(cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("error: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

/// Runs a parsed command; the error is the one line the user will read.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Steer(command) => steer::run(command),
        Command::Bench(command) => bench::run(command),
        Command::Render(args) => render::run(*args),
        Command::Store(pass) => PassThrough::finish(crate::store::cli::run_store(&pass.args)),
        Command::Token(command) => token::run(command),
        Command::User(command) => user::run(command),
        Command::Worker(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the async runtime: {e}"))?;
            let worked = runtime.block_on(crate::worker::work(args));
            runtime.shutdown_timeout(std::time::Duration::from_secs(2));
            worked.map_err(|e| Failure::from(e.to_string()))
        }
        Command::Serve(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the async runtime: {e}"))?;
            let served = runtime.block_on(crate::serve::serve(args));
            // A render stopped by the shutdown ends at its next step; the process does not wait
            // longer than this for it (every acknowledged event is already on disk).
            runtime.shutdown_timeout(std::time::Duration::from_secs(2));
            served.map_err(|e| Failure::from(e.to_string()))
        }
    }
}

/// Prints clap's message as one line (help and version keep their normal output).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("error: {first} (see `stablesteering --help`)");
            ExitCode::from(2)
        }
    }
}
