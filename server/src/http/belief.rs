//! "What the model believes", for `preference` sessions: the posterior estimate of the ideal
//! point on the basis' labelled axes with its uncertainty, the image the model recommends, who
//! drives the next round, and how the belief moved round by round. Read from the update
//! summaries in the log (the numbers the model computed when each round's feedback arrived),
//! so the page at round r shows the belief as it was at r.

use serde_json::{json, Value};

use crate::services::history;
use crate::steering::basis::BasisSummary;
use crate::steering::preference::posterior::prior_sd;
use crate::store::projections::session::SessionDetail;

fn labels(d: &SessionDetail, dimension: usize) -> (String, Vec<String>) {
    let summary = d
        .basis
        .as_ref()
        .and_then(|b| serde_json::from_str::<BasisSummary>(&b.summary_json).ok());
    match summary {
        Some(s) if s.labels.len() == dimension => (s.kind.as_str().to_string(), s.labels),
        _ => (
            "sinusoidal".to_string(),
            (1..=dimension).map(|k| format!("axis {k}")).collect(),
        ),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// The belief of a `preference` session (`null` for `classic` sessions).
pub fn belief_json(d: &SessionDetail) -> Value {
    let Ok(config) = history::config_of(d) else {
        return Value::Null;
    };
    if !config.is_preference() {
        return Value::Null;
    }
    let dimension = config.steering_dimension as usize;
    let (basis_kind, labels) = labels(d, dimension);
    let summaries: Vec<(u32, Value)> = d
        .rounds
        .iter()
        .filter_map(|r| {
            let u = r.update.as_ref()?;
            let v: Value = serde_json::from_str(&u.update.update_summary_json).ok()?;
            (v.get("method").and_then(Value::as_str) == Some("ideal_point_laplace"))
                .then_some((r.index, v))
        })
        .collect();
    let prior = prior_sd(config.prior_width, dimension);
    let (mean, sd) = match summaries.last() {
        Some((_, s)) => (
            floats(&s["posterior"]["mean"]),
            floats(&s["posterior"]["sd"]),
        ),
        None => (vec![0.0; dimension], vec![prior; dimension]),
    };
    let axes: Vec<Value> = labels
        .iter()
        .enumerate()
        .map(|(k, label)| {
            json!({
                "label": label,
                "mean": mean.get(k).copied().unwrap_or(0.0),
                "sd": sd.get(k).copied().unwrap_or(prior),
            })
        })
        .collect();
    let latest = summaries
        .last()
        .map(|(_, s)| s.clone())
        .unwrap_or(Value::Null);
    json!({
        "strategy": "preference",
        "basis": basis_kind,
        "axes": axes,
        "prior_sd": prior,
        "rounds_used": latest.get("rounds_used").cloned().unwrap_or(json!(0)),
        "recommended_candidate_id": latest.get("incumbent_candidate_id").cloned().unwrap_or(Value::Null),
        "recommended_z": latest.get("recommended_z").cloned().unwrap_or(Value::Null),
        "driver": latest.get("driver").cloned().unwrap_or(json!("model")),
        "trust_radius": latest.get("trust_radius").cloned().unwrap_or(json!(config.trust_radius)),
        "beta_weights": latest["posterior"].get("beta_weights").cloned().unwrap_or(Value::Null),
        "seed_policy": config.seed_policy.as_str(),
        "seed_renewals": d.seed_renewals.len(),
        "history": summaries.iter().map(|(round, s)| json!({
            "round": round,
            "mean": s["posterior"]["mean"],
            "sd": s["posterior"]["sd"],
        })).collect::<Vec<_>>(),
    })
}
