//! Generating a steering round: compose it from the session's history (sampler, widening,
//! stagnation escape, seeds), record the proposal and queue one render job with the sealed
//! settings snapshot (all in one atomic append, checked against the session's version so two
//! concurrent requests cannot both succeed), then render through the runner and record each
//! image. The carried-forward incumbent is not rendered again: it keeps its image.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use engine::request::{Phase, Progress};
use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::history;
use super::jobs::{append_to, Completion, Failure, JobKind, NewJob};
use super::progress::Tick;
use super::steering_inputs::{steering_inputs, SteeringInputs};
use super::{ServiceError, ServiceResult, Services};
use crate::runner::BasisRef;
use crate::runner::{RenderKind, RunError, RunOutput, Snapshot, SnapshotCandidate};
use crate::steering::basis::BasisRecipe;
use crate::steering::composition::ComposedCandidate;
use crate::steering::step::next_round;
use crate::store::events::{
    Candidate, CandidateRendered, CandidatesProposed, RoundFailed, RoundReady, RoundRequested,
};
use crate::store::projections::jobs::JobView;
use crate::store::projections::session::{BasisView, SessionDetail, SessionStatus};
use crate::store::{Event, ExpectedVersion, Id, NewEvent, StreamAppend, StreamId};

/// The scheduler steering rounds use: DPM-Solver++ 2M gives clean images at the reference's
/// default of 15 steps (PNDM, diffusers' SD-1.5 default, needs more).
pub const ROUND_SCHEDULER: &str = "dpmpp-2m";

/// A queued round.
#[derive(Debug, Clone, Serialize)]
pub struct QueuedRound {
    pub job_id: Uuid,
    pub round_id: Uuid,
    pub round_index: u32,
}

impl Services {
    /// Composes the next round of `session_id` and queues its render.
    pub async fn queue_round(self: &Arc<Self>, session_id: Uuid) -> ServiceResult<QueuedRound> {
        let inputs = steering_inputs(&self.store, session_id)?;
        self.warm_basis(inputs.basis.as_ref()).await?;
        let (snapshot, extra, composed_index, round_id, job_id) =
            history::with_session(&self.store, session_id, |detail| {
                self.prepare_round(detail, session_id, &inputs)
            })?;
        self.remember_round(round_id, session_id);
        self.enqueue(
            NewJob::for_snapshot(job_id, JobKind::GenerateRound, Some(session_id), &snapshot),
            extra,
        )
        .await?;
        Ok(QueuedRound {
            job_id,
            round_id,
            round_index: composed_index,
        })
    }

    /// Computes the session's basis on a blocking thread unless the runner has it cached, so the
    /// check under the projection lock only reads the cache (after a restart the first round
    /// re-encodes the recipe's prompts).
    pub(crate) async fn warm_basis(
        self: &Arc<Self>,
        basis: Option<&BasisView>,
    ) -> ServiceResult<()> {
        let Some(basis) = basis_ref_of(basis)? else {
            return Ok(());
        };
        let runner = Arc::clone(&self.runner);
        tokio::task::spawn_blocking(move || runner.compute_basis(&basis.recipe))
            .await
            .map_err(|e| ServiceError::internal(format!("the basis task stopped: {e}")))?
            .map(|_| ())
            .map_err(|e| ServiceError::internal(format!("cannot compute the session's basis: {e}")))
    }

