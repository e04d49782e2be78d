//! Exports: the JSONL log imports into an empty store and projects to the same state (and the
//! same events); one session's export imports with renumbering; the tidy tables read back from
//! CSV and Parquet in Rust, and load in DuckDB when Python has it; logical backup and restore.

use std::io::BufReader;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, ListAccessor, RowAccessor};
use stablesteering::store::backup;
use stablesteering::store::devtools::workload;
use stablesteering::store::export::{self, ExportFormats, ImportMode};
use stablesteering::store::*;

#[test]
fn jsonl_export_imports_to_the_same_state() {
    let tmp = tempfile::tempdir().unwrap();
    let src = crate::common::open(&tmp.path().join("src"));
    crate::common::populate(&src, 4, 4);
    let mut buf = Vec::new();
    let n = export::export_jsonl(&src, None, &mut buf).unwrap();
    assert_eq!(n, src.head_seq());
    let text = String::from_utf8(buf.clone()).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    for key in [
        "seq",
        "event_id",
        "stream",
        "stream_version",
        "recorded_at",
        "recorded_at_us",
        "schema_version",
        "type",
        "payload",
    ] {
        assert!(first.get(key).is_some(), "missing {key} in {first}");
    }
    let dst = crate::common::open(&tmp.path().join("dst"));
    let imported = export::import_jsonl(&dst, BufReader::new(&buf[..]), ImportMode::Exact).unwrap();
    assert_eq!(imported, n);
    assert_eq!(
        crate::common::all_events(&dst),
        crate::common::all_events(&src)
    );
    assert_eq!(
        dst.projections_snapshot().fingerprint(),
        src.projections_snapshot().fingerprint()
    );
    // Identical records, byte for byte.
    assert_eq!(
        dst.raw_records(0, usize::MAX).unwrap(),
        src.raw_records(0, usize::MAX).unwrap()
    );
    // Importing the same file again is refused (positions and ids already taken).
    assert!(export::import_jsonl(&dst, BufReader::new(&buf[..]), ImportMode::Exact).is_err());
    dst.close();
    let dst = crate::common::open(&tmp.path().join("dst"));
    assert_eq!(
        dst.projections_snapshot().fingerprint(),
        src.projections_snapshot().fingerprint()
    );
}

#[test]
fn old_schema_versions_import() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::common::open(tmp.path());
    let sid = uuid::Uuid::now_v7();
    let mut script = workload::SessionScript::new(sid, None, 2, 2, 1);
    crate::common::append(&store, StreamId::Session(sid), vec![script.created()]);
    let round = script.next_round();
    crate::common::append(
        &store,
        StreamId::Session(sid),
        round[..round.len() - 2].to_vec(),
    );
    let Event::FeedbackSubmitted(f) = &round[round.len() - 2] else {
        panic!()
    };
    // A v1 line (no negative_pins), as an older release would have exported it.
    let mut payload = serde_json::to_value(f).unwrap();
    payload.as_object_mut().unwrap().remove("negative_pins");
    let line = serde_json::json!({
        "seq": store.head_seq() + 1, "event_id": uuid::Uuid::now_v7(), "stream": format!("session-{sid}"),
        "stream_version": store.version_of(&StreamId::Session(sid)) + 1, "recorded_at_us": 1, "schema_version": 1,
        "type": "feedback.submitted", "payload": payload,
    });
    export::import_jsonl(
        &store,
        BufReader::new(line.to_string().as_bytes()),
        ImportMode::Exact,
    )
    .unwrap();
    let d = store.session(sid).unwrap();
    assert!(d.rounds[0]
        .feedback
        .as_ref()
        .unwrap()
        .feedback
        .negative_pins
        .is_empty());
    let bad = line
        .to_string()
        .replace("\"schema_version\":1", "\"schema_version\":9");
    assert!(
        export::import_jsonl(&store, BufReader::new(bad.as_bytes()), ImportMode::Renumber).is_err()
    );
}

