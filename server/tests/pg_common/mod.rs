//! A throwaway PostgreSQL cluster for tests: initdb + pg_ctl on a Unix socket in a temp dir
//! (`scripts/pg-test-cluster.sh`), stopped when the value is dropped.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A PostgreSQL cluster that lives as long as the value.
pub struct Cluster {
    dir: tempfile::TempDir,
    url: String,
    databases: AtomicUsize,
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::Builder::new().prefix("pg").tempdir().unwrap();
        let out = Command::new(script())
            .args(["start", dir.path().to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg-test-cluster.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Cluster {
            dir,
            url,
            databases: AtomicUsize::new(0),
        }
    }

    /// The cluster's directory (data, socket, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A URL to a new, empty database of this cluster.
    pub fn fresh_database(&self) -> String {
        let name = format!("t{}", self.databases.fetch_add(1, Ordering::Relaxed));
        self.sql(&format!("CREATE DATABASE {name}"));
        self.url.replace("/postgres?", &format!("/{name}?"))
    }

    /// Run SQL on the maintenance database with psql.
    pub fn sql(&self, sql: &str) -> String {
        self.sql_on(&self.url, sql)
    }

    pub fn sql_on(&self, url: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args([url, "-v", "ON_ERROR_STOP=1", "-tAc", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["stop", self.dir.path().to_str().unwrap()])
            .status();
    }
}

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-test-cluster.sh")
}