    /// Composes the next round from the session's steering inputs (read from the projection).
    #[allow(clippy::type_complexity)]
    fn prepare_round(
        &self,
        detail: &SessionDetail,
        session_id: Uuid,
        inputs: &SteeringInputs,
    ) -> ServiceResult<(Snapshot, Vec<StreamAppend>, u32, Uuid, Uuid)> {
        match detail.status {
            SessionStatus::AwaitingFeedback => {
                return Err(ServiceError::conflict(
                    "Session is awaiting feedback for its latest round; submit feedback before generating the next round",
                ))
            }
            SessionStatus::Generating | SessionStatus::Updating => {
                return Err(ServiceError::conflict(
                    "a round is already being generated for this session",
                ))
            }
            _ => {}
        }
        if detail.version != inputs.version {
            return Err(ServiceError::conflict(
                "the session changed while its next round was being composed; try again",
            ));
        }
        let config = &inputs.config;
        let composed =
            next_round(&inputs.history()).map_err(|e| ServiceError::conflict(e.to_string()))?;
        let (width, height) = config.image_dimensions()?;
        let round_id = Uuid::now_v7();
        let job_id = Uuid::now_v7();

        let mut settings = self.runner.base_settings(RenderKind::Round);
        settings.prompt = detail.prompt.clone();
        settings.negative_prompt = detail.negative_prompt.clone();
        settings.scheduler = ROUND_SCHEDULER.into();
        settings.steps = config.num_inference_steps as usize;
        settings.guidance_scale = config.guidance_scale;
        settings.width = width as usize;
        settings.height = height as usize;
        settings.steering_mode = Some(config.steering_mode.as_str().to_string());
        settings.anchor_strength = config.anchor_strength;
        settings.basis = basis_ref(inputs)?;

        let mut stored = Vec::with_capacity(composed.candidates.len());
        for c in &composed.candidates {
            let candidate_id = Uuid::now_v7();
            stored.push(stored_candidate(
                candidate_id,
                c,
                &settings.model.name,
                config,
            ));
            if !c.carried_forward {
                settings.candidates.push(SnapshotCandidate {
                    candidate_id: Some(candidate_id),
                    seed: c.seed,
                    z: (c.role != "baseline_prompt").then(|| c.z.clone()),
                    init_latents: None,
                });
            }
        }
        let context = &mut settings.context;
        context.insert("session_id".into(), json!(session_id));
        context.insert("round_id".into(), json!(round_id));
        context.insert("round_index".into(), json!(composed.round_index));
        context.insert("strategy".into(), json!(config.strategy.as_str()));
        context.insert("sampler".into(), json!(config.sampler.as_str()));
        context.insert("updater".into(), json!(config.updater.as_str()));
        context.insert("feedback_mode".into(), json!(config.feedback_mode.as_str()));
        context.insert(
            "steering_dimension".into(),
            json!(config.steering_dimension),
        );
        context.insert("server_version".into(), json!(env!("CARGO_PKG_VERSION")));
        let snapshot = Snapshot::seal(settings);
        self.check_snapshot(&snapshot)?;

        let events = vec![
            Event::RoundRequested(RoundRequested {
                round_id: Id(round_id),
                round_index: composed.round_index,
                job_id: Some(Id(job_id)),
            }),
            Event::CandidatesProposed(CandidatesProposed {
                round_id: Id(round_id),
                round_index: composed.round_index,
                incumbent_z: composed.incumbent_z.clone(),
                trust_radius: composed.trust_radius,
                seed_policy: composed.seed_policy.as_str().to_string(),
                candidates: stored,
            }),
        ];
        let extra = vec![StreamAppend {
            stream: StreamId::Session(session_id),
            expected: ExpectedVersion::Exact(detail.version),
            events: events.into_iter().map(NewEvent::new).collect(),
        }];
        Ok((snapshot, extra, composed.round_index, round_id, job_id))
    }

    /// Refuses a snapshot the engine would refuse, before anything is recorded.
    pub fn check_snapshot(&self, snapshot: &Snapshot) -> ServiceResult<()> {
        super::admission::admit(
            super::admission::Work::of(snapshot.settings()),
            self.runner.model().device,
            "steps",
        )?;
        self.runner.check(snapshot).map_err(|e| match e {
            RunError::Invalid { field, message } => {
                ServiceError::new(super::ErrorKind::Unprocessable, message).field(field)
            }
            other => ServiceError::new(super::ErrorKind::Unprocessable, other.to_string()),
        })
    }

