//! JSON shapes of the reference's data model (§2.6: `Session`, `Round`, `Candidate`,
//! `FeedbackEvent`, `Experiment`, `ReplayExport` v1.0) computed from the projections, plus our
//! extra fields (lineage, real latency, artifact hashes, job ids).

use serde_json::{json, Map, Value};

use crate::services::history::{self, iso};
use crate::services::Services;
use crate::store::projections::session::{CandidateView, RoundStatus, RoundView, SessionDetail};
use crate::store::projections::ExperimentView;

/// URL of an artifact.
pub fn artifact_url(hash: &str) -> String {
    format!("/api/artifacts/{hash}")
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The reference's `Experiment`.
pub fn experiment_json(e: &ExperimentView) -> Value {
    json!({
        "id": e.experiment_id,
        "name": e.name,
        "description": e.description,
        "status": "active",
        "created_at": iso(e.created_at_us),
        "updated_at": iso(e.created_at_us),
        "config": parse_json(&e.config_json),
        "session_ids": e.session_ids,
    })
}

/// The reference's `Session` plus lineage and the active job.
pub fn session_json(d: &SessionDetail, services: &Services) -> Value {
    let active_job = services.active_job(d.session_id);
    let config = history::config_of(d).ok();
    let current_z = config
        .as_ref()
        .map(|c| history::current_z(d, c))
        .unwrap_or_else(|| d.current_z.clone());
    let latest = history::latest_round(d);
    json!({
        "id": d.session_id,
        "experiment_id": d.experiment_id.map_or_else(|| json!("ad_hoc"), |e| json!(e)),
        "prompt": d.prompt,
        "negative_prompt": d.negative_prompt,
        "model_name": d.model_ref,
        "status": d.status.as_str(),
        "basis_type": config.as_ref().map_or("sinusoidal", |c| c.basis.as_str()),
        "current_round": history::effective_round(d),
        "current_z": current_z,
        "converged": d.converged,
        "rounds_to_convergence": d.rounds_to_convergence,
        "incumbent_candidate_id": d.incumbent_candidate_id,
        "final_selected_candidate": Value::Null,
        "config": parse_json(&d.config_json),
        "created_at": iso(d.created_at_us),
        "updated_at": iso(d.updated_at_us),
        "latest_round_id": latest.map(|r| r.round_id),
        "awaiting_feedback": history::awaiting_feedback(d),
        "active_job_id": active_job,
        "has_calibration": d.rounds.iter().any(|r| r.calibration),
        "lineage": {
            "parent": d.lineage.parent.as_ref().map(|p| json!({"session_id": p.session_id, "round": p.round})),
            "children": d.lineage.children.iter().map(|c| json!({"session_id": c.session_id, "round": c.round})).collect::<Vec<_>>(),
        },
        "trajectory_length": d.trajectory.len(),
        "version": d.version,
    })
}

/// The reference's `Candidate`.
pub fn candidate_json(c: &CandidateView, round_id: &uuid::Uuid) -> Value {
    let mut params: Map<String, Value> = history::generation_params(&c.candidate);
    let predicted_score = params.remove("predicted_score").unwrap_or(Value::Null);
    let predicted_uncertainty = params
        .remove("predicted_uncertainty")
        .unwrap_or(Value::Null);
    params.remove("image_ref");
    let hash = c.render.as_ref().map(|r| r.artifact_hash.clone());
    json!({
        "id": c.candidate.candidate_id,
        "round_id": round_id,
        "candidate_index": c.candidate.index,
        "z": c.candidate.z,
        "sampler_role": c.candidate.role,
        "predicted_score": predicted_score,
        "predicted_uncertainty": predicted_uncertainty,
        "seed": c.candidate.seed,
        "generation_params": params,
        "image_path": hash.as_deref().map(artifact_url),
        "artifact_hash": hash,
        "render_status": if c.render.is_some() { "succeeded" } else { "pending" },
    })
}

fn tags_map(list: &[crate::store::events::CandidateTags]) -> Value {
    Value::Object(
        list.iter()
            .map(|t| (t.candidate_id.to_string(), json!(t.tags)))
            .collect(),
    )
}

fn dims_map(list: &[crate::store::events::CandidateDimensions]) -> Value {
    Value::Object(
        list.iter()
            .map(|d| {
                (
                    d.candidate_id.to_string(),
                    Value::Object(
                        d.values
                            .iter()
                            .map(|v| (v.dimension.clone(), json!(v.value)))
                            .collect(),
                    ),
                )
            })
            .collect(),
    )
}

/// The reference's `Round`.
pub fn round_json(r: &RoundView, session_id: &uuid::Uuid) -> Value {
    let feedback: Vec<Value> = r
        .feedback
        .iter()
        .map(|f| {
            let fb = &f.feedback;
            json!({
                "id": f.event_id,
                "round_id": r.round_id,
                "type": fb.feedback_type,
                "payload": parse_json(&fb.raw_json),
                "normalized_payload": parse_json(&fb.normalized_json),
                "critique_text": fb.critique_text,
                "critique_tags": tags_map(&fb.critique_tags),
                "dimension_ratings": dims_map(&fb.dimension_ratings),
                "dimension_priorities": dims_map(&fb.dimension_priorities),
                "negative_pins": tags_map(&fb.negative_pins),
                "created_at": iso(f.submitted_at_us),
            })
        })
        .collect();
    let render_status = match &r.status {
        RoundStatus::Requested => "pending",
        RoundStatus::Rendering => "rendering",
        RoundStatus::Failed(_) => "failed",
        _ => "succeeded",
    };
    json!({
        "id": r.round_id,
        "session_id": session_id,
        "round_index": r.index,
        "calibration": r.calibration,
        "incumbent_z": r.incumbent_z,
        "trust_radius": r.trust_radius,
        "seed_policy": r.seed_policy,
        "render_status": render_status,
        "status": r.status.as_str(),
        "failure_reason": match &r.status { RoundStatus::Failed(reason) => json!(reason), _ => Value::Null },
        "candidates": r.candidates.iter().map(|c| candidate_json(c, &r.round_id)).collect::<Vec<_>>(),
        "feedback_events": feedback,
        "update_summary": r.update.as_ref().map_or_else(|| json!({}), |u| parse_json(&u.update.update_summary_json)),
        "selected_candidate_ids": r.selected_candidate_ids,
        "latency_ms": r.ready_at_us.map(|t| (t - r.requested_at_us) as f64 / 1e3),
        "job_id": r.job_id,
        "created_at": iso(r.requested_at_us),
    })
}

/// `ReplayExport` v1.0 plus our fields.
pub fn replay_json(d: &SessionDetail, services: &Services) -> Value {
    let experiment = d.experiment_id.and_then(|e| {
        services
            .store
            .with_projections(|p| p.experiments.get(&e).map(experiment_json))
    });
    json!({
        "schema_version": "1.0",
        "app_version": crate::VERSION,
        "experiment": experiment,
        "session": session_json(d, services),
        "rounds": d.rounds.iter().map(|r| round_json(r, &d.session_id)).collect::<Vec<_>>(),
        "exported_at": iso(crate::store::util::now_us()),
        "trajectory": d.trajectory.iter().map(|t| json!({"round_index": t.round_index, "z": t.z, "winner_candidate_id": t.winner_candidate_id})).collect::<Vec<_>>(),
        "event_count": d.version,
    })
}

/// The reference's `RoundResponse` for the latest round of a session.
pub fn round_response(d: &SessionDetail, round_id: uuid::Uuid, services: &Services) -> Value {
    let round = d.rounds.iter().rev().find(|r| r.round_id == round_id);
    let candidates: Vec<Value> = round
        .map(|r| {
            r.candidates
                .iter()
                .map(|c| candidate_json(c, &r.round_id))
                .collect()
        })
        .unwrap_or_default();
    let urls: Vec<Value> = candidates
        .iter()
        .map(|c| c.get("image_path").cloned().unwrap_or(Value::Null))
        .collect();
    let session = session_json(d, services);
    json!({
        "round_id": round_id,
        "round_index": round.map(|r| r.index),
        "candidate_metadata": candidates,
        "image_urls": urls,
        "state_summary": {
            "session_id": d.session_id,
            "round_index": history::effective_round(d),
            "current_z": session["current_z"],
        },
    })
}
