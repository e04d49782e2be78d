//! Tidy tables for analysis — sessions, rounds, candidates, feedback, incumbents — built from
//! the projections, with stated column types (see [`ColType`]; `schema.json` is written next to
//! the files). z vectors are lists of doubles (Parquet `LIST<DOUBLE>`, CSV: a JSON array).

use serde::Serialize;
use uuid::Uuid;

use crate::store::projections::{Projections, SessionDetail};

/// Column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColType {
    /// UTF-8 string (uuids, names, JSON text).
    Utf8,
    Int32,
    Int64,
    Float64,
    Bool,
    /// Microseconds since the epoch, UTC (CSV: RFC 3339).
    TimestampUs,
    /// List of doubles (z vectors).
    ListFloat64,
}

/// A column definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: ColType,
    pub nullable: bool,
}

/// A cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    I32(i32),
    I64(i64),
    F64(f64),
    Bool(bool),
    Ts(i64),
    List(Vec<f64>),
}

/// A table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub name: &'static str,
    pub columns: Vec<Column>,
    #[serde(skip)]
    pub rows: Vec<Vec<Value>>,
}

const fn col(name: &'static str, ty: ColType, nullable: bool) -> Column {
    Column { name, ty, nullable }
}

use ColType::*;

/// Schemas of the five tables.
pub fn schemas() -> Vec<Table> {
    let t = |name, columns: &[Column]| Table {
        name,
        columns: columns.to_vec(),
        rows: Vec::new(),
    };
    vec![
        t(
            "sessions",
            &[
                col("session_id", Utf8, false),
                col("experiment_id", Utf8, true),
                col("parent_session_id", Utf8, true),
                col("parent_round", Int32, true),
                col("created_at", TimestampUs, false),
                col("updated_at", TimestampUs, false),
                col("status", Utf8, false),
                col("prompt", Utf8, false),
                col("negative_prompt", Utf8, false),
                col("model_ref", Utf8, false),
                col("current_round", Int32, false),
                col("round_count", Int32, false),
                col("converged", Bool, false),
                col("rounds_to_convergence", Int32, true),
                col("current_z", ListFloat64, false),
                col("deleted", Bool, false),
                col("config_json", Utf8, false),
            ],
        ),
        t(
            "rounds",
            &[
                col("session_id", Utf8, false),
                col("round_id", Utf8, false),
                col("round_index", Int32, false),
                col("calibration", Bool, false),
                col("status", Utf8, false),
                col("failure_reason", Utf8, true),
                col("requested_at", TimestampUs, false),
                col("ready_at", TimestampUs, true),
                col("incumbent_z", ListFloat64, false),
                col("trust_radius", Float64, false),
                col("seed_policy", Utf8, false),
                col("candidate_count", Int32, false),
                col("has_feedback", Bool, false),
                col("winner_candidate_id", Utf8, true),
            ],
        ),
        t(
            "candidates",
            &[
                col("session_id", Utf8, false),
                col("round_id", Utf8, false),
                col("round_index", Int32, false),
                col("candidate_id", Utf8, false),
                col("candidate_index", Int32, false),
                col("role", Utf8, false),
                col("seed", Int64, false),
                col("seed_group", Utf8, false),
                col("z", ListFloat64, false),
                col("is_winner", Bool, false),
                col("artifact_hash", Utf8, true),
                col("width", Int32, true),
                col("height", Int32, true),
                col("device", Utf8, true),
                col("render_ms", Float64, true),
                col("generation_json", Utf8, false),
            ],
        ),
        t(
            "feedback",
            &[
                col("session_id", Utf8, false),
                col("round_id", Utf8, false),
                col("round_index", Int32, false),
                col("event_id", Utf8, false),
                col("submitted_at", TimestampUs, false),
                col("feedback_type", Utf8, false),
                col("critique_text", Utf8, true),
                col("critique_tags_json", Utf8, false),
                col("dimension_ratings_json", Utf8, false),
                col("dimension_priorities_json", Utf8, false),
                col("negative_pins_json", Utf8, false),
                col("raw_json", Utf8, false),
                col("normalized_json", Utf8, false),
            ],
        ),
        t(
            "incumbents",
            &[
                col("session_id", Utf8, false),
                col("round_id", Utf8, false),
                col("round_index", Int32, false),
                col("updated_at", TimestampUs, false),
                col("winner_candidate_id", Utf8, true),
                col("next_z", ListFloat64, false),
                col("step_norm", Float64, false),
                col("converged", Bool, false),
                col("rounds_to_convergence", Int32, true),
                col("update_summary_json", Utf8, false),
                col("convergence_json", Utf8, false),
            ],
        ),
    ]
}

fn s(v: impl ToString) -> Value {
    Value::Str(v.to_string())
}

fn opt_s(v: Option<impl ToString>) -> Value {
    v.map(s).unwrap_or(Value::Null)
}

fn i32v(v: u32) -> Value {
    Value::I32(i32::try_from(v).unwrap_or(i32::MAX))
}

fn json<T: Serialize>(v: &T) -> Value {
    Value::Str(serde_json::to_string(v).unwrap_or_else(|_| "null".into()))
}

