//! Export routes.
//!
//! - `GET /api/sessions/{id}/export?format=jsonl|csv|parquet|bundle[&table=NAME]` (default
//!   `jsonl`): the session's events as JSONL (the store's faithful export); its tidy tables as
//!   CSV or Parquet (a zip of every table plus `schema.json`, or one table with `table=`); or a
//!   session bundle zip with `manifest.json`, `events.jsonl`, `frontend-events.jsonl` (when any),
//!   `images/<hash>.png` for every candidate image and `report.html` (the self-contained trace
//!   report).
//! - `GET /api/export?format=jsonl|csv|parquet[&table=NAME]`: the same for the whole store.
//!
//! Exports are built off the async workers and sent as attachments.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Write};
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::error::{parse_id, ApiError, ApiResult};
use crate::artifacts::content_hash;
use crate::services::history::require_session;
use crate::services::{ServiceError, ServiceResult, Services};
use crate::state::AppState;
use crate::store::export::{build_tables, csv::write_csv, export_jsonl, parquet::write_parquet};
use crate::store::LogStore;
use crate::traces::{frontend, now_iso, report};

/// The bundle's format name, in its manifest.
pub const BUNDLE_FORMAT: &str = "stablesteering.bundle/1";

/// The export routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/sessions/{id}/export", get(session_export))
        .route("/api/export", get(store_export))
}

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    Parquet,
    Bundle,
}

impl Format {
    /// Parses `format=` (absent means JSONL).
    pub fn parse(raw: Option<&str>) -> ApiResult<Format> {
        match raw.map(str::trim).unwrap_or("jsonl") {
            "" | "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            "bundle" => Ok(Format::Bundle),
            other => Err(ApiError::invalid(
                "format",
                format!(
                    "unknown format `{}`: use jsonl, csv, parquet or bundle",
                    other.chars().take(40).collect::<String>()
                ),
            )),
        }
    }
}

/// Query of both export routes.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ExportQuery {
    pub format: Option<String>,
    pub table: Option<String>,
}

/// A built export: bytes, content type and file name.
#[derive(Debug)]
pub struct ExportFile {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub filename: String,
}

impl IntoResponse for ExportFile {
    fn into_response(self) -> Response {
        (
            [
                (header::CONTENT_TYPE, self.content_type.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", self.filename),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            self.bytes,
        )
            .into_response()
    }
}

fn query_of(q: Result<Query<ExportQuery>, QueryRejection>) -> ApiResult<ExportQuery> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::invalid("format", e.body_text()))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ServiceResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(ServiceError::internal(format!("export task failed: {e}"))))?
        .map_err(ApiError)
}

async fn session_export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> ApiResult<ExportFile> {
    let id = parse_id("session", &id)?;
    let query = query_of(query)?;
    let format = Format::parse(query.format.as_deref())?;
    require_session(&state.store, id)?;
    let services = state.services.clone();
    let table = query.table;
    blocking(move || build_export(&services, Some(id), format, table.as_deref())).await
}

