//! What the Leptos pages need beyond the reference's shapes: the dashboard in one request
//! (sessions with their incumbent's thumbnail, experiments, the model notice) and the extras of
//! the session and time-travel projections (prompt dimensions, taste profile, convergence
//! report and the active job). All of it is computed from the same projections as the rest of
//! the API, so the page at round r shows the server's state at r, not a client-side guess.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::views::artifact_url;
use crate::services::history;
use crate::services::Services;
use crate::state::AppState;
use crate::steering::convergence::evaluate_convergence;
use crate::steering::dimensions::extract_prompt_dimensions;
use crate::steering::ordered_map::OrderedMap;
use crate::steering::taste_profile::{compute_taste_profile, TasteFeedback, TasteRound};
use crate::store::projections::session::SessionDetail;

/// Sessions shown on the dashboard, newest activity first.
pub const DASHBOARD_SESSIONS: usize = 50;

/// The page-data routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/dashboard", get(dashboard))
}

/// Artifact URL of the session's incumbent image; before any feedback, the newest round's first
/// rendered image, so a session is recognisable as soon as it has pictures.
fn incumbent_thumbnail(d: &SessionDetail) -> Option<String> {
    let rendered = |c: &crate::store::projections::session::CandidateView| {
        c.render.as_ref().map(|r| artifact_url(&r.artifact_hash))
    };
    let incumbent = d.incumbent_candidate_id.and_then(|incumbent| {
        d.rounds
            .iter()
            .rev()
            .flat_map(|r| r.candidates.iter())
            .find(|c| c.candidate.candidate_id.0 == incumbent)
            .and_then(rendered)
    });
    incumbent
        .or_else(|| d.inherited_incumbent_artifact.as_deref().map(artifact_url))
        .or_else(|| {
            d.rounds
                .iter()
                .rev()
                .find_map(|r| r.candidates.iter().find_map(rendered))
        })
}

fn config_value(d: &SessionDetail, key: &str) -> Value {
    serde_json::from_str::<Value>(&d.config_json)
        .ok()
        .and_then(|c| c.get(key).cloned())
        .unwrap_or(Value::Null)
}

async fn dashboard(State(state): State<AppState>) -> Json<Value> {
    let mut summaries = state.store.sessions(false);
    summaries.retain(|s| crate::services::principal::may_see(s.owner.as_deref()));
    summaries.sort_by_key(|s| std::cmp::Reverse(s.updated_at_us));
    let active = state
        .services
        .control
        .lock()
        .map(|c| c.by_session.clone())
        .unwrap_or_default();
    let sessions: Vec<Value> = summaries
        .iter()
        .take(DASHBOARD_SESSIONS)
        .filter_map(|s| {
            history::with_session(&state.store, s.session_id, |d| {
                Ok(json!({
                    "id": d.session_id,
                    "prompt": d.prompt,
                    "status": d.status.as_str(),
                    "current_round": history::effective_round(d),
                    "rounds": d.rounds.iter().filter(|r| !r.calibration).count(),
                    "converged": d.converged,
                    "feedback_mode": config_value(d, "feedback_mode"),
                    "thumbnail_url": incumbent_thumbnail(d),
                    "active_job_id": active.get(&d.session_id),
                    "parent": d.lineage.parent.as_ref().map(|p| json!({"session_id": p.session_id, "round": p.round})),
                    "updated_at": history::iso(d.updated_at_us),
                }))
            })
            .ok()
        })
        .collect();
    let mut experiments: Vec<(i64, Value)> = state.store.with_projections(|p| {
        p.experiments
            .values()
            .map(|e| {
                let config: Value = serde_json::from_str(&e.config_json).unwrap_or(Value::Null);
                (
                    e.created_at_us,
                    json!({
                        "id": e.experiment_id,
                        "name": e.name,
                        "description": e.description,
                        "sampler": config.get("sampler"),
                        "updater": config.get("updater"),
                        "feedback_mode": config.get("feedback_mode"),
                        "session_count": e.session_ids.len(),
                        "created_at": history::iso(e.created_at_us),
                    }),
                )
            })
            .collect()
    });
    experiments.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    let model = state.services.runner.model();
    Json(json!({
        "sessions": sessions,
        "session_total": summaries.len(),
        "experiments": experiments.into_iter().map(|(_, e)| e).collect::<Vec<_>>(),
        "model": {
            "name": model.name,
            "device": state.runtime.device.kind.to_string(),
            "demo": state.services.model_notice().is_some(),
            "notice": state.services.model_notice(),
        },
    }))
}

fn taste_rounds(d: &SessionDetail) -> Vec<TasteRound> {
    d.rounds
        .iter()
        .map(|r| TasteRound {
            round_index: r.index,
            events: r
                .feedback
                .iter()
                .map(|f| {
                    let fb = &f.feedback;
                    let dims = |list: &[crate::store::events::CandidateDimensions]| {
                        OrderedMap(
                            list.iter()
                                .map(|c| {
                                    (
                                        c.candidate_id.0.to_string(),
                                        OrderedMap(
                                            c.values
                                                .iter()
                                                .map(|v| (v.dimension.clone(), i64::from(v.value)))
                                                .collect(),
                                        ),
                                    )
                                })
                                .collect(),
                        )
                    };
                    TasteFeedback {
                        dimension_ratings: dims(&fb.dimension_ratings),
                        dimension_priorities: dims(&fb.dimension_priorities),
                        negative_pins: OrderedMap(
                            fb.negative_pins
                                .iter()
                                .map(|p| (p.candidate_id.0.to_string(), p.tags.clone()))
                                .collect(),
                        ),
                    }
                })
                .collect(),
        })
        .collect()
}

/// Adds `dimensions`, `taste_profile`, `convergence` and `active_job` to a session projection.
pub fn add_session_extras(body: &mut Value, d: &SessionDetail, services: &Services) {
    body["dimensions"] = json!(extract_prompt_dimensions(&d.prompt));
    let taste = compute_taste_profile(&taste_rounds(d));
    // Lists, not objects: the order (by signal, by count) is the point and JSON objects lose it.
    body["taste_profile"] = json!({
        "dimensions": taste.dimensions.iter().map(|(name, p)| {
            let mut entry = json!(p);
            entry["name"] = json!(name);
            entry
        }).collect::<Vec<_>>(),
        "negative_pins": taste.negative_pins.iter().map(|(term, count)| json!({"term": term, "count": count})).collect::<Vec<_>>(),
        "confidence": taste.confidence,
        "rounds_used": taste.rounds_used,
    });
    body["convergence"] = match history::config_of(d) {
        Ok(config) => {
            let z = history::current_z(d, &config);
            json!(evaluate_convergence(
                &config,
                &z,
                &history::round_records(d)
            ))
        }
        Err(_) => Value::Null,
    };
    body["belief"] = super::belief::belief_json(d);
    let active: Option<Uuid> = services.active_job(d.session_id);
    body["active_job"] =
        active
            .and_then(|job| services.job_record(job).ok())
            .map_or(Value::Null, |mut record| {
                // The sealed settings are for audits; the page needs the progress fields only.
                record.settings = Value::Null;
                json!(record)
            });
}
