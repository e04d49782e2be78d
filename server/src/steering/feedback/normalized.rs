//! `NormalizedFeedback`: the winner-centric form every updater reads (§6.1), with the
//! reference's JSON layout (`normalized_payload`).

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::steering::kinds::FeedbackMode;

/// One normalized feedback event. Maps keep the payload's key order, which the reference relies
/// on (e.g. the default approve/reject winner is the first approved id).
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedFeedback {
    /// The mode it was normalized from.
    pub mode: FeedbackMode,
    /// The winner (always present).
    pub winner_candidate_id: String,
    /// `pairwise`: the loser.
    pub loser_candidate_id: Option<String>,
    /// `scalar_rating` / `critique_rating`: integer ratings 1..=5 in payload order.
    pub ratings: Option<Vec<(String, i64)>>,
    /// `critique_rating`: non-empty tag lists in payload order.
    pub critique_tags: Option<Vec<(String, Vec<String>)>>,
    /// `top_k`: the (possibly partial) ranking, best first.
    pub ranking: Option<Vec<String>>,
    /// `approve_reject`: approved ids in payload order.
    pub approved_candidate_ids: Option<Vec<String>>,
    /// `approve_reject`: rejected ids in payload order.
    pub rejected_candidate_ids: Option<Vec<String>>,
    /// `approve_reject`: the raw decisions in payload order.
    pub approvals: Option<Vec<(String, bool)>>,
}

impl NormalizedFeedback {
    /// A `winner_only` event (handy for tests and baselines).
    pub fn winner_only(winner: impl Into<String>) -> Self {
        NormalizedFeedback {
            mode: FeedbackMode::WinnerOnly,
            winner_candidate_id: winner.into(),
            loser_candidate_id: None,
            ratings: None,
            critique_tags: None,
            ranking: None,
            approved_candidate_ids: None,
            rejected_candidate_ids: None,
            approvals: None,
        }
    }

    /// Every candidate id the event references, with the field that references it.
    pub fn referenced_ids(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![("winner_candidate_id", self.winner_candidate_id.as_str())];
        if let Some(loser) = &self.loser_candidate_id {
            out.push(("loser_candidate_id", loser));
        }
        for (id, _) in self.ratings.iter().flatten() {
            out.push(("ratings", id));
        }
        for (id, _) in self.critique_tags.iter().flatten() {
            out.push(("critique_tags", id));
        }
        for id in self.ranking.iter().flatten() {
            out.push(("ranking", id));
        }
        for id in self.approved_candidate_ids.iter().flatten() {
            out.push(("approvals", id));
        }
        for id in self.rejected_candidate_ids.iter().flatten() {
            out.push(("approvals", id));
        }
        out
    }

    /// The reference's `normalized_payload` JSON (same keys, same order).
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert(
            "winner_candidate_id".into(),
            self.winner_candidate_id.clone().into(),
        );
        if let Some(loser) = &self.loser_candidate_id {
            map.insert("loser_candidate_id".into(), loser.clone().into());
        }
        if let Some(ratings) = &self.ratings {
            let ratings: Map<String, Value> = ratings
                .iter()
                .map(|(id, r)| (id.clone(), Value::from(*r)))
                .collect();
            map.insert("ratings".into(), Value::Object(ratings));
        }
        if let Some(tags) = &self.critique_tags {
            let tags: Map<String, Value> = tags
                .iter()
                .map(|(id, t)| (id.clone(), Value::from(t.clone())))
                .collect();
            map.insert("critique_tags".into(), Value::Object(tags));
        }
        if let Some(ranking) = &self.ranking {
            map.insert("ranking".into(), Value::from(ranking.clone()));
        }
        if let Some(approved) = &self.approved_candidate_ids {
            map.insert(
                "approved_candidate_ids".into(),
                Value::from(approved.clone()),
            );
        }
        if let Some(rejected) = &self.rejected_candidate_ids {
            map.insert(
                "rejected_candidate_ids".into(),
                Value::from(rejected.clone()),
            );
        }
        if let Some(approvals) = &self.approvals {
            let approvals: Map<String, Value> = approvals
                .iter()
                .map(|(id, a)| (id.clone(), Value::from(*a)))
                .collect();
            map.insert("approvals".into(), Value::Object(approvals));
        }
        Value::Object(map)
    }
}

impl Serialize for NormalizedFeedback {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}