async fn store_export(
    State(state): State<AppState>,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> ApiResult<ExportFile> {
    if !crate::services::principal::sees_all() {
        return Err(ApiError(ServiceError::new(
            crate::services::ErrorKind::Forbidden,
            "the whole-store export is for admins; export your sessions one by one",
        )));
    }
    let query = query_of(query)?;
    let format = Format::parse(query.format.as_deref())?;
    if format == Format::Bundle {
        return Err(ApiError::invalid(
            "format",
            "bundles are per session: use /api/sessions/{id}/export?format=bundle",
        ));
    }
    let services = state.services.clone();
    let table = query.table;
    blocking(move || build_export(&services, None, format, table.as_deref())).await
}

/// Builds one export of a session (or of the whole store when `session` is `None`).
pub fn build_export(
    services: &Arc<Services>,
    session: Option<Uuid>,
    format: Format,
    table: Option<&str>,
) -> ServiceResult<ExportFile> {
    let stem = match session {
        Some(id) => format!("session-{id}"),
        None => "stablesteering".to_string(),
    };
    match format {
        Format::Jsonl => {
            let mut bytes = Vec::new();
            jsonl_of(&services.store, session, &mut bytes)?;
            Ok(ExportFile {
                bytes,
                content_type: "application/x-ndjson",
                filename: format!("{stem}.jsonl"),
            })
        }
        Format::Csv | Format::Parquet => tables_export(services, session, format, table, &stem),
        Format::Bundle => {
            let id = session
                .ok_or_else(|| ServiceError::invalid("format", "bundles are per session"))?;
            Ok(ExportFile {
                bytes: session_bundle(services, id)?,
                content_type: "application/zip",
                filename: format!("{stem}-bundle.zip"),
            })
        }
    }
}

fn io_err(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(format!("export failed: {e}"))
}

fn tables_export(
    services: &Services,
    session: Option<Uuid>,
    format: Format,
    table: Option<&str>,
    stem: &str,
) -> ServiceResult<ExportFile> {
    let tables = services
        .store
        .with_projections(|p| build_tables(p, session));
    let ext = if format == Format::Csv {
        "csv"
    } else {
        "parquet"
    };
    let write = |t: &crate::store::export::Table| -> ServiceResult<Vec<u8>> {
        let mut bytes = Vec::new();
        if format == Format::Csv {
            write_csv(t, &mut bytes).map_err(io_err)?;
        } else {
            write_parquet(t, &mut bytes).map_err(io_err)?;
        }
        Ok(bytes)
    };
    if let Some(name) = table.map(str::trim).filter(|n| !n.is_empty()) {
        let Some(t) = tables.iter().find(|t| t.name == name) else {
            let names: Vec<&str> = tables.iter().map(|t| t.name).collect();
            return Err(ServiceError::invalid(
                "table",
                format!("unknown table: use one of {}", names.join(", ")),
            ));
        };
        return Ok(ExportFile {
            bytes: write(t)?,
            content_type: if format == Format::Csv {
                "text/csv; charset=utf-8"
            } else {
                "application/vnd.apache.parquet"
            },
            filename: format!("{stem}-{}.{ext}", t.name),
        });
    }
    let mut zip = Zip::new();
    let schema = serde_json::to_vec_pretty(&tables).map_err(io_err)?;
    zip.add("schema.json", &schema, true)?;
    for t in &tables {
        // Parquet pages are already compressed.
        zip.add(
            &format!("{}.{ext}", t.name),
            &write(t)?,
            format == Format::Csv,
        )?;
    }
    Ok(ExportFile {
        bytes: zip.finish()?,
        content_type: "application/zip",
        filename: format!("{stem}-{ext}.zip"),
    })
}

/// A zip built in memory.
struct Zip {
    writer: ZipWriter<Cursor<Vec<u8>>>,
}

impl Zip {
    fn new() -> Zip {
        Zip {
            writer: ZipWriter::new(Cursor::new(Vec::new())),
        }
    }

    fn add(&mut self, name: &str, bytes: &[u8], compress: bool) -> ServiceResult<()> {
        let method = if compress {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
        self.writer.start_file(name, options).map_err(io_err)?;
        self.writer.write_all(bytes).map_err(io_err)
    }

    fn finish(self) -> ServiceResult<Vec<u8>> {
        Ok(self.writer.finish().map_err(io_err)?.into_inner())
    }
}

/// The session bundle: `manifest.json`, `events.jsonl`, `frontend-events.jsonl` (when any),
/// `images/<hash>.png`, `report.html`. The manifest lists every other file with its size and
/// BLAKE2b-256 hash (the same hash that names the images).
pub fn session_bundle(services: &Services, session_id: Uuid) -> ServiceResult<Vec<u8>> {
    let detail = require_session(&services.store, session_id)?;
    let mut files: Vec<(String, Vec<u8>, bool)> = Vec::new();

    let mut events = Vec::new();
    let event_count = jsonl_of(&services.store, Some(session_id), &mut events)?;
    files.push(("events.jsonl".into(), events, true));

    let frontend_path = frontend::session_path(services.store.data_dir(), session_id);
    let frontend_events = std::fs::read(&frontend_path).unwrap_or_default();
    let frontend_count = frontend_events.iter().filter(|&&b| b == b'\n').count();
    if !frontend_events.is_empty() {
        files.push(("frontend-events.jsonl".into(), frontend_events, true));
    }

    let hashes: BTreeSet<String> = detail
        .rounds
        .iter()
        .flat_map(|r| r.candidates.iter())
        .filter_map(|c| c.render.as_ref().map(|r| r.artifact_hash.clone()))
        .collect();
    let mut missing = Vec::new();
    let mut images = 0usize;
    for hash in &hashes {
        match services.runner.artifacts().get(hash) {
            Some(bytes) => {
                files.push((format!("images/{hash}.png"), bytes, false));
                images += 1;
            }
            None => missing.push(hash.clone()),
        }
    }

    let html = report::session_report_html(services, session_id)?;
    files.push(("report.html".into(), html.into_bytes(), true));

    let candidates: usize = detail.rounds.iter().map(|r| r.candidates.len()).sum();
    let feedback = detail
        .rounds
        .iter()
        .filter(|r| r.feedback.is_some())
        .count();
    let listed: Vec<_> = files
        .iter()
        .map(|(path, bytes, _)| {
            json!({"path": path, "bytes": bytes.len(), "blake2b_256": content_hash(bytes)})
        })
        .collect();
    let mut counts = BTreeMap::new();
    counts.insert("events", event_count as usize);
    counts.insert(
        "rounds",
        detail.rounds.iter().filter(|r| !r.calibration).count(),
    );
    counts.insert(
        "calibration_rounds",
        detail.rounds.iter().filter(|r| r.calibration).count(),
    );
    counts.insert("candidates", candidates);
    counts.insert("images", images);
    counts.insert("feedback", feedback);
    counts.insert("frontend_events", frontend_count);
    let manifest = json!({
        "format": BUNDLE_FORMAT,
        "session_id": session_id,
        "experiment_id": detail.experiment_id,
        "prompt": detail.prompt,
        "model": detail.model_ref,
        "created_at": now_iso(),
        "app_version": crate::VERSION,
        "store_head_seq": services.store.head_seq(),
        "counts": counts,
        "missing_images": missing,
        "hash": "blake2b-256",
        "files": listed,
    });
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(io_err)?;

    let mut zip = Zip::new();
    zip.add("manifest.json", &manifest, true)?;
    for (path, bytes, compress) in &files {
        zip.add(path, bytes, *compress)?;
    }
    zip.finish()
}

/// The JSONL export from whichever engine holds the log.
fn jsonl_of(store: &LogStore, session: Option<Uuid>, out: &mut Vec<u8>) -> ServiceResult<u64> {
    let lines = match store {
        LogStore::Sled(s) => export_jsonl(s, session, out)?,
        LogStore::Postgres(p) => export_jsonl(p.pg(), session, out)?,
    };
    Ok(lines)
}
