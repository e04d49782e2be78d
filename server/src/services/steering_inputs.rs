//! What the steering domain reads about a session, built from the projection: every round
//! with its normalized feedback (calibration as approvals; a fork's inherited rounds read from
//! its parent at the fork point, so the preference model of a branch starts exactly where the
//! parent was), the basis' critique-tag directions and the shared render seed.

use serde_json::Value;
use uuid::Uuid;

use super::history;
use super::{ServiceError, ServiceResult};
use crate::steering::basis::BasisSummary;
use crate::steering::composition::RoundRecord;
use crate::steering::config::StrategyConfig;
use crate::steering::feedback::{normalize, tags::CRITIQUE_TAGS, FeedbackMode, NormalizedFeedback};
use crate::steering::preference::{shared_render_seed, SteeringRound, TagDirectionList, Tuning};
use crate::steering::seeds::seed_token;
use crate::steering::step::History;
use crate::store::projections::session::{BasisView, RoundStatus, RoundView, SessionDetail};
use crate::store::AsOf;

/// Smallest share of a tag modifier's effect the basis must capture for the tag to constrain
/// the model (a direction mostly outside the basis would point somewhere arbitrary).
const MIN_TAG_CAPTURE: f64 = 0.2;
/// Fork chains deeper than this are read only this far back.
const MAX_FORK_DEPTH: usize = 64;

/// A session's steering inputs (owned, so they can outlive the projection lock).
#[derive(Debug, Clone)]
pub struct SteeringInputs {
    /// Session id as text.
    pub session_id: String,
    /// The frozen config.
    pub config: StrategyConfig,
    /// The rounds the strategy reads (see [`History::rounds`]).
    pub rounds: Vec<SteeringRound>,
    /// `classic`: the steering state.
    pub current_z: Vec<f64>,
    /// Rounds generated so far.
    pub current_round: u32,
    /// `classic`: the last winner.
    pub incumbent_candidate_id: Option<String>,
    /// Root of the strategy's random draws.
    pub session_seed: u64,
    /// Seed renewals so far (own and inherited).
    pub seed_epoch: u32,
    /// The seed new candidates of a `shared` round render with.
    pub shared_seed: u32,
    /// Critique-tag directions from the basis.
    pub tags: TagDirectionList,
    /// The basis (own, or inherited from the fork parent).
    pub basis: Option<BasisView>,
    /// The session stream's version these inputs were read at (appends based on them expect it).
    pub version: u64,
}

impl SteeringInputs {
    /// The domain's view.
    pub fn history(&self) -> History<'_> {
        History {
            session_id: &self.session_id,
            session_seed: self.session_seed,
            config: &self.config,
            rounds: &self.rounds,
            current_z: &self.current_z,
            current_round: self.current_round,
            incumbent_candidate_id: self.incumbent_candidate_id.as_deref(),
            seed_epoch: self.seed_epoch,
            shared_seed: self.shared_seed,
            tags: &self.tags,
            tuning: Tuning::default(),
        }
    }
}

/// The root of a session's random draws: `seed_token(session_id, "preference")`.
pub fn session_seed(session_id: Uuid) -> u64 {
    u64::from(seed_token(&[&session_id, &"preference"]))
}

/// What a fork inherits from its ancestors: their rounds up to each fork point, their seed
/// renewals and the nearest basis.
#[derive(Debug, Default)]
struct Inherited {
    rounds: Vec<SteeringRound>,
    renewals: Vec<u32>,
    basis: Option<BasisView>,
    /// The oldest ancestor: its id seeds the shared seed, so a branch keeps its parent's seed.
    root: Option<Uuid>,
}

/// Reads the fork chain of `session_id` from the log (oldest ancestor first).
fn inherited(store: &crate::store::LogStore, session_id: Uuid) -> ServiceResult<Inherited> {
    let mut chain = Vec::new();
    let mut parent = store.with_projections(|p| {
        p.sessions
            .get(&session_id)
            .and_then(|d| d.lineage.parent.clone())
    });
    while let Some(link) = parent {
        if chain.len() >= MAX_FORK_DEPTH {
            break;
        }
        let detail = store
            .session_at(link.session_id, AsOf::Version(link.parent_version))
            .map_err(|e| ServiceError::internal(format!("fork parent unreadable: {e}")))?;
        parent = detail.lineage.parent.clone();
        chain.push((detail, link.round));
    }
    let mut out = Inherited::default();
    for (detail, fork_round) in chain.into_iter().rev() {
        out.root.get_or_insert(detail.session_id);
        out.rounds.retain(|r| r.record.round_index <= fork_round);
        out.rounds.extend(
            own_rounds(&detail)
                .into_iter()
                .filter(|r| r.record.round_index <= fork_round),
        );
        out.renewals.extend(
            detail
                .seed_renewals
                .iter()
                .filter(|s| s.after_round <= fork_round)
                .map(|s| s.seed),
        );
        if detail.basis.is_some() {
            out.basis = detail.basis.clone();
        }
    }
    Ok(out)
}