fn l2(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let d = a.get(i).copied().unwrap_or(0.0) - b.get(i).copied().unwrap_or(0.0);
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

fn add_session(tables: &mut [Table], d: &SessionDetail) {
    let sid = d.session_id.to_string();
    tables[0].rows.push(vec![
        s(&sid),
        opt_s(d.experiment_id),
        opt_s(d.lineage.parent.as_ref().map(|p| p.session_id)),
        d.lineage
            .parent
            .as_ref()
            .map(|p| i32v(p.round))
            .unwrap_or(Value::Null),
        Value::Ts(d.created_at_us),
        Value::Ts(d.updated_at_us),
        s(d.status.as_str()),
        s(&d.prompt),
        s(&d.negative_prompt),
        s(&d.model_ref),
        i32v(d.current_round),
        i32v(u32::try_from(d.rounds.len()).unwrap_or(u32::MAX)),
        Value::Bool(d.converged),
        d.rounds_to_convergence.map(i32v).unwrap_or(Value::Null),
        Value::List(d.current_z.clone()),
        Value::Bool(d.deleted),
        s(&d.config_json),
    ]);
    for r in &d.rounds {
        let rid = r.round_id.to_string();
        let winner = r.update.as_ref().and_then(|u| u.update.winner_candidate_id);
        let failure = match &r.status {
            crate::store::projections::RoundStatus::Failed(reason) => s(reason),
            _ => Value::Null,
        };
        tables[1].rows.push(vec![
            s(&sid),
            s(&rid),
            i32v(r.index),
            Value::Bool(r.calibration),
            s(r.status.as_str()),
            failure,
            Value::Ts(r.requested_at_us),
            r.ready_at_us.map(Value::Ts).unwrap_or(Value::Null),
            Value::List(r.incumbent_z.clone()),
            Value::F64(r.trust_radius),
            s(&r.seed_policy),
            i32v(u32::try_from(r.candidates.len()).unwrap_or(u32::MAX)),
            Value::Bool(r.feedback.is_some()),
            opt_s(winner),
        ]);
        for c in &r.candidates {
            let cand = &c.candidate;
            let render = c.render.as_ref();
            tables[2].rows.push(vec![
                s(&sid),
                s(&rid),
                i32v(r.index),
                s(cand.candidate_id),
                i32v(cand.index),
                s(&cand.role),
                Value::I64(i64::from(cand.seed)),
                s(seed_group(cand)),
                Value::List(cand.z.clone()),
                Value::Bool(winner == Some(cand.candidate_id)),
                opt_s(render.map(|x| &x.artifact_hash)),
                render.map(|x| i32v(x.width)).unwrap_or(Value::Null),
                render.map(|x| i32v(x.height)).unwrap_or(Value::Null),
                opt_s(render.map(|x| &x.device)),
                render
                    .map(|x| Value::F64(x.timings.iter().map(|t| t.1).sum()))
                    .unwrap_or(Value::Null),
                s(&cand.generation_json),
            ]);
        }
        if let Some(f) = &r.feedback {
            let fb = &f.feedback;
            tables[3].rows.push(vec![
                s(&sid),
                s(&rid),
                i32v(r.index),
                s(f.event_id),
                Value::Ts(f.submitted_at_us),
                s(&fb.feedback_type),
                opt_s(fb.critique_text.as_ref()),
                json(&fb.critique_tags),
                json(&fb.dimension_ratings),
                json(&fb.dimension_priorities),
                json(&fb.negative_pins),
                s(&fb.raw_json),
                s(&fb.normalized_json),
            ]);
        }
        if let Some(u) = &r.update {
            let up = &u.update;
            tables[4].rows.push(vec![
                s(&sid),
                s(&rid),
                i32v(r.index),
                Value::Ts(u.updated_at_us),
                opt_s(up.winner_candidate_id),
                Value::List(up.next_z.clone()),
                Value::F64(l2(&up.next_z, &r.incumbent_z)),
                Value::Bool(up.converged),
                up.rounds_to_convergence.map(i32v).unwrap_or(Value::Null),
                s(&up.update_summary_json),
                s(&up.convergence_json),
            ]);
        }
    }
}

/// Build the five tables for every session, or for one.
pub fn build_tables(p: &Projections, session: Option<Uuid>) -> Vec<Table> {
    let mut tables = schemas();
    match session {
        Some(id) => {
            if let Some(d) = p.sessions.get(&id) {
                add_session(&mut tables, d);
            }
        }
        None => {
            for d in p.sessions.values() {
                add_session(&mut tables, d);
            }
        }
    }
    tables
}

/// The candidate's seed group as the reference names it (`candidate:2`, `shared`,
/// `carried_forward`, ...). It is recorded in the candidate's generation settings; the event's
/// numeric field predates it and is always 0.
fn seed_group(candidate: &crate::store::events::Candidate) -> String {
    serde_json::from_str::<serde_json::Value>(&candidate.generation_json)
        .ok()
        .and_then(|params| match params.get("seed_group") {
            Some(serde_json::Value::String(group)) => Some(group.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| candidate.seed_group.to_string())
}
