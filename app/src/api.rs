//! JSON types shared by the server (which produces them) and the browser (which reads them).

use serde::{Deserialize, Serialize};

/// `GET /api/health`: what a person or a probe needs to know that the server is sound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct HealthReport {
    /// `ok` when the store is open and verified.
    pub status: String,
    /// The server's version.
    pub version: String,
    /// Absolute path of the data directory.
    pub data_dir: String,
    /// The event store.
    pub store: StoreHealth,
    /// The rendering engine.
    pub engine: EngineHealth,
}

/// Event-store part of [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct StoreHealth {
    /// `open` when the store serves reads and writes.
    pub status: String,
    /// Number of events in the log.
    pub event_count: u64,
    /// Store backend name and version.
    pub backend: String,
    /// The shared job queue (PostgreSQL only): jobs waiting and jobs a worker holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_queue: Option<QueueHealth>,
}

/// The shared job queue part of [`StoreHealth`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct QueueHealth {
    /// Jobs no worker holds yet (including ones whose worker's lease ran out).
    pub queued: u64,
    /// Jobs a worker holds under a lease.
    pub leased: u64,
}

/// Engine part of [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct EngineHealth {
    /// What was requested (`auto`, `cpu`, `cuda`).
    pub requested_device: String,
    /// What would run (`cpu` or `cuda`).
    pub device: String,
    /// Whether a CUDA device is usable by this binary.
    pub cuda_available: bool,
    /// Why CUDA is not usable, when it is not.
    pub cuda_reason: Option<String>,
    /// Engine crate version.
    pub engine_version: String,
    /// burn version.
    pub burn_version: String,
    /// The loaded model.
    pub model: ModelHealth,
}

/// The model the server renders with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ModelHealth {
    /// Folder name.
    pub name: String,
    /// Absolute folder path.
    pub dir: String,
    /// True when the built-in demo model is in use (it draws simple shapes and colours only).
    pub demo: bool,
    /// What a person should know about the model, shown in the UI when present.
    pub notice: Option<String>,
    /// dtype of the UNet and text encoder.
    pub unet_dtype: String,
    /// Native image side in pixels.
    pub default_size: u32,
}

/// A fork's origin or child: the other session and the round of the branch point.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LineageLink {
    pub session_id: String,
    pub round: u32,
}

/// `GET /api/dashboard`: everything the dashboard shows, in one request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Dashboard {
    /// Most recently active sessions first (at most 50).
    pub sessions: Vec<SessionCard>,
    /// Sessions in all.
    pub session_total: usize,
    /// Newest first.
    pub experiments: Vec<ExperimentCard>,
    /// The model the server renders with.
    pub model: ModelBadge,
}

/// One session on the dashboard.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionCard {
    pub id: String,
    pub prompt: String,
    pub status: String,
    pub current_round: u32,
    pub rounds: usize,
    pub converged: bool,
    pub feedback_mode: Option<String>,
    /// The incumbent's image, once there is one.
    pub thumbnail_url: Option<String>,
    pub active_job_id: Option<String>,
    pub parent: Option<LineageLink>,
    pub updated_at: String,
}

/// One experiment on the dashboard.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExperimentCard {
    pub name: String,
    pub description: String,
    pub sampler: Option<String>,
    pub updater: Option<String>,
    pub feedback_mode: Option<String>,
    pub session_count: usize,
}

/// The loaded model, for the demo notice.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelBadge {
    pub name: String,
    pub device: String,
    pub demo: bool,
    pub notice: Option<String>,
}

/// `GET /api/sessions/{id}` and `GET /api/sessions/{id}/rounds/{r}`: the session's projection
/// (now, or as of round r) with the extras the pages need.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionState {
    pub session: SessionInfo,
    pub rounds: Vec<RoundInfo>,
    pub trajectory: Vec<TrajectoryPoint>,
    pub event_count: u64,
    /// Set on time-travel reads.
    pub as_of: Option<AsOf>,
    /// Prompt dimensions rated in `scalar_rating` mode.
    pub dimensions: Vec<String>,
    pub taste_profile: Option<TasteProfile>,
    pub convergence: Option<Convergence>,
    /// The job in flight for this session (never set on time-travel reads).
    pub active_job: Option<JobInfo>,
    /// What the preference model believes (`None` for `classic` sessions).
    pub belief: Option<Belief>,
}

impl SessionState {
    /// The newest non-calibration round.
    pub fn latest_round(&self) -> Option<&RoundInfo> {
        self.rounds.iter().rev().find(|r| !r.calibration)
    }

    /// The calibration round (round 0), when generated.
    pub fn calibration_round(&self) -> Option<&RoundInfo> {
        self.rounds.iter().find(|r| r.calibration)
    }
}

