//! The options of `stablesteering serve` (parsed by `cli`, read by `serve`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

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

    #[command(flatten)]
    pub engine: EngineArgs,

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

/// The model and the device it renders on (`serve` and `worker` alike).
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Rendering device: auto, cpu or cuda.
    #[arg(long, env = "STABLESTEERING_DEVICE", default_value = "auto")]
    pub device: engine::DeviceRequest,

    /// A diffusers Stable Diffusion 1.x/2.x folder (default: the demo model built into the
    /// binary, unpacked into the user's cache; it draws simple shapes and colours at 64x64).
    /// A worker must load the model the API server sealed its jobs for.
    #[arg(long, env = "STABLESTEERING_MODEL")]
    pub model: Option<PathBuf>,

    /// UNet and text-encoder precision on CUDA: f16, bf16 or f32.
    #[arg(long, env = "STABLESTEERING_PRECISION", default_value = "f16")]
    pub precision: engine::runtime::Precision,
}

impl EngineArgs {
    /// Refuse a `--model` that is not an SD 1.x/2.x diffusers folder, before anything else is
    /// touched.
    pub fn inspect_model(&self) -> Result<(), engine::EngineError> {
        match &self.model {
            Some(dir) => engine::stable_diffusion::folder::ModelFolder::inspect(dir).map(|_| ()),
            None => Ok(()),
        }
    }
}