    /// Runs a round job.
    pub(crate) async fn execute_round(
        self: &Arc<Self>,
        job: &JobView,
        cancel: &Arc<AtomicBool>,
    ) -> Result<Completion, Failure> {
        let snapshot = Snapshot::from_stored(&job.settings_json, &job.settings_hash)
            .map_err(|e| Failure::new(e.to_string()))?;
        let (session_id, round_id) = round_ids(&snapshot)
            .ok_or_else(|| Failure::new("round job without session or round id"))?;
        let output = match self.render_job(job.job_id, snapshot.clone(), cancel).await {
            Ok(o) => o,
            Err(e) => {
                let cancelled = matches!(e, RunError::Cancelled { .. });
                let reason = e.to_string();
                return Err(Failure {
                    extra: self.round_failed_events(job, &reason),
                    reason,
                    cancelled,
                });
            }
        };
        self.progress.publish(
            job.job_id,
            Tick {
                state: "running",
                message: "Saving the round".into(),
                progress: 96,
                ..Tick::default()
            },
        );
        let mut events = Vec::new();
        let timings = output.event_timings();
        for (candidate, image) in snapshot.settings().candidates.iter().zip(&output.images) {
            let Some(candidate_id) = candidate.candidate_id else {
                continue;
            };
            events.push(Event::CandidateRendered(CandidateRendered {
                round_id: Id(round_id),
                candidate_id: Id(candidate_id),
                artifact_hash: image.artifact_hash.clone(),
                width: image.width,
                height: image.height,
                timings: timings.clone(),
                device: output.device.clone(),
            }));
        }
        // The carried-forward incumbent keeps the image of the round it won.
        let carried: Vec<Event> = self.store.with_projections(|p| {
            let mut carried = Vec::new();
            let Some(detail) = p.sessions.get(&session_id) else {
                return carried;
            };
            if let Some(round) = detail.rounds.iter().rev().find(|r| r.round_id == round_id) {
                for c in &round.candidates {
                    let params = history::generation_params(&c.candidate);
                    if params.get("carried_forward") != Some(&Value::Bool(true)) {
                        continue;
                    }
                    if let Some(hash) = params.get("image_ref").and_then(Value::as_str) {
                        carried.push(Event::CandidateRendered(CandidateRendered {
                            round_id: Id(round_id),
                            candidate_id: c.candidate.candidate_id,
                            artifact_hash: hash.to_string(),
                            width: snapshot.settings().width as u32,
                            height: snapshot.settings().height as u32,
                            timings: Vec::new(),
                            device: "carried_forward".into(),
                        }));
                    }
                }
            }
            carried
        });
        events.extend(carried);
        events.push(Event::RoundReady(RoundReady {
            round_id: Id(round_id),
        }));
        let result = json!({
            "session_id": session_id,
            "round_id": round_id,
            "round_index": snapshot.settings().context.get("round_index"),
            "image_urls": output.images.iter().map(|i| format!("/api/artifacts/{}", i.artifact_hash)).collect::<Vec<_>>(),
            "settings_hash": snapshot.hash(),
            "timings": output.timings.iter().map(|(n, ms)| json!({"name": n, "ms": ms})).collect::<Vec<_>>(),
        });
        Ok(Completion {
            result,
            extra: vec![append_to(StreamId::Session(session_id), events)],
        })
    }

    /// `round.failed` for a round job that will not complete.
    pub(crate) fn round_failed_events(&self, job: &JobView, reason: &str) -> Vec<StreamAppend> {
        let Ok(snapshot) = Snapshot::from_stored(&job.settings_json, &job.settings_hash) else {
            return Vec::new();
        };
        match round_ids(&snapshot) {
            Some((session_id, round_id)) => vec![append_to(
                StreamId::Session(session_id),
                vec![Event::RoundFailed(RoundFailed {
                    round_id: Id(round_id),
                    reason: reason.to_string(),
                })],
            )],
            None => Vec::new(),
        }
    }

    /// Renders a snapshot through the runner on a blocking thread, publishing progress.
    pub(crate) async fn render_job(
        self: &Arc<Self>,
        job_id: Uuid,
        snapshot: Snapshot,
        cancel: &Arc<AtomicBool>,
    ) -> Result<RunOutput, RunError> {
        let services = Arc::clone(self);
        let cancel = Arc::clone(cancel);
        let joined = tokio::task::spawn_blocking(move || {
            let mut last_preview: Option<Instant> = None;
            let mut observer = |p: Progress<'_>| {
                let tick = progress_tick(&p, &mut last_preview);
                services.progress.publish(job_id, tick);
            };
            services
                .runner
                .run(job_id, &snapshot, &mut observer, &cancel)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) => Err(RunError::Invalid {
                field: "render".into(),
                message: format!("the render task stopped: {e}"),
            }),
        }
    }

    /// Remembers which session a round belongs to (feedback is posted by round id).
    pub(crate) fn remember_round(&self, round_id: Uuid, session_id: Uuid) {
        if let Ok(mut map) = self.round_index.lock() {
            map.insert(round_id, session_id);
        }
    }

    /// The session a round belongs to.
    pub fn session_of_round(&self, round_id: Uuid) -> Option<Uuid> {
        if let Some(s) = self.round_index.lock().ok()?.get(&round_id).copied() {
            return Some(s);
        }
        let found = self.store.with_projections(|p| {
            p.sessions
                .values()
                .find(|s| s.rounds.iter().any(|r| r.round_id == round_id))
                .map(|s| s.session_id)
        })?;
        self.remember_round(round_id, found);
        Some(found)
    }
}

