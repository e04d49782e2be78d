//! Style calibration (reference §6.3): 15 `spherical_cover` probes rendered in one job as round 0;
//! choosing some sets z to their mean. Allowed only before the first steering round, once.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use super::history::{self, require_session};
use super::jobs::{append_to, Completion, Failure, JobKind, NewJob};
use super::{ServiceError, ServiceResult, Services};
use crate::runner::{RenderKind, RunError, Snapshot, SnapshotCandidate};
use crate::steering::composition::{calibration_mean, compose_calibration_round, RoundCandidate};
use crate::steering::kinds::SeedPolicy;
use crate::steering::seeds::shared_seed;
use crate::store::events::{
    CalibrationGenerated, CalibrationSubmitted, Candidate, CandidateRendered,
};
use crate::store::projections::jobs::JobView;
use crate::store::{AppendRequest, Event, ExpectedVersion, Id, NewEvent, StreamAppend, StreamId};

impl Services {
    /// Queues the calibration probes of `session_id`.
    pub async fn queue_calibration(self: &Arc<Self>, session_id: Uuid) -> ServiceResult<Uuid> {
        let detail = require_session(&self.store, session_id)?;
        if detail.rounds.iter().any(|r| r.calibration) {
            return Err(ServiceError::conflict(
                "this session already has its calibration probes",
            ));
        }
        if history::latest_round(&detail).is_some() || detail.lineage.parent.is_some() {
            return Err(ServiceError::conflict(
                "calibration is only possible before the first round",
            ));
        }
        let config = history::config_of(&detail)?;
        let current_z = history::current_z(&detail, &config);
        let composed = compose_calibration_round(&session_id.to_string(), &config, &current_z, 0)
            .map_err(|e| ServiceError::conflict(e.to_string()))?;
        let (width, height) = config.image_dimensions()?;
        self.warm_basis(detail.basis.as_ref()).await?;
        // Under the shared seed policy the probes share one seed too, so choosing among them is
        // a choice among directions, not among seeds.
        let shared = (config.seed_policy == SeedPolicy::Shared)
            .then(|| u64::from(shared_seed(&session_id.to_string(), 0)));
        let mut settings = self.runner.base_settings(RenderKind::Calibration);
        settings.basis = super::rounds::basis_ref_of(detail.basis.as_ref())?;
        settings.prompt = detail.prompt.clone();
        settings.negative_prompt = detail.negative_prompt.clone();
        settings.scheduler = super::rounds::ROUND_SCHEDULER.into();
        settings.steps = config.num_inference_steps as usize;
        settings.guidance_scale = config.guidance_scale;
        settings.width = width as usize;
        settings.height = height as usize;
        settings.steering_mode = Some(config.steering_mode.as_str().to_string());
        settings.anchor_strength = config.anchor_strength;
        settings.candidates = composed
            .candidates
            .iter()
            .map(|c| SnapshotCandidate {
                candidate_id: Some(Uuid::now_v7()),
                seed: shared.unwrap_or(c.seed),
                z: Some(c.z.clone()),
                init_latents: None,
            })
            .collect();
        settings
            .context
            .insert("session_id".into(), json!(session_id));
        settings
            .context
            .insert("round_id".into(), json!(Uuid::now_v7()));
        settings.context.insert("round_index".into(), json!(0));
        let snapshot = Snapshot::seal(settings);
        self.check_snapshot(&snapshot)?;
        self.enqueue(
            NewJob::for_snapshot(
                Uuid::now_v7(),
                JobKind::StyleCalibration,
                Some(session_id),
                &snapshot,
            ),
            Vec::new(),
        )
        .await
    }

