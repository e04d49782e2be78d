//! `stablesteering serve`: bind, prepare the data dir, open the store, serve until Ctrl-C.
//!
//! The port is bound before anything touches the disk, so a busy port never leaves a data
//! directory behind.

mod args;
pub use args::{EngineArgs, ServeArgs};

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use leptos::config::{Env, LeptosOptions};
use thiserror::Error;
use tokio::net::TcpListener;

use crate::data_dir::{self, DataDirError};
use crate::state::{AppState, RuntimeInfo};
use crate::store::{HostedPg, LogStore, PgStore, StoreError, StoreOptions};

/// Why the server could not start or stopped.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The address is taken.
    #[error("cannot listen on {addr}: the port is already in use (stop the other server or pick another with --addr)")]
    PortInUse {
        /// The address.
        addr: SocketAddr,
    },
    /// Binding failed for another reason.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The underlying error.
        source: io::Error,
    },
    /// The data directory is unusable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The store refused to open (damage is named with the data dir and first bad position).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A start-up task could not run.
    #[error("start-up failed: {0}")]
    Startup(String),
    /// `--site-root` names a folder that does not exist.
    #[error("--site-root {}: no such folder (build the site with `make site`, or leave --site-root out to use the site beside the executable)", .0.display())]
    SiteRootMissing(PathBuf),
    /// The requested device is unusable, or the model cannot be loaded.
    #[error("{0}")]
    Device(#[from] engine::EngineError),
    /// The HTTP server failed.
    #[error("the HTTP server failed: {0}")]
    Http(io::Error),
    /// The authentication options do not fit the address.
    #[error("{0}")]
    Auth(String),
}

