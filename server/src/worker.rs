//! `stablesteering worker`: a render worker on a shared PostgreSQL queue.
//!
//! It opens the same log as the API server (projections replayed and followed), loads its own
//! model on its own device, and claims render jobs (`services/claims.rs`) until it is stopped.
//! Images go to `<data-dir>/artifacts`, which must be the API server's artifact folder (a
//! shared directory: NFS or the like), because the server serves them and the log names them
//! by content hash. On Ctrl-C / SIGTERM the running render stops at its next step and its job
//! goes back to the queue for another worker.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use crate::serve::{load_runner, open_data_dir, shutdown_signal, EngineArgs, ServeError};
use crate::services::claims::ServiceRole;
use crate::services::{ServiceOptions, Services};

/// How long a stopping worker waits for its renders to give their jobs back.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// `stablesteering worker` options.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The shared PostgreSQL database (`postgres://USER@HOST/DB`), the API server's `--store`.
    #[arg(long, env = "STABLESTEERING_STORE")]
    pub store: String,

    /// The API server's data directory, shared (images are written to its `artifacts/`).
    #[arg(long, env = "STABLESTEERING_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    #[command(flatten)]
    pub engine: EngineArgs,

    /// Render jobs this worker runs at the same time.
    #[arg(long, env = "STABLESTEERING_RENDER_CONCURRENCY", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=16))]
    pub render_concurrency: u16,

    /// Lease of a claimed job in milliseconds, renewed every third of it; a job whose worker
    /// died is taken by another within about this long.
    #[arg(long, env = "STABLESTEERING_LEASE_MS", default_value_t = 15_000,
          value_parser = clap::value_parser!(u64).range(300..=600_000))]
    pub lease_ms: u64,
}

/// Run a worker until Ctrl-C / SIGTERM.
pub async fn work(args: WorkerArgs) -> Result<(), ServeError> {
    if !args.store.starts_with("postgres") {
        return Err(ServeError::Startup(format!(
            "--store {:?}: a worker needs the API server's postgres:// database",
            args.store
        )));
    }
    args.engine.inspect_model()?;
    let (requested, url) = (args.data_dir.clone(), args.store.clone());
    let (data_dir, store) =
        tokio::task::spawn_blocking(move || open_data_dir(&requested, Some(&url)))
            .await
            .map_err(|e| ServeError::Startup(e.to_string()))??;
    let (runner, notice) = load_runner(&args.engine, &data_dir).await?;
    let location = store.describe();
    let services = Services::new(
        store,
        runner,
        ServiceOptions {
            render_concurrency: usize::from(args.render_concurrency),
            role: ServiceRole::RenderWorker,
            lease: Duration::from_millis(args.lease_ms),
        },
        notice,
    );
    services.start().await;
    println!("StableSteering worker is rendering jobs from {location}");
    tracing::info!(worker = %services.worker_id, "worker started");
    shutdown_signal().await;
    services.shutdown();
    let deadline = Instant::now() + STOP_WAIT;
    while services.holds_claims() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
