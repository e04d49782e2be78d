//! `stablesteering bench store --store postgres://…`: the PostgreSQL backend's figures in a
//! scratch database it creates and drops (the role needs CREATEDB): durable appends one at a
//! time and under many concurrent producers, replay of a 50-round session to a round, and
//! subscription lag under concurrent writers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use uuid::Uuid;

use crate::store::backend::{
    AppendRequest, EventStore, EventSubscription, ExpectedVersion, NewEvent,
};
use crate::store::devtools::workload::{Rng, SessionScript};
use crate::store::error::{Result, StoreError};
use crate::store::ids::StreamId;
use crate::store::postgres::PgStore;
use crate::store::projections::AsOf;
use crate::store::util::now_us;

/// Benchmark sizes.
#[derive(Debug, Clone)]
pub struct PgBenchOptions {
    pub single_commit_events: u64,
    pub group_commit_events: u64,
    pub producers: usize,
    pub replay_rounds: u32,
    pub replay_samples: usize,
    pub lag_writers: usize,
    pub lag_seconds: f64,
}

impl Default for PgBenchOptions {
    fn default() -> Self {
        PgBenchOptions {
            single_commit_events: 1_000,
            group_commit_events: 20_000,
            producers: 64,
            replay_rounds: 50,
            replay_samples: 500,
            lag_writers: 8,
            lag_seconds: 5.0,
        }
    }
}

/// Figures of one run, with the targets.
#[derive(Debug, Clone, Serialize)]
pub struct PgBenchReport {
    pub server_version: String,
    pub single_commit_events_per_s: f64,
    pub group_commit_producers: usize,
    pub group_commit_events: u64,
    pub group_commit_events_per_s: f64,
    pub replay_session_events: u64,
    pub replay_p50_ms: f64,
    pub replay_p99_ms: f64,
    pub lag_writers: usize,
    pub lag_events: usize,
    pub lag_p50_ms: f64,
    pub lag_p99_ms: f64,
    pub group_commit_met: bool,
    pub replay_met: bool,
    pub lag_met: bool,
}

/// Run the benchmark against a scratch database next to the one `url` names.
pub fn run_pg_bench(url: &str, o: &PgBenchOptions) -> Result<PgBenchReport> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| StoreError::DatabaseRefused {
            reason: format!("cannot start a runtime: {e}"),
        })?;
    rt.block_on(async {
        let scratch = ScratchDatabase::create(url).await?;
        let result = measure(&scratch.url, o).await;
        scratch.drop_database().await;
        result
    })
}

async fn measure(url: &str, o: &PgBenchOptions) -> Result<PgBenchReport> {
    let store = Arc::new(PgStore::open(url).await?);
    let single = single_commit(&store, o.single_commit_events).await?;
    tracing::info!(rate = single, "PostgreSQL single-commit events/s");
    let group = group_commit(&store, o.group_commit_events, o.producers).await?;
    tracing::info!(rate = group, "PostgreSQL group-commit events/s");
    let (replay_events, replay) = replay(&store, o.replay_rounds, o.replay_samples).await?;
    let lag = subscription_lag(&store, o.lag_writers, o.lag_seconds).await?;
    let server_version = server_version(url).await?;
    let (replay_p99, lag_p99) = (percentile(&replay, 0.99), percentile(&lag, 0.99));
    Ok(PgBenchReport {
        server_version,
        single_commit_events_per_s: single,
        group_commit_producers: o.producers,
        group_commit_events: o.group_commit_events,
        group_commit_events_per_s: group,
        replay_session_events: replay_events,
        replay_p50_ms: percentile(&replay, 0.5),
        replay_p99_ms: replay_p99,
        lag_writers: o.lag_writers,
        lag_events: lag.len(),
        lag_p50_ms: percentile(&lag, 0.5),
        lag_p99_ms: lag_p99,
        group_commit_met: group >= 5_000.0,
        replay_met: replay_p99 < 2.0,
        lag_met: lag_p99 < 50.0,
    })
}

/// Appends of one session event each, to one stream per producer, `Exact` versions.
async fn produce(store: Arc<PgStore>, events: u64) -> Result<()> {
    let id = Uuid::now_v7();
    let mut script = SessionScript::new(id, None, 4, 3, id.as_u128() as u64);
    let mut pending = vec![script.created()];
    for version in 0..events {
        if pending.is_empty() {
            pending = script.next_round();
            pending.reverse();
        }
        let Some(event) = pending.pop() else { break };
        store
            .append(AppendRequest::single(
                StreamId::Session(id),
                ExpectedVersion::Exact(version),
                vec![NewEvent::new(event)],
            ))
            .await?;
    }
    Ok(())
}