/// The belief of a `preference` session: where the model thinks the image the person wants lies
/// along the basis' labelled axes, with its uncertainty (`http/belief.rs` on the server). Only
/// what the pages show is decoded.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Belief {
    /// One row per steering direction, labelled by the prompt modifier it points to.
    pub axes: Vec<BeliefAxis>,
    /// Rounds of feedback the model has used.
    #[serde(deserialize_with = "null_as_default")]
    pub rounds_used: u32,
    /// The shown image the model believes best (pinned as the next round's incumbent).
    pub recommended_candidate_id: Option<String>,
    /// `model`, or `es` when the model could not explain the recent choices and the next round
    /// explores around the latest pick.
    #[serde(deserialize_with = "null_as_default")]
    pub driver: String,
    /// How far (in z units) the next round may move from the incumbent.
    pub trust_radius: Option<f64>,
    /// The prior's sd per axis (the width of the band before any feedback).
    pub prior_sd: Option<f64>,
    /// `shared` when every new candidate of a round renders with one seed ("new seed" applies).
    #[serde(deserialize_with = "null_as_default")]
    pub seed_policy: String,
    /// How often the person asked for a new seed.
    #[serde(deserialize_with = "null_as_default")]
    pub seed_renewals: u32,
    /// The belief after each round with feedback, oldest first.
    pub history: Vec<BeliefPoint>,
}

impl Belief {
    /// Whether the evolution-strategy fallback drives the next round.
    pub fn es_driven(&self) -> bool {
        self.driver == "es"
    }

    /// Whether `candidate` is (or pins) the image the model recommends.
    pub fn recommends(&self, candidate: &CandidateInfo) -> bool {
        self.recommended_candidate_id.as_deref().is_some_and(|r| {
            candidate.id == r
                || candidate
                    .generation_params
                    .incumbent_candidate_id
                    .as_deref()
                    == Some(r)
        })
    }
}

/// One labelled axis of a [`Belief`]: the posterior mean and sd in z units.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BeliefAxis {
    pub label: String,
    pub mean: f64,
    pub sd: f64,
}

/// The belief after one round: mean and sd per axis (same order as [`Belief::axes`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BeliefPoint {
    pub round: u32,
    #[serde(deserialize_with = "null_as_default")]
    pub mean: Vec<f64>,
    #[serde(deserialize_with = "null_as_default")]
    pub sd: Vec<f64>,
}

/// `null` (which `#[serde(default)]` does not cover) decodes as the type's default.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Where a time-travel read stands.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AsOf {
    pub round: u32,
    pub point: String,
}

/// The reference's `Session` plus lineage and the active job.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionInfo {
    pub id: String,
    pub prompt: String,
    pub negative_prompt: String,
    pub status: String,
    pub current_round: u32,
    pub converged: bool,
    pub config: SessionConfig,
    pub has_calibration: bool,
    pub lineage: Lineage,
}

/// The strategy settings the pages show and act on (the browser deserializes only what it
/// shows: every field costs WASM size).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    pub sampler: String,
    pub updater: String,
    pub feedback_mode: String,
    pub candidate_count: u32,
}

/// Parent and children of a session.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Lineage {
    pub parent: Option<LineageLink>,
    pub children: Vec<LineageLink>,
}

/// The reference's `Round`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RoundInfo {
    pub id: String,
    pub round_index: u32,
    pub calibration: bool,
    pub status: String,
    pub failure_reason: Option<String>,
    pub candidates: Vec<CandidateInfo>,
    pub feedback_events: Vec<FeedbackInfo>,
    pub update_summary: RawJson,
    pub selected_candidate_ids: Vec<String>,
    pub job_id: Option<String>,
}

impl RoundInfo {
    /// Whether feedback was given for this round.
    pub fn has_feedback(&self) -> bool {
        !self.feedback_events.is_empty()
    }

    /// The winner the feedback named, if any.
    pub fn winner_id(&self) -> Option<String> {
        self.feedback_events
            .first()
            .and_then(|f| f.normalized_payload.winner_candidate_id.clone())
    }
}

/// The reference's `Candidate`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CandidateInfo {
    pub id: String,
    pub sampler_role: String,
    pub seed: u64,
    pub image_path: Option<String>,
    /// The model's expected score of this image and its sd (`preference` sessions).
    pub predicted_score: Option<f64>,
    pub predicted_uncertainty: Option<f64>,
    pub generation_params: CandidateParams,
}

/// The part of a candidate's generation parameters the pages read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CandidateParams {
    /// Set on a pinned incumbent: the earlier candidate whose image (z) it shows again.
    pub incumbent_candidate_id: Option<String>,
}

impl CandidateInfo {
    /// The carried-over incumbent.
    pub fn is_incumbent(&self) -> bool {
        self.sampler_role == "incumbent"
    }

    /// The z = 0 baseline (the unsteered prompt).
    pub fn is_baseline(&self) -> bool {
        self.sampler_role == "baseline_prompt"
    }
}

/// The reference's `FeedbackEvent`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedbackInfo {
    #[serde(rename = "type")]
    pub feedback_type: String,
    pub payload: RawJson,
    pub normalized_payload: NormalizedPayload,
    pub critique_text: Option<String>,
}