fn round_ids(snapshot: &Snapshot) -> Option<(Uuid, Uuid)> {
    let ctx = &snapshot.settings().context;
    let get = |k: &str| ctx.get(k)?.as_str()?.parse::<Uuid>().ok();
    Some((get("session_id")?, get("round_id")?))
}

/// Milestone text and percentage for an engine progress report (the reference's scale: 14–52
/// preparing, then rendering up to 90, decoding, saving at 96).
fn progress_tick(p: &Progress<'_>, last_preview: &mut Option<Instant>) -> Tick {
    let (progress, message) = match p.phase {
        Phase::EncodingPrompt => (14, "Encoding the prompt".to_string()),
        Phase::PreparingLatents => (20, "Preparing the starting noise".to_string()),
        Phase::Denoising => (
            20 + (70 * p.step / p.total_steps.max(1)) as u32,
            format!(
                "Rendering {} image{}: step {} of {}",
                p.total_candidates,
                if p.total_candidates == 1 { "" } else { "s" },
                p.step,
                p.total_steps
            ),
        ),
        Phase::Decoding => (
            90 + (6 * p.candidate / p.total_candidates.max(1)) as u32,
            format!("Decoding image {} of {}", p.candidate, p.total_candidates),
        ),
    };
    // Previews at most 4 times a second: they are for eyes, not for the record.
    let due =
        last_preview.is_none_or(|t| t.elapsed().as_millis() >= 250) || p.step == p.total_steps;
    let previews = if p.phase == Phase::Denoising && due && !p.previews.is_empty() {
        *last_preview = Some(Instant::now());
        p.previews
            .iter()
            .filter_map(|img| img.to_png(&[]).ok())
            .map(|png| {
                format!(
                    "data:image/png;base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(png)
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    Tick {
        state: "running",
        message,
        progress,
        phase: Some(p.phase.label().to_string()),
        step: p.step,
        total_steps: p.total_steps,
        candidate: p.candidate,
        total_candidates: p.total_candidates,
        previews,
        ..Tick::default()
    }
}

/// The basis a round renders with: the session's recorded recipe (semantic and random bases);
/// `None` for the sinusoidal basis, which the engine's own operator computes from z.
pub(crate) fn basis_ref(inputs: &SteeringInputs) -> ServiceResult<Option<BasisRef>> {
    basis_ref_of(inputs.basis.as_ref())
}

/// [`basis_ref`] of a recorded basis.
pub(crate) fn basis_ref_of(view: Option<&BasisView>) -> ServiceResult<Option<BasisRef>> {
    let Some(view) = view else {
        return Ok(None);
    };
    let recipe: BasisRecipe = serde_json::from_str(&view.recipe_json)
        .map_err(|e| ServiceError::internal(format!("stored basis recipe is unreadable: {e}")))?;
    Ok(Some(BasisRef {
        recipe,
        recipe_hash: view.recipe_hash.clone(),
    }))
}

/// A composed candidate as stored in `candidates.proposed`.
fn stored_candidate(
    candidate_id: Uuid,
    c: &ComposedCandidate,
    model: &str,
    config: &crate::steering::config::StrategyConfig,
) -> Candidate {
    let mut params: Map<String, Value> = c.generation_params.clone();
    params.insert("backend".into(), json!("burn"));
    params.insert("model_source".into(), json!(model));
    params.insert("guidance_scale".into(), json!(config.guidance_scale));
    params.insert(
        "num_inference_steps".into(),
        json!(config.num_inference_steps),
    );
    params.insert("anchor_strength".into(), json!(config.anchor_strength));
    params.insert("steering_mode".into(), json!(config.steering_mode.as_str()));
    if let Some(score) = c.predicted_score {
        params.insert("predicted_score".into(), json!(score));
    }
    if let Some(u) = c.predicted_uncertainty {
        params.insert("predicted_uncertainty".into(), json!(u));
    }
    if let Some(image) = &c.image_ref {
        params.insert("image_ref".into(), json!(image));
    }
    Candidate {
        candidate_id: Id(candidate_id),
        index: c.candidate_index as u32,
        z: c.z.clone(),
        role: c.role.clone(),
        seed: c.seed as u32,
        seed_group: 0,
        generation_json: Value::Object(params).to_string(),
    }
}