#[test]
fn one_session_export_imports_with_renumbering() {
    let tmp = tempfile::tempdir().unwrap();
    let src = crate::common::open(&tmp.path().join("src"));
    let p = crate::common::populate(&src, 3, 3);
    let sid = p.sessions[1];
    let mut buf = Vec::new();
    export::export_jsonl(&src, Some(sid), &mut buf).unwrap();
    let dst = crate::common::open(&tmp.path().join("dst"));
    assert!(
        export::import_jsonl(&dst, BufReader::new(&buf[..]), ImportMode::Exact).is_err(),
        "sparse seqs must not import exactly"
    );
    export::import_jsonl(&dst, BufReader::new(&buf[..]), ImportMode::Renumber).unwrap();
    let (a, b) = (src.session(sid).unwrap(), dst.session(sid).unwrap());
    assert_eq!(a.rounds, b.rounds);
    assert_eq!(
        (a.current_z.clone(), a.trajectory.clone(), a.version),
        (b.current_z.clone(), b.trajectory.clone(), b.version)
    );
}

fn count_csv_rows(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().iter().map(String::from).collect();
    (headers, r.records().map(|x| x.unwrap()).collect())
}

#[test]
fn tidy_tables_read_back_from_csv_and_parquet() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::common::open(&tmp.path().join("data"));
    let p = crate::common::populate(&store, 3, 4);
    let out = tmp.path().join("out");
    let summary = export::export_all(&store, &out, None, ExportFormats::ALL).unwrap();
    let rows: std::collections::HashMap<String, usize> = summary.rows.iter().cloned().collect();
    let snapshot = store.projections_snapshot();
    let candidates: usize = snapshot
        .sessions
        .values()
        .flat_map(|s| &s.rounds)
        .map(|r| r.candidates.len())
        .sum();
    assert_eq!(rows["sessions"], snapshot.sessions.len());
    assert_eq!(rows["candidates"], candidates);
    assert!(rows["feedback"] > 0 && rows["incumbents"] > 0 && rows["rounds"] > 0);
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("schema.json")).unwrap()).unwrap();
    assert_eq!(schema[2]["columns"][8]["type"], "list_float64");

    // CSV: headers, counts, z as a JSON array that matches the projection.
    let (headers, recs) = count_csv_rows(&out.join("candidates.csv"));
    assert_eq!(recs.len(), candidates);
    let z_col = headers.iter().position(|h| h == "z").unwrap();
    let id_col = headers.iter().position(|h| h == "candidate_id").unwrap();
    let first = &recs[0];
    let z: Vec<f64> = serde_json::from_str(&first[z_col]).unwrap();
    let cid: uuid::Uuid = first[id_col].parse().unwrap();
    let want = snapshot
        .sessions
        .values()
        .flat_map(|s| &s.rounds)
        .flat_map(|r| &r.candidates)
        .find(|c| c.candidate.candidate_id.0 == cid)
        .unwrap();
    assert_eq!(z, want.candidate.z, "z must round-trip exactly through CSV");
    let (_, sessions) = count_csv_rows(&out.join("sessions.csv"));
    assert_eq!(sessions.len(), snapshot.sessions.len());

    // Parquet: schema, counts, list and timestamp values.
    let file = std::fs::File::open(out.join("candidates.parquet")).unwrap();
    let reader = SerializedFileReader::new(file).unwrap();
    assert_eq!(
        reader.metadata().file_metadata().num_rows() as usize,
        candidates
    );
    let mut found = false;
    for row in reader.get_row_iter(None).unwrap() {
        let row = row.unwrap();
        if row.get_string(3).unwrap() == &cid.to_string() {
            let list = row.get_list(8).unwrap();
            let zs: Vec<f64> = (0..list.len())
                .map(|i| list.get_double(i).unwrap())
                .collect();
            assert_eq!(zs, want.candidate.z);
            assert_eq!(row.get_long(6).unwrap(), i64::from(want.candidate.seed));
            found = true;
        }
    }
    assert!(found);
    let file = std::fs::File::open(out.join("sessions.parquet")).unwrap();
    let reader = SerializedFileReader::new(file).unwrap();
    let mut forks = 0;
    for row in reader.get_row_iter(None).unwrap() {
        let row = row.unwrap();
        let fields: Vec<(String, Field)> = row
            .get_column_iter()
            .map(|(n, f)| (n.clone(), f.clone()))
            .collect();
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, f)| f.clone())
                .unwrap()
        };
        assert!(matches!(get("created_at"), Field::TimestampMicros(_)));
        if let Field::Str(parent) = get("parent_session_id") {
            assert_eq!(parent, p.sessions[0].to_string());
            forks += 1;
        }
    }
    assert_eq!(forks, 1);

    // DuckDB, when the Python module is available.
    let python = std::env::var("STORE_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_duckdb = std::process::Command::new(&python)
        .args(["-c", "import duckdb"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_duckdb {
        println!("NOTE: DuckDB check skipped ({python} cannot import duckdb); see export/mod.rs for the command");
        return;
    }
    let script = r#"
import duckdb, sys, json
d = sys.argv[1]
con = duckdb.connect()
q = lambda sql: con.execute(sql).fetchone()[0]
out = {}
for t in ["sessions", "rounds", "candidates", "feedback", "incumbents"]:
    out[t] = [q(f"select count(*) from read_parquet('{d}/{t}.parquet')"), q(f"select count(*) from read_csv_auto('{d}/{t}.csv')")]
out["z_type"] = q(f"select typeof(z) from read_parquet('{d}/candidates.parquet') limit 1")
out["ts_type"] = q(f"select typeof(created_at) from read_parquet('{d}/sessions.parquet') limit 1")
out["len_z"] = q(f"select min(len(z)) from read_parquet('{d}/candidates.parquet')")
out["csv_z"] = q(f"select count(*) from read_csv_auto('{d}/candidates.csv') where len(cast(z as double[])) = 4")
print(json.dumps(out))
"#;
    let o = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "duckdb failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    println!("duckdb: {v}");
    for (t, n) in &rows {
        assert_eq!(
            v[t][0].as_u64().unwrap() as usize,
            *n,
            "parquet count of {t}"
        );
        assert_eq!(v[t][1].as_u64().unwrap() as usize, *n, "csv count of {t}");
    }
    assert_eq!(v["z_type"], "DOUBLE[]");
    assert!(v["ts_type"].as_str().unwrap().starts_with("TIMESTAMP"));
    assert_eq!(v["len_z"], 4);
    assert_eq!(
        v["csv_z"].as_u64().unwrap() as usize,
        candidates,
        "CSV z lists cast to DOUBLE[]"
    );
}

#[test]
fn backup_and_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::common::open(&tmp.path().join("data"));
    crate::common::populate(&store, 3, 3);
    let file = tmp.path().join("store.bak");
    // The synthetic log names artifacts that were never stored.
    let refused = backup::backup(&store, &file, backup::BackupOptions::default());
    assert!(refused.unwrap_err().to_string().contains("artifact"));
    assert!(!file.exists());
    let options = backup::BackupOptions {
        allow_missing_artifacts: true,
    };
    let s = backup::backup(&store, &file, options).unwrap();
    assert!(s.missing_artifacts > 0);
    assert_eq!(s.events, store.head_seq());
    assert_eq!(backup::verify_backup(&file).unwrap(), s.events);
    let restored_dir = tmp.path().join("restored");
    backup::restore(&file, &restored_dir).unwrap();
    let restored = crate::common::open(&restored_dir);
    assert_eq!(
        restored.raw_records(0, usize::MAX).unwrap(),
        store.raw_records(0, usize::MAX).unwrap()
    );
    assert_eq!(
        restored.projections_snapshot().fingerprint(),
        store.projections_snapshot().fingerprint()
    );
    restored.close();
    // Restoring over an existing store is refused; a damaged backup is detected.
    assert!(backup::restore(&file, &restored_dir).is_err());
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    let bad = tmp.path().join("bad.bak");
    std::fs::write(&bad, &bytes).unwrap();
    assert!(backup::verify_backup(&bad).is_err());
    assert!(backup::restore(&bad, &tmp.path().join("other")).is_err());
    assert!(
        !tmp.path().join("other").join("MANIFEST").exists(),
        "nothing restored from a damaged backup"
    );
    bytes.truncate(bytes.len() - 5);
    std::fs::write(&bad, &bytes).unwrap();
    assert!(backup::verify_backup(&bad).is_err());
}