/// `--auth` / `--api-auth` checked against the address: without authentication only a
/// loopback address may be served.
fn auth_policy(args: &ServeArgs) -> Result<crate::http::auth::AuthPolicy, ServeError> {
    use crate::http::auth::{AuthMode, AuthPolicy};
    if args.auth == AuthMode::None && !args.addr.ip().is_loopback() {
        return Err(ServeError::Auth(format!(
            "--addr {} is reachable from other machines: serve it with --auth token (create a \
             token first with `stablesteering token add --data-dir DIR --label NAME`), or bind \
             127.0.0.1 behind an authenticating proxy (docs/security.md)",
            args.addr
        )));
    }
    let api_auth = match &args.api_auth {
        Some(_) if args.auth == AuthMode::None => {
            return Err(ServeError::Auth(
                "--api-auth needs --auth token or --auth accounts".into(),
            ))
        }
        Some(raw) => Some(AuthPolicy::parse_api_auth(raw).map_err(ServeError::Auth)?),
        None => None,
    };
    Ok(AuthPolicy {
        mode: args.auth,
        api_auth,
        secure_cookie: args.secure_cookie,
    })
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn serve(args: ServeArgs) -> Result<(), ServeError> {
    let auth = auth_policy(&args)?;
    let listener = TcpListener::bind(args.addr).await.map_err(|source| {
        if source.kind() == io::ErrorKind::AddrInUse {
            ServeError::PortInUse { addr: args.addr }
        } else {
            ServeError::Bind {
                addr: args.addr,
                source,
            }
        }
    })?;
    let addr = listener.local_addr().unwrap_or(args.addr);
    // Arguments naming files are checked before the data dir is created.
    let site_root = resolve_site_root(args.site_root.as_deref())?;
    args.engine.inspect_model()?;
    if args.render_concurrency == 0 && args.store.is_none() {
        return Err(ServeError::Startup(
            "--render-concurrency 0 renders nothing here: it needs --store postgres://… and \
             render workers (`stablesteering worker`) on the same database"
                .into(),
        ));
    }
    // Opening verifies every record, so it runs off the async workers.
    let requested = args.data_dir.clone();
    let url = args.store.clone();
    let (data_dir, store) =
        tokio::task::spawn_blocking(move || open_data_dir(&requested, url.as_deref()))
            .await
            .map_err(|e| ServeError::Startup(e.to_string()))??;
    let device = engine::resolve_device(args.engine.device)?;
    tracing::info!(data_dir = %data_dir.display(), store = store.backend(), device = %device.kind, "store opened");
    let (runner, model_notice) = load_runner(&args.engine, &data_dir).await?;
    let model = runner.model().clone();
    warn_if_site_missing(&site_root);

    let services = crate::services::Services::new(
        store.clone(),
        runner,
        crate::services::ServiceOptions {
            render_concurrency: usize::from(args.render_concurrency),
            ..crate::services::ServiceOptions::default()
        },
        model_notice.clone(),
    );
    services.start().await;

    let leptos_options = LeptosOptions::builder()
        .output_name(app::OUTPUT_NAME)
        .site_root(site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(Env::PROD)
        .build();
    let state = AppState {
        leptos_options,
        store,
        runtime: Arc::new(RuntimeInfo {
            data_dir,
            device,
            model,
            model_notice,
            access: crate::http::guard::AccessPolicy::new(&args.allowed_host, &args.allowed_origin),
            rate_limiter: crate::http::rate_limit::RateLimiter::new(args.rate_limit),
            idempotency: Default::default(),
            auth,
        }),
        services,
    };
    let state_services = Arc::clone(&state.services);
    let no_token_yet = state.runtime.auth.mode != crate::http::auth::AuthMode::None
        && !state.store.with_projections(|p| p.access.any_live());
    let router = crate::http::router(state);

    println!("StableSteering is serving on http://{addr}/");
    if no_token_yet {
        let warning = "--auth token is on but no API token exists: stop the server and run \
                       `stablesteering token add --data-dir DIR --label NAME`";
        eprintln!("warning: {warning}");
        tracing::warn!("{warning}");
    }
    tracing::info!(%addr, "listening");
    // On Ctrl-C / SIGTERM: stop the jobs (running renders end at their next step), stop
    // accepting, give open requests SHUTDOWN_GRACE to finish (progress streams never finish by
    // themselves), then return; the caller does not wait for render threads either.
    let stopped = Arc::new(tokio::sync::Notify::new());
    let signal = {
        let (services, stopped) = (state_services, Arc::clone(&stopped));
        async move {
            shutdown_signal().await;
            services.shutdown();
            stopped.notify_one();
        }
    };
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    tokio::select! {
        served = std::future::IntoFuture::into_future(server) => served.map_err(ServeError::Http),
        () = async {
            stopped.notified().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("requests still open {SHUTDOWN_GRACE:?} after the shutdown signal: closing them");
            Ok(())
        }
    }
}

/// How long open requests get to finish after Ctrl-C / SIGTERM.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Prepares the data dir (creating a fresh store atomically when missing) and opens the log:
/// sled in the data dir, or the PostgreSQL database `url` names (`--store`).
pub(crate) fn open_data_dir(
    requested: &std::path::Path,
    url: Option<&str>,
) -> Result<(PathBuf, LogStore), ServeError> {
    // The database is reached (or refused) before anything touches the disk.
    let pg = match url {
        Some(url) if url.starts_with("postgres") => Some(PgStore::open_blocking(url)?),
        Some(other) => {
            return Err(ServeError::Startup(format!(
                "--store {other:?}: expected a postgres:// URL (leave it out for the embedded log)"
            )))
        }
        None => None,
    };
    // A new data dir starts as an empty log: a durable manifest at sequence 0. sled's own files
    // appear on the first open (opening sled here would hold its file lock past the rename).
    let data_dir = data_dir::prepare(requested, |staging| {
        crate::store::sled::manifest::write(staging, 0).map_err(|e| e.to_string())
    })?;
    let store = match pg {
        Some(pg) => LogStore::from(HostedPg::follow(pg, &data_dir)?),
        None => {
            let options = StoreOptions {
                collect_garbage: true,
                ..StoreOptions::default()
            };
            LogStore::from(crate::store::SledStore::open(&data_dir, options)?)
        }
    };
    Ok((data_dir, store))
}

/// The configured model (or the demo model, with its notice) loaded on the requested device,
/// in a runner writing images to `data_dir`'s artifacts. Loading runs off the async workers.
pub(crate) async fn load_runner(
    engine: &EngineArgs,
    data_dir: &Path,
) -> Result<(crate::runner::Runner, Option<String>), ServeError> {
    let configured = engine.model.clone();
    let (model_dir, notice) = tokio::task::spawn_blocking(move || choose_model(configured))
        .await
        .map_err(|e| ServeError::Startup(e.to_string()))??;
    let (device, precision) = (engine.device, engine.precision);
    let artifacts = crate::artifacts::ArtifactStore::new(data_dir);
    let dir = model_dir.clone();
    let runner = tokio::task::spawn_blocking(move || {
        crate::runner::Runner::load(&dir, device, precision, artifacts)
    })
    .await
    .map_err(|e| ServeError::Startup(e.to_string()))??;
    let model = runner.model();
    tracing::info!(model = %model.name, dir = %model_dir.display(), dtype = %model.unet_dtype, "model loaded");
    if let Some(notice) = &notice {
        tracing::warn!("{notice}");
    }
    Ok((runner, notice))
}

/// What the log, `/api/health` and the UI say while the bundled demo model serves.
pub const DEMO_MODEL_NOTICE: &str = "No model configured: using the built-in demo model, a small \
    model trained by this project that draws simple scenes at 64x64 (circles, squares, stars, \
    hearts… in ten colours on plain or textured backgrounds, e.g. \"a red circle on a blue \
    background\"), and nothing else. Point the server at a Stable Diffusion 1.x/2.x diffusers \
    folder with --model DIR or STABLESTEERING_MODEL for real pictures.";

/// The configured model, or the bundled demo model (unpacked from the binary into the user's
/// cache, see `engine::demo_model`) with the notice people must see.
fn choose_model(configured: Option<PathBuf>) -> Result<(PathBuf, Option<String>), ServeError> {
    if let Some(dir) = configured {
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        return Ok((dir, None));
    }
    let bundled = engine::demo_model::materialize()?;
    Ok((bundled, Some(DEMO_MODEL_NOTICE.to_string())))
}

/// The site root: `explicit` (`--site-root` / `LEPTOS_SITE_ROOT`), which must exist, else the
/// first of [`site_root_candidates`] holding the built WASM, else `target/site` (serving then
/// works without hydration, with a warning).
pub fn resolve_site_root(explicit: Option<&Path>) -> Result<PathBuf, ServeError> {
    if let Some(dir) = explicit {
        if !dir.is_dir() {
            return Err(ServeError::SiteRootMissing(dir.to_path_buf()));
        }
        return Ok(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()));
    }
    Ok(find_built_site().unwrap_or_else(|| PathBuf::from("target/site")))
}

/// The first of [`site_root_candidates`] that holds the built WASM.
pub fn find_built_site() -> Option<PathBuf> {
    site_root_candidates()
        .into_iter()
        .find(|dir| site_wasm(dir).is_file())
        .map(|dir| std::fs::canonicalize(&dir).unwrap_or(dir))
}

/// Where the built site is looked for without `--site-root`: `site` and `../site` beside the
/// executable (so `target/release/stablesteering` finds `target/site`), then `target/site` in
/// the working directory.
pub fn site_root_candidates() -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        candidates.push(exe_dir.join("site"));
        candidates.push(exe_dir.join("..").join("site"));
    }
    candidates.push(PathBuf::from("target/site"));
    candidates
}

fn site_wasm(site_root: &Path) -> PathBuf {
    site_root
        .join("pkg")
        .join(format!("{}.wasm", app::OUTPUT_NAME))
}

fn warn_if_site_missing(site_root: &Path) {
    let wasm = site_wasm(site_root);
    if !wasm.exists() {
        tracing::warn!(
            path = %wasm.display(),
            "the built site is missing: pages will render but not hydrate (run `make run`, or pass --site-root)"
        );
    } else {
        tracing::info!(site_root = %site_root.display(), "serving the built site");
    }
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