/// The steering inputs of a live session.
pub fn steering_inputs(
    store: &crate::store::LogStore,
    session_id: Uuid,
) -> ServiceResult<SteeringInputs> {
    let preference = history::with_session(store, session_id, |d| {
        Ok(history::config_of(d)?.is_preference())
    })?;
    let inherited = if preference {
        inherited(store, session_id)?
    } else {
        Inherited::default()
    };
    history::with_session(store, session_id, |detail| Ok(build(detail, inherited)))?
}

fn build(detail: &SessionDetail, inherited: Inherited) -> ServiceResult<SteeringInputs> {
    let config = history::config_of(detail)?;
    let session_id = detail.session_id;
    let rounds = if config.is_preference() {
        let mut rounds = inherited.rounds;
        rounds.extend(own_rounds(detail));
        rounds
    } else {
        history::round_records(detail)
            .into_iter()
            .map(|record| SteeringRound {
                record,
                feedback: None,
            })
            .collect()
    };
    let mut renewals = inherited.renewals;
    renewals.extend(detail.seed_renewals.iter().map(|s| s.seed));
    let basis = detail.basis.clone().or(inherited.basis);
    let root = inherited.root.unwrap_or(session_id).to_string();
    let shared_seed = match renewals.last() {
        Some(seed) => *seed,
        None => shared_render_seed(&root, &rounds, 0),
    };
    Ok(SteeringInputs {
        session_id: session_id.to_string(),
        current_z: history::current_z(detail, &config),
        current_round: history::effective_round(detail),
        incumbent_candidate_id: detail.incumbent_candidate_id.map(|u| u.to_string()),
        session_seed: session_seed(session_id),
        seed_epoch: renewals.len() as u32,
        shared_seed,
        tags: tag_directions(basis.as_ref()),
        basis,
        rounds,
        config,
        version: detail.version,
    })
}

/// The directional critique tags the basis can express.
fn tag_directions(basis: Option<&BasisView>) -> TagDirectionList {
    let Some(summary) =
        basis.and_then(|b| serde_json::from_str::<BasisSummary>(&b.summary_json).ok())
    else {
        return TagDirectionList::default();
    };
    TagDirectionList(
        CRITIQUE_TAGS
            .iter()
            .filter_map(|tag| {
                let text = crate::steering::basis::tag_fix_modifier(tag)?;
                let m = summary.modifiers.iter().find(|m| m.text == text)?;
                if m.captured < MIN_TAG_CAPTURE {
                    return None;
                }
                Some((tag.to_string(), summary.tag_direction(tag)?))
            })
            .collect(),
    )
}

/// The session's own rounds: a completed calibration round as approvals, then every live
/// steering round with its feedback.
fn own_rounds(detail: &SessionDetail) -> Vec<SteeringRound> {
    let mut out = Vec::new();
    for round in &detail.rounds {
        if round.calibration {
            if round.status == RoundStatus::Completed && !round.selected_candidate_ids.is_empty() {
                out.push(calibration_round(round));
            }
            continue;
        }
        if matches!(round.status, RoundStatus::Failed(_)) {
            continue;
        }
        let record = record_of(round);
        let feedback = round.feedback.as_ref().and_then(|f| {
            let mode = FeedbackMode::parse(&f.feedback.feedback_type)?;
            let raw: Value = serde_json::from_str(&f.feedback.raw_json).ok()?;
            normalize(mode, &raw).ok()
        });
        out.push(SteeringRound { record, feedback });
    }
    out
}

/// A round as the preference strategy reads it: ids, z, roles, seeds and images (it never reads
/// generation parameters, so none are parsed: a long session's history stays cheap to build).
fn record_of(round: &RoundView) -> RoundRecord {
    RoundRecord {
        id: round.round_id.to_string(),
        round_index: round.index,
        incumbent_z: round.incumbent_z.clone(),
        candidates: round
            .candidates
            .iter()
            .map(|c| {
                history::light_candidate(
                    &c.candidate,
                    c.render.as_ref().map(|r| r.artifact_hash.as_str()),
                )
            })
            .collect(),
        winner_candidate_id: round
            .update
            .as_ref()
            .and_then(|u| u.update.winner_candidate_id.map(|w| w.0.to_string())),
    }
}

/// Calibration as evidence: the chosen probes approved, the rest rejected.
fn calibration_round(round: &RoundView) -> SteeringRound {
    let record = record_of(round);
    let selected: Vec<String> = round
        .selected_candidate_ids
        .iter()
        .map(Uuid::to_string)
        .collect();
    let rejected: Vec<String> = record
        .candidates
        .iter()
        .map(|c| c.id.clone())
        .filter(|id| !selected.contains(id))
        .collect();
    let mut feedback = NormalizedFeedback::winner_only(selected[0].clone());
    feedback.mode = FeedbackMode::ApproveReject;
    feedback.approvals = Some(
        selected
            .iter()
            .map(|id| (id.clone(), true))
            .chain(rejected.iter().map(|id| (id.clone(), false)))
            .collect(),
    );
    feedback.approved_candidate_ids = Some(selected);
    feedback.rejected_candidate_ids = Some(rejected);
    SteeringRound {
        record,
        feedback: Some(feedback),
    }
}