/// One point of the incumbent trajectory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TrajectoryPoint {
    pub round_index: u32,
    pub z: Vec<f64>,
    pub winner_candidate_id: Option<String>,
}

/// The convergence report (§6.7).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Convergence {
    pub rounds_completed: usize,
    pub step_magnitudes: Vec<f64>,
    pub latest_step: Option<f64>,
    pub quiet_streak: u32,
    pub patience: u32,
    pub converged: bool,
    pub rounds_to_convergence: Option<u32>,
    pub reason: String,
    pub threshold: f64,
}

/// The taste profile (§6.5), dimensions by descending signal.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TasteProfile {
    pub dimensions: Vec<TasteDimension>,
    pub negative_pins: Vec<PinCount>,
    pub confidence: i64,
    pub rounds_used: usize,
}

/// One dimension of the taste profile.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TasteDimension {
    pub name: String,
    pub mean: f64,
    pub consistency: f64,
    pub signal_pct: i64,
    pub trend: String,
    pub sample_count: usize,
    pub avg_priority: Option<f64>,
}

/// How often a negative term was pinned.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PinCount {
    pub term: String,
    pub count: usize,
}

/// `GET /api/jobs/{id}`: a job's state and progress.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JobInfo {
    pub id: String,
    pub state: String,
    pub progress: u32,
    pub status_message: String,
    pub error: Option<String>,
    pub step: usize,
    pub total_steps: usize,
    pub candidate: usize,
    pub total_candidates: usize,
    pub eta_seconds: Option<f64>,
}

impl JobInfo {
    /// Whether the job has ended.
    pub fn is_terminal(&self) -> bool {
        matches!(self.state.as_str(), "succeeded" | "failed" | "cancelled")
    }
}

/// One Server-Sent-Events update of `GET /api/jobs/{id}/events`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressUpdate {
    pub seq: u64,
    pub job_id: String,
    pub state: String,
    pub message: String,
    pub progress: u32,
    pub phase: Option<String>,
    pub step: usize,
    pub total_steps: usize,
    pub candidate: usize,
    pub total_candidates: usize,
    pub eta_seconds: Option<f64>,
    /// `data:image/png;base64,…` per candidate, on preview updates only.
    pub previews: Vec<String>,
    pub terminal: bool,
    pub error: Option<String>,
}

impl From<&JobInfo> for ProgressUpdate {
    fn from(job: &JobInfo) -> Self {
        ProgressUpdate {
            seq: 0,
            job_id: job.id.clone(),
            state: job.state.clone(),
            message: job.status_message.clone(),
            progress: job.progress,
            phase: None,
            step: job.step,
            total_steps: job.total_steps,
            candidate: job.candidate,
            total_candidates: job.total_candidates,
            eta_seconds: job.eta_seconds,
            previews: Vec::new(),
            terminal: job.is_terminal(),
            error: job.error.clone(),
        }
    }
}

/// The answer of the async job routes (`…/async`, `…/generate/async`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JobHandle {
    pub job_id: String,
    pub events_url: String,
    pub state: String,
    pub round_id: Option<String>,
}

/// `GET /setup/config-template`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigTemplate {
    pub config_yaml: String,
}

/// `POST /setup/session`'s answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SetupCreated {
    pub session: SessionInfo,
}

/// `GET /api/diagnostics`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Diagnostics {
    pub backend: String,
    pub model_source: Option<String>,
    pub model_name: String,
    pub demo_model: bool,
    pub model_notice: Option<String>,
    pub configured_device: String,
    pub active_device: String,
    pub cuda_available: bool,
    pub cuda_reason: Option<String>,
    pub unet_dtype: String,
    pub default_size: u32,
    pub versions: DiagnosticsVersions,
    pub store: DiagnosticsStore,
    pub queue: DiagnosticsQueue,
}

/// Versions in [`Diagnostics`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DiagnosticsVersions {
    pub server: String,
    pub engine: String,
    pub burn: String,
}

/// Store part of [`Diagnostics`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DiagnosticsStore {
    pub backend: String,
    pub status: String,
    pub event_count: u64,
    pub data_dir: String,
    pub artifact_bytes: u64,
}

/// Queue part of [`Diagnostics`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DiagnosticsQueue {
    pub queued: usize,
    pub running: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub render_concurrency: usize,
    pub runner_invocations: u64,
}

/// The part of a normalized feedback payload the pages read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NormalizedPayload {
    pub winner_candidate_id: Option<String>,
}

/// A JSON value kept as its text, for display only. Decoding into `serde_json::Value` instead
/// would put a generic JSON tree decoder and pretty-printer into the WASM for two `<pre>`s.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawJson(pub String);

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(if self.0.is_empty() {
            "null".to_string()
        } else {
            self.0.clone()
        })
        .map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        Ok(RawJson(raw.get().to_string()))
    }
}
