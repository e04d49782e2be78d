//! Exports for analysis: the JSONL log (faithful, importable) and tidy tables (sessions,
//! rounds, candidates, feedback, incumbents) as CSV and Parquet, with `schema.json` stating
//! the column types.
//!
//! Loading them (documented check, also run by the tests when DuckDB is importable):
//!
//! ```text
//! python3 -c "import duckdb; print(duckdb.execute(\"select count(*), min(len(z)) from 'out/candidates.parquet'\").fetchall())"
//! python3 -c "import pandas as pd; print(pd.read_csv('out/rounds.csv').dtypes)"
//! ```

pub mod csv;
pub mod jsonl;
pub mod parquet;
pub mod tables;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use serde::Serialize;
use uuid::Uuid;

use crate::store::error::{Result, StoreError};
use crate::store::sled::store::SledStore;

pub use jsonl::{export_jsonl, import_jsonl, ImportMode, JsonEvent};
pub use tables::{build_tables, ColType, Column, Table, Value};

/// Which files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportFormats {
    pub jsonl: bool,
    pub csv: bool,
    pub parquet: bool,
}

impl ExportFormats {
    /// Everything.
    pub const ALL: ExportFormats = ExportFormats {
        jsonl: true,
        csv: true,
        parquet: true,
    };
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    pub files: Vec<PathBuf>,
    pub events: u64,
    pub rows: Vec<(String, usize)>,
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|e| StoreError::io(path, e))
}

/// Write the exports of the whole store (or one session) into `out_dir`:
/// `events.jsonl`, `<table>.csv`, `<table>.parquet`, `schema.json`.
pub fn export_all(
    store: &SledStore,
    out_dir: &Path,
    session: Option<Uuid>,
    formats: ExportFormats,
) -> Result<ExportSummary> {
    std::fs::create_dir_all(out_dir).map_err(|e| StoreError::io(out_dir, e))?;
    let mut summary = ExportSummary {
        files: Vec::new(),
        events: 0,
        rows: Vec::new(),
    };
    if formats.jsonl {
        let p = out_dir.join("events.jsonl");
        let mut w = create(&p)?;
        summary.events = export_jsonl(store, session, &mut w)?;
        summary.files.push(p);
    }
    if !(formats.csv || formats.parquet) {
        return Ok(summary);
    }
    let tables = store.with_projections(|p| build_tables(p, session));
    let schema_path = out_dir.join("schema.json");
    let schema =
        serde_json::to_vec_pretty(&tables).map_err(|e| StoreError::Export(e.to_string()))?;
    std::fs::write(&schema_path, schema).map_err(|e| StoreError::io(&schema_path, e))?;
    summary.files.push(schema_path);
    for t in &tables {
        summary.rows.push((t.name.to_string(), t.rows.len()));
        if formats.csv {
            let p = out_dir.join(format!("{}.csv", t.name));
            let mut w = create(&p)?;
            csv::write_csv(t, &mut w).map_err(|e| StoreError::io(&p, e))?;
            summary.files.push(p);
        }
        if formats.parquet {
            let p = out_dir.join(format!("{}.parquet", t.name));
            let w = create(&p)?;
            parquet::write_parquet(t, w).map_err(|e| StoreError::io(&p, e))?;
            summary.files.push(p);
        }
    }
    Ok(summary)
}
