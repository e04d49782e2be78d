//! Command-line interface: `stablesteering <command>`.
//!
//! Every failure prints one line on stderr and exits non-zero: 2 for usage errors (clap's
//! convention), 1 for everything else. Help and `--version` still print their full text.

use std::net::SocketAddr;
use std::path::PathBuf;
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
    Serve(ServeArgs),
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

/// Options of `stablesteering serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Directory holding the event store and artifacts; created if missing.
    #[arg(long, env = "STABLESTEERING_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Where the event log lives: the embedded sled log in --data-dir (default), or a shared
    /// PostgreSQL database (`postgres://USER@HOST/DB`; artifacts stay in --data-dir).
    #[arg(long, env = "STABLESTEERING_STORE")]
    pub store: Option<String>,

    /// Address to listen on (loopback by default).
    #[arg(long, env = "STABLESTEERING_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Directory with the built site (`pkg/stablesteering.{js,wasm,css}`); it must exist.
    /// Default: `site` or `../site` beside the executable, else `target/site` in the working
    /// directory (without a built site, pages render but do not hydrate).
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// Rendering device: auto, cpu or cuda.
    #[arg(long, env = "STABLESTEERING_DEVICE", default_value = "auto")]
    pub device: engine::DeviceRequest,

    /// A diffusers Stable Diffusion 1.x/2.x folder (default: the demo model built into the
    /// binary, unpacked into the user's cache; it draws simple shapes and colours at 64x64).
    #[arg(long, env = "STABLESTEERING_MODEL")]
    pub model: Option<PathBuf>,

    /// UNet and text-encoder precision on CUDA: f16, bf16 or f32.
    #[arg(long, env = "STABLESTEERING_PRECISION", default_value = "f16")]
    pub precision: engine::runtime::Precision,

    /// How many render jobs run at the same time (each needs its own activation memory).
    /// 0 renders nothing here: with --store postgres://…, render workers
    /// (`stablesteering worker`) on the same database do.
    #[arg(long, env = "STABLESTEERING_RENDER_CONCURRENCY", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(0..=16))]
    pub render_concurrency: u16,

    /// A host name this server answers to besides IP addresses and `localhost` (repeatable;
    /// `*` for any, only behind a proxy that checks Host). Other names get 421: a page whose
    /// name re-resolves to this machine (DNS rebinding) cannot read it.
    #[arg(
        long = "allowed-host",
        env = "STABLESTEERING_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_host: Vec<String>,

    /// An origin (`https://tools.example`) whose pages may change state here besides the
    /// server's own (repeatable). Browser requests from other origins get 403.
    #[arg(
        long = "allowed-origin",
        env = "STABLESTEERING_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origin: Vec<String>,

    /// Requests a second each client address may send (bursts of twice that); more get 429
    /// with Retry-After. 0 turns the limit off.
    #[arg(long, env = "STABLESTEERING_RATE_LIMIT", default_value_t = crate::http::rate_limit::DEFAULT_PER_SECOND)]
    pub rate_limit: u32,

    /// Who may use the server: `none` (only allowed on a loopback address), `token` (every
    /// request needs an API token; create the first with `stablesteering token add`), or
    /// `accounts` (tokens, and the web app's login also takes a user name and password set with
    /// `stablesteering user add`).
    #[arg(long, env = "STABLESTEERING_AUTH", value_enum, default_value = "none")]
    pub auth: crate::http::auth::AuthMode,

    /// `user:password` that A1111 tools may send as Basic auth (like A1111's `--api-auth`),
    /// besides API tokens. Needs `--auth token`.
    #[arg(long, env = "STABLESTEERING_API_AUTH")]
    pub api_auth: Option<String>,

    /// Mark the login cookie `Secure` (serve behind HTTPS).
    #[arg(long, env = "STABLESTEERING_SECURE_COOKIE")]
    pub secure_cookie: bool,
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
