//! `stablesteering bench ...`: benchmark commands whose figures go into docs/BENCHMARKS.md.

use clap::{Args, Subcommand};

use super::bench_api::{self, ApiBenchArgs};
use super::bench_demo_model::{self, DemoModelBenchArgs};
use super::bench_engine::{self, EngineBenchArgs};
use super::bench_render_oracle::{self, RenderOracleOptions};
use super::bench_ui::{self, UiBenchArgs};
use super::{Failure, PassThrough};
use crate::steering::feedback::FeedbackMode;
use crate::steering::kinds::{SamplerKind, UpdaterKind};
use crate::steering::oracle::v2::{render_v2, run_v2, V2Options};
use crate::steering::oracle::{render_full_table, render_table, run_oracle, OracleOptions};

/// The `bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Simulated-user benchmark (no rendering): `--suite v1` every sampler × updater × feedback
    /// mode; `--suite v2` the preference strategy against baselines and harder users.
    Oracle(OracleArgs),
    /// Event-store throughput, rebuild speed, replay latency and disk use
    /// (`[--events N] [--large N] [--json]`).
    Store(PassThrough),
    /// Rendering speed and memory of the Stable Diffusion engine.
    Engine(Box<EngineBenchArgs>),
    /// Loopback load on the real server: concurrent sessions doing the full loop, then reads.
    Api(ApiBenchArgs),
    /// The web app's budgets: SSR time of the session page with N rounds, WASM size gzipped.
    Ui(UiBenchArgs),
    /// Does the demo model draw what held-out prompts ask (colour, background, shape accuracy)
    /// and how long a round of 4 takes.
    DemoModel(DemoModelBenchArgs),
}

/// Which oracle benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OracleSuite {
    /// The v1 grid of classic samplers × updaters × modes.
    V1,
    /// The v2 suite: preference vs baselines, user types, seeds, ablations, targets.
    V2,
}

/// Options of `bench oracle`; the grid defaults to everything.
#[derive(Debug, Args)]
pub struct OracleArgs {
    /// Which benchmark: `v1` (default) or `v2`.
    #[arg(long, value_enum, default_value = "v1")]
    pub suite: OracleSuite,
    /// Print the report as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// Also print every cell of the grid (v1).
    #[arg(long)]
    pub full: bool,
    /// A small grid for a quick look (v1: 3 × 3 × 3, d = 5; v2: d = 5, K = 4, 12 sessions).
    #[arg(long)]
    pub quick: bool,
    /// Sessions per configuration (v2; default 200).
    #[arg(long)]
    pub sessions: Option<usize>,
    /// Samplers to include (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    pub samplers: Vec<String>,
    /// Updaters to include (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    pub updaters: Vec<String>,
    /// Feedback modes to include (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    pub modes: Vec<String>,
    /// Steering dimensions (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub dimensions: Vec<u32>,
    /// Rounds per session (the budget B).
    #[arg(long)]
    pub rounds: Option<u32>,
    /// Success distance τ.
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Bradley–Terry choice temperature (0 = noise-free).
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Whole sessions rendered by the real server with the demo model, judged on the pictures
    /// (takes --sessions per task, --rounds, --steps, --model and --json).
    #[arg(long)]
    pub render: bool,
    /// Denoising steps of every render (--render; default 25).
    #[arg(long)]
    pub steps: Option<usize>,
    /// A diffusers folder (--render; default: the built-in demo model).
    #[arg(long)]
    pub model: Option<std::path::PathBuf>,
}

/// Runs one `bench` subcommand.
pub fn run(command: BenchCommand) -> Result<(), Failure> {
    match command {
        BenchCommand::Oracle(args) => oracle(args),
        BenchCommand::Engine(args) => bench_engine::run(*args),
        BenchCommand::Api(args) => bench_api::run(args),
        BenchCommand::Ui(args) => bench_ui::run(args),
        BenchCommand::DemoModel(args) => bench_demo_model::run(args),
        BenchCommand::Store(pass) => {
            PassThrough::finish(crate::store::cli::run_bench_store(&pass.args))
        }
    }
}

fn oracle(args: OracleArgs) -> Result<(), Failure> {
    if args.render {
        return oracle_render(args);
    }
    if args.steps.is_some() || args.model.is_some() {
        return Err("bench oracle: --steps and --model belong to --render"
            .to_string()
            .into());
    }
    match args.suite {
        OracleSuite::V1 if args.sessions.is_some() => {
            Err("bench oracle: --sessions belongs to --suite v2"
                .to_string()
                .into())
        }
        OracleSuite::V1 => oracle_v1(args),
        OracleSuite::V2 => oracle_v2(args),
    }
}