    pub(crate) async fn execute_calibration(
        self: &Arc<Self>,
        job: &JobView,
        cancel: &Arc<AtomicBool>,
    ) -> Result<Completion, Failure> {
        let snapshot = Snapshot::from_stored(&job.settings_json, &job.settings_hash)
            .map_err(|e| Failure::new(e.to_string()))?;
        let ctx = &snapshot.settings().context;
        let id = |k: &str| {
            ctx.get(k)
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse::<Uuid>().ok())
        };
        let (Some(session_id), Some(round_id)) = (id("session_id"), id("round_id")) else {
            return Err(Failure::new("calibration job without session or round id"));
        };
        let detail =
            require_session(&self.store, session_id).map_err(|e| Failure::new(e.message))?;
        let config = history::config_of(&detail).map_err(|e| Failure::new(e.message))?;
        let current_z = history::current_z(&detail, &config);
        let composed = compose_calibration_round(&session_id.to_string(), &config, &current_z, 0)
            .map_err(|e| Failure::new(e.to_string()))?;
        let output = self
            .render_job(job.job_id, snapshot.clone(), cancel)
            .await
            .map_err(|e| Failure {
                cancelled: matches!(e, RunError::Cancelled { .. }),
                reason: e.to_string(),
                extra: Vec::new(),
            })?;
        let (ids, seeds): (Vec<Uuid>, Vec<u64>) = snapshot
            .settings()
            .candidates
            .iter()
            .filter_map(|c| Some((c.candidate_id?, c.seed)))
            .unzip();
        let candidates: Vec<Candidate> = composed
            .candidates
            .iter()
            .zip(ids.iter().zip(&seeds))
            .map(|(c, (id, seed))| {
                let mut params = c.generation_params.clone();
                if let Some(s) = c.predicted_score {
                    params.insert("predicted_score".into(), json!(s));
                }
                if let Some(u) = c.predicted_uncertainty {
                    params.insert("predicted_uncertainty".into(), json!(u));
                }
                Candidate {
                    candidate_id: Id(*id),
                    index: c.candidate_index as u32,
                    z: c.z.clone(),
                    role: c.role.clone(),
                    // The seed it was rendered with (the shared seed under that policy).
                    seed: *seed as u32,
                    seed_group: 0,
                    generation_json: serde_json::Value::Object(params).to_string(),
                }
            })
            .collect();
        let timings = output.event_timings();
        let mut events = vec![Event::CalibrationGenerated(CalibrationGenerated {
            round_id: Id(round_id),
            candidates,
        })];
        for (id, image) in ids.iter().zip(&output.images) {
            events.push(Event::CandidateRendered(CandidateRendered {
                round_id: Id(round_id),
                candidate_id: Id(*id),
                artifact_hash: image.artifact_hash.clone(),
                width: image.width,
                height: image.height,
                timings: timings.clone(),
                device: output.device.clone(),
            }));
        }
        Ok(Completion {
            result: json!({"session_id": session_id, "round_id": round_id, "candidate_ids": ids}),
            extra: vec![append_to(StreamId::Session(session_id), events)],
        })
    }

    /// Sets z to the mean of the chosen probes.
    pub async fn submit_calibration(
        self: &Arc<Self>,
        session_id: Uuid,
        selected_ids: Vec<String>,
    ) -> ServiceResult<Vec<f64>> {
        let detail = require_session(&self.store, session_id)?;
        let round = detail
            .rounds
            .iter()
            .rev()
            .find(|r| r.calibration)
            .ok_or_else(|| {
                ServiceError::conflict(
                    "this session has no calibration probes; generate them first",
                )
            })?;
        if !round.selected_candidate_ids.is_empty() {
            return Err(ServiceError::conflict("calibration was already submitted"));
        }
        if history::latest_round(&detail).is_some() {
            return Err(ServiceError::conflict(
                "calibration can no longer be submitted once steering rounds exist",
            ));
        }
        let probes: Vec<RoundCandidate> = round
            .candidates
            .iter()
            .map(|c| history::round_candidate(&c.candidate, None))
            .collect();
        let z = calibration_mean(&probes, &selected_ids)
            .map_err(|e| ServiceError::invalid(e.field(), e.to_string()))?;
        let selected: Vec<Id> = selected_ids
            .iter()
            .filter_map(|s| s.parse().ok().map(Id))
            .collect();
        self.store
            .append_async(AppendRequest {
                streams: vec![StreamAppend {
                    stream: StreamId::Session(session_id),
                    expected: ExpectedVersion::Exact(detail.version),
                    events: vec![NewEvent::new(Event::CalibrationSubmitted(
                        CalibrationSubmitted {
                            round_id: Id(round.round_id),
                            selected_candidate_ids: selected,
                            resulting_z: z.clone(),
                        },
                    ))],
                }],
            })
            .await?;
        Ok(z)
    }
}