async fn single_commit(store: &Arc<PgStore>, n: u64) -> Result<f64> {
    let t = Instant::now();
    produce(store.clone(), n).await?;
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

async fn group_commit(store: &Arc<PgStore>, n: u64, producers: usize) -> Result<f64> {
    let producers = producers.max(1);
    let each = (n / producers as u64).max(1);
    let t = Instant::now();
    let tasks: Vec<_> = (0..producers)
        .map(|_| tokio::spawn(produce(store.clone(), each)))
        .collect();
    for task in tasks {
        task.await.map_err(|e| StoreError::Database {
            detail: format!("producer failed: {e}"),
        })??;
    }
    Ok((each * producers as u64) as f64 / t.elapsed().as_secs_f64())
}

/// Milliseconds to read a 50-round session's stream and fold it to a random round.
async fn replay(store: &Arc<PgStore>, rounds: u32, samples: usize) -> Result<(u64, Vec<f64>)> {
    let id = Uuid::now_v7();
    let mut script = SessionScript::new(id, None, 8, 4, 3);
    let mut events = vec![NewEvent::new(script.created())];
    for _ in 0..rounds {
        events.extend(script.next_round().into_iter().map(NewEvent::new));
    }
    let total = events.len() as u64;
    for chunk in events.chunks(500) {
        let req =
            AppendRequest::single(StreamId::Session(id), ExpectedVersion::Any, chunk.to_vec());
        store.append(req).await?;
    }
    let mut rng = Rng::new(11);
    let mut lat = Vec::with_capacity(samples);
    for _ in 0..samples {
        let round = 1 + rng.below(u64::from(rounds.max(1))) as u32;
        let t = Instant::now();
        let detail = store.session_at(id, AsOf::EndOfRound(round)).await?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        if detail.rounds.is_empty() {
            return Err(StoreError::InvalidRequest(
                "replay produced no rounds".into(),
            ));
        }
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    Ok((total, lat))
}

/// Milliseconds from an append's start to its delivery to a subscriber, while `writers`
/// producers append as fast as they can for `seconds`.
async fn subscription_lag(store: &Arc<PgStore>, writers: usize, seconds: f64) -> Result<Vec<f64>> {
    let mut sub = store.subscribe(store.head());
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    produce(store.clone(), 20).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    let mut lag = Vec::new();
    let quiet_until = deadline + Duration::from_secs(1);
    while Instant::now() < quiet_until {
        let next = tokio::time::timeout(Duration::from_millis(200), sub.next_batch(256)).await;
        let Ok(batch) = next else { continue };
        let received = now_us();
        lag.extend(
            batch?
                .iter()
                .map(|e| (received - e.recorded_at_us) as f64 / 1e3),
        );
    }
    for task in tasks {
        task.await.map_err(|e| StoreError::Database {
            detail: format!("writer failed: {e}"),
        })??;
    }
    lag.sort_by(|a, b| a.total_cmp(b));
    Ok(lag)
}

async fn server_version(url: &str) -> Result<String> {
    let (client, conn) = connect(url).await?;
    let driver = tokio::spawn(conn);
    let row = client
        .query_one("SHOW server_version", &[])
        .await
        .map_err(crate::store::postgres::db_error)?;
    drop(client);
    let _ = driver.await;
    Ok(row.get(0))
}

async fn connect(
    url: &str,
) -> Result<(
    tokio_postgres::Client,
    tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
)> {
    tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| StoreError::DatabaseRefused {
            reason: format!("cannot reach PostgreSQL: {e}"),
        })
}

/// A database created for one run and dropped after it.
struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    async fn create(url: &str) -> Result<ScratchDatabase> {
        let name = format!("stablesteering_bench_{}", Uuid::now_v7().simple());
        let (client, conn) = connect(url).await?;
        let driver = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| StoreError::DatabaseRefused {
                reason: format!("cannot create the scratch database (needs CREATEDB): {e}"),
            })?;
        drop(client);
        let _ = driver.await;
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::DatabaseRefused {
                reason: format!("not a PostgreSQL URL: {e}"),
            })?;
        config.dbname(&name);
        Ok(ScratchDatabase {
            admin_url: url.to_string(),
            url: to_key_value(&config),
            name,
        })
    }

    async fn drop_database(self) {
        if let Ok((client, conn)) = connect(&self.admin_url).await {
            let driver = tokio::spawn(conn);
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            if let Err(e) = client.batch_execute(&sql).await {
                tracing::warn!(error = %e, database = %self.name, "could not drop the scratch database");
            }
            drop(client);
            let _ = driver.await;
        }
    }
}

/// A key=value connection string for `config` (hosts, port, user, password, database), each
/// value quoted so spaces and quotes survive.
fn to_key_value(config: &tokio_postgres::Config) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut parts = Vec::new();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    if !hosts.is_empty() {
        parts.push(format!("host={}", quote(&hosts.join(","))));
    }
    if let Some(port) = config.get_ports().first() {
        parts.push(format!("port={port}"));
    }
    if let Some(user) = config.get_user() {
        parts.push(format!("user={}", quote(user)));
    }
    if let Some(password) = config.get_password() {
        parts.push(format!(
            "password={}",
            quote(&String::from_utf8_lossy(password))
        ));
    }
    if let Some(db) = config.get_dbname() {
        parts.push(format!("dbname={}", quote(db)));
    }
    parts.join(" ")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Print the report as lines for people.
pub fn print_report(r: &PgBenchReport) {
    println!("PostgreSQL {}", r.server_version);
    println!(
        "durable appends, one event per commit      : {:>8.0} events/s",
        r.single_commit_events_per_s
    );
    println!(
        "durable appends, {:>3} concurrent producers : {:>8.0} events/s (target >= 5000: {})",
        r.group_commit_producers,
        r.group_commit_events_per_s,
        met(r.group_commit_met)
    );
    println!(
        "replay to round ({} events, 50 rounds)    : p50 {:.3} ms, p99 {:.3} ms (target p99 < 2: {})",
        r.replay_session_events,
        r.replay_p50_ms,
        r.replay_p99_ms,
        met(r.replay_met)
    );
    println!(
        "subscription lag, {} writers ({} events)  : p50 {:.1} ms, p99 {:.1} ms (target p99 < 50: {})",
        r.lag_writers,
        r.lag_events,
        r.lag_p50_ms,
        r.lag_p99_ms,
        met(r.lag_met)
    );
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}