fn oracle_render(args: OracleArgs) -> Result<(), Failure> {
    let grid_only = args.full
        || args.quick
        || !args.samplers.is_empty()
        || !args.updaters.is_empty()
        || !args.modes.is_empty()
        || !args.dimensions.is_empty()
        || args.tolerance.is_some()
        || args.temperature.is_some();
    if grid_only {
        return Err(
            "bench oracle --render takes only --sessions, --rounds, --steps, --model and --json"
                .to_string()
                .into(),
        );
    }
    let mut options = RenderOracleOptions {
        model: args.model,
        ..RenderOracleOptions::default()
    };
    if let Some(n) = args.sessions {
        if n == 0 || n > 20 {
            return Err(
                "bench oracle --render: --sessions (per task) must be 1..=20"
                    .to_string()
                    .into(),
            );
        }
        options.sessions_per_task = n;
    }
    if let Some(r) = args.rounds {
        if r == 0 || r > 30 {
            return Err("bench oracle --render: --rounds must be 1..=30"
                .to_string()
                .into());
        }
        options.rounds = r as usize;
    }
    if let Some(s) = args.steps {
        if s == 0 || s > 150 {
            return Err("bench oracle --render: --steps must be 1..=150"
                .to_string()
                .into());
        }
        options.steps = s;
    }
    bench_render_oracle::run(&options, args.json)
}

fn oracle_v2(args: OracleArgs) -> Result<(), Failure> {
    let v1_only = args.full
        || !args.samplers.is_empty()
        || !args.updaters.is_empty()
        || !args.modes.is_empty()
        || !args.dimensions.is_empty()
        || args.rounds.is_some()
        || args.tolerance.is_some()
        || args.temperature.is_some();
    if v1_only {
        return Err(
            "bench oracle --suite v2 takes only --sessions, --quick and --json"
                .to_string()
                .into(),
        );
    }
    let mut options = if args.quick {
        V2Options::quick()
    } else {
        V2Options::default()
    };
    if let Some(n) = args.sessions {
        options.sessions = n;
    }
    let report = run_v2(&options).map_err(|e| format!("bench oracle: {e}"))?;
    print!("{}", render_v2(&report));
    if args.json {
        let json = serde_json::to_string(&report).map_err(|e| format!("bench oracle: {e}"))?;
        println!("{json}");
    }
    Ok(())
}

fn oracle_v1(args: OracleArgs) -> Result<(), Failure> {
    let mut options = if args.quick {
        OracleOptions::quick()
    } else {
        OracleOptions::default()
    };
    if !args.samplers.is_empty() {
        options.samplers = parse_names(
            &args.samplers,
            "--samplers",
            SamplerKind::parse,
            SamplerKind::names,
        )?;
    }
    if !args.updaters.is_empty() {
        options.updaters = parse_names(
            &args.updaters,
            "--updaters",
            UpdaterKind::parse,
            UpdaterKind::names,
        )?;
    }
    if !args.modes.is_empty() {
        options.modes = parse_names(
            &args.modes,
            "--modes",
            FeedbackMode::parse,
            FeedbackMode::names,
        )?;
    }
    if !args.dimensions.is_empty() {
        options.dimensions = args.dimensions;
    }
    if let Some(b) = args.rounds {
        options.rounds = b;
    }
    if let Some(tau) = args.tolerance {
        options.tolerance = tau;
    }
    if let Some(t) = args.temperature {
        options.temperature = t;
    }
    let report = run_oracle(&options).map_err(|e| format!("bench oracle: {e}"))?;
    print!("{}", render_table(&report));
    if args.full {
        print!("\n{}", render_full_table(&report));
    }
    if args.json {
        let json = serde_json::to_string(&report).map_err(|e| format!("bench oracle: {e}"))?;
        println!("{json}");
    }
    Ok(())
}

fn parse_names<T>(
    names: &[String],
    flag: &str,
    parse: impl Fn(&str) -> Option<T>,
    valid: impl Fn() -> Vec<&'static str>,
) -> Result<Vec<T>, Failure> {
    names
        .iter()
        .map(|n| {
            parse(n.trim()).ok_or_else(|| {
                Failure::from(format!(
                    "{flag}: unknown name '{n}'; valid: {}",
                    valid().join(", ")
                ))
            })
        })
        .collect()
}
