//! The feedback a person is composing for a round, and the checks the server will make, done in
//! the browser first so mistakes are explained before anything is sent. The messages and field
//! names are the server's (`server/src/steering/feedback/normalize.rs`), so an error reads the
//! same whichever side caught it. Pure data: no DOM, testable natively and in the browser.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

/// Longest critique text the server accepts.
pub const MAX_CRITIQUE_CHARS: usize = 4000;

/// Critique tags, positive first: the server's vocabulary and order
/// (`server/src/steering/feedback/tags.rs`, whose tests check that both lists agree).
pub const CRITIQUE_TAGS: [&str; 10] = [
    "good_composition",
    "good_color",
    "good_detail",
    "too_dark",
    "too_bright",
    "wrong_style",
    "wrong_composition",
    "too_busy",
    "too_simple",
    "wrong_subject",
];

/// Whether a critique tag pulls toward the candidate.
pub fn is_positive_tag(tag: &str) -> bool {
    tag.starts_with("good_")
}

/// The six feedback modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ScalarRating,
    Pairwise,
    WinnerOnly,
    ApproveReject,
    TopK,
    CritiqueRating,
}

impl Mode {
    /// Every mode, in the reference's order.
    pub const ALL: [Mode; 6] = [
        Mode::ScalarRating,
        Mode::Pairwise,
        Mode::WinnerOnly,
        Mode::ApproveReject,
        Mode::TopK,
        Mode::CritiqueRating,
    ];

    /// The mode named as in the session config.
    pub fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ScalarRating => "scalar_rating",
            Mode::Pairwise => "pairwise",
            Mode::WinnerOnly => "winner_only",
            Mode::ApproveReject => "approve_reject",
            Mode::TopK => "top_k",
            Mode::CritiqueRating => "critique_rating",
        }
    }

    /// A person's name for it.
    pub fn label(self) -> &'static str {
        match self {
            Mode::ScalarRating => "Star ratings",
            Mode::Pairwise => "Pairwise: winner and loser",
            Mode::WinnerOnly => "Pick the winner",
            Mode::ApproveReject => "Approve / reject",
            Mode::TopK => "Rank the best",
            Mode::CritiqueRating => "Stars and critique tags",
        }
    }

    /// What the number keys do in this mode.
    pub fn keyboard_hint(self) -> &'static str {
        match self {
            Mode::ScalarRating | Mode::CritiqueRating => {
                "←/→ choose an image, 1–5 rate it, Enter submits"
            }
            Mode::Pairwise => "1–9: first press picks the winner, second the loser; Enter submits",
            Mode::WinnerOnly => "1–9 picks the winner, Enter submits",
            Mode::ApproveReject => {
                "1–9 approves or un-approves an image, W marks the chosen one as preferred, Enter submits"
            }
            Mode::TopK => "1–9 gives an image the next rank (again removes it), Enter submits",
        }
    }

    /// Whether this mode rates with stars.
    pub fn uses_stars(self) -> bool {
        matches!(self, Mode::ScalarRating | Mode::CritiqueRating)
    }
}

/// A check that failed: the field the server would name and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftError {
    pub field: String,
    pub message: String,
}

fn refuse<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, DraftError> {
    Err(DraftError {
        field: field.into(),
        message: message.into(),
    })
}

/// Feedback being composed. Candidate ids are the round's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Draft {
    /// 1..=5 stars per candidate.
    pub ratings: BTreeMap<String, u8>,
    pub winner: Option<String>,
    pub loser: Option<String>,
    /// Approved candidates (the others count as rejected).
    pub approved: BTreeSet<String>,
    /// Rank per candidate, 1 = best.
    pub ranks: BTreeMap<String, u32>,
    /// Critique tags per candidate.
    pub tags: BTreeMap<String, BTreeSet<String>>,
    /// `{candidate: {dimension: 1..=5}}`.
    pub dimension_ratings: BTreeMap<String, BTreeMap<String, u8>>,
    /// Dimensions, most important first.
    pub priorities: Vec<String>,
    pub critique_text: String,
}

impl Draft {
    /// An empty draft whose priority order is the prompt's dimension order.
    pub fn new(dimensions: &[String]) -> Self {
        Draft {
            priorities: dimensions.to_vec(),
            ..Draft::default()
        }
    }

    /// What a number key (or a click on "pick") does to `candidate` in `mode`.
    pub fn pick(&mut self, mode: Mode, candidate: &str) {
        match mode {
            Mode::WinnerOnly => self.winner = Some(candidate.to_string()),
            Mode::Pairwise => match (&self.winner, &self.loser) {
                (Some(w), None) if w != candidate => self.loser = Some(candidate.to_string()),
                (Some(w), None) if w == candidate => {}
                _ => {
                    self.winner = Some(candidate.to_string());
                    self.loser = None;
                }
            },
            Mode::ApproveReject => {
                if !self.approved.remove(candidate) {
                    self.approved.insert(candidate.to_string());
                } else if self.winner.as_deref() == Some(candidate) {
                    self.winner = None;
                }
            }
            Mode::TopK => {
                if let Some(rank) = self.ranks.remove(candidate) {
                    // Close the gap so ranks stay 1..n.
                    for r in self.ranks.values_mut() {
                        if *r > rank {
                            *r -= 1;
                        }
                    }
                } else {
                    let next = self.ranks.len() as u32 + 1;
                    self.ranks.insert(candidate.to_string(), next);
                }
            }
            Mode::ScalarRating | Mode::CritiqueRating => {}
        }
    }

    /// Sets (or, with the same value again, clears) a star rating.
    pub fn rate(&mut self, candidate: &str, stars: u8) {
        if self.ratings.get(candidate) == Some(&stars) {
            self.ratings.remove(candidate);
        } else {
            self.ratings.insert(candidate.to_string(), stars);
        }
    }

    /// Toggles a critique tag.
    pub fn toggle_tag(&mut self, candidate: &str, tag: &str) {
        let set = self.tags.entry(candidate.to_string()).or_default();
        if !set.remove(tag) {
            set.insert(tag.to_string());
        }
    }

    /// Sets (or clears, when repeated) a dimension rating.
    pub fn rate_dimension(&mut self, candidate: &str, dimension: &str, stars: u8) {
        let map = self
            .dimension_ratings
            .entry(candidate.to_string())
            .or_default();
        if map.get(dimension) == Some(&stars) {
            map.remove(dimension);
        } else {
            map.insert(dimension.to_string(), stars);
        }
    }

    /// Moves a dimension one place up (`up`) or down the priority order.
    pub fn move_priority(&mut self, dimension: &str, up: bool) {
        let Some(i) = self.priorities.iter().position(|d| d == dimension) else {
            return;
        };
        let j = if up { i.checked_sub(1) } else { Some(i + 1) };
        if let Some(j) = j.filter(|j| *j < self.priorities.len()) {
            self.priorities.swap(i, j);
        }
    }

    /// The priority-weighted overall score of a candidate's dimension ratings (§6.4): with N
    /// dimensions, priority p weighs N − (p − 1); unrated dimensions count 0. Rounded half up.
    pub fn weighted_stars(&self, candidate: &str) -> Option<u8> {
        let scores = self.dimension_ratings.get(candidate)?;
        if scores.is_empty() || self.priorities.is_empty() {
            return None;
        }
        let n = self.priorities.len() as f64;
        let (mut sum, mut weights) = (0.0, 0.0);
        for (p, dim) in self.priorities.iter().enumerate() {
            let weight = n - p as f64;
            sum += weight * f64::from(scores.get(dim).copied().unwrap_or(0));
            weights += weight;
        }
        let stars = (sum / weights + 0.5).floor().clamp(1.0, 5.0);
        Some(stars as u8)
    }

    /// The overall rating sent for a candidate: the explicit stars, else the dimension score.
    pub fn effective_rating(&self, candidate: &str) -> Option<u8> {
        self.ratings
            .get(candidate)
            .copied()
            .or_else(|| self.weighted_stars(candidate))
    }

    /// Checks the draft as the server would and builds the request body of
    /// `POST /rounds/{id}/feedback`. `candidates` are the round's ids in display order.
    pub fn to_request(&self, mode: Mode, candidates: &[String]) -> Result<Value, DraftError> {
        let known = |id: &String| candidates.contains(id);
        let mut payload = Map::new();
        match mode {
            Mode::ScalarRating | Mode::CritiqueRating => {
                let name = mode.as_str();
                let ratings: Map<String, Value> = candidates
                    .iter()
                    .filter_map(|c| self.effective_rating(c).map(|r| (c.clone(), json!(r))))
                    .collect();
                if ratings.is_empty() {
                    return refuse(
                        "payload.ratings",
                        format!("{name} feedback requires at least one rating"),
                    );
                }
                payload.insert("ratings".into(), Value::Object(ratings));
                if mode == Mode::CritiqueRating {
                    let tags: Map<String, Value> = candidates
                        .iter()
                        .filter_map(|c| {
                            let set = self.tags.get(c).filter(|s| !s.is_empty())?;
                            // Vocabulary order, as the server lists them.
                            let ordered: Vec<&str> = CRITIQUE_TAGS
                                .into_iter()
                                .filter(|t| set.contains(*t))
                                .collect();
                            Some((c.clone(), json!(ordered)))
                        })
                        .collect();
                    payload.insert("critique_tags".into(), Value::Object(tags));
                }
            }
            Mode::Pairwise => {
                let Some(winner) = self.winner.as_ref().filter(|w| known(w)) else {
                    return refuse(
                        "payload.winner_candidate_id",
                        "pairwise feedback requires winner_candidate_id",
                    );
                };
                let Some(loser) = self.loser.as_ref().filter(|l| known(l)) else {
                    return refuse(
                        "payload.loser_candidate_id",
                        "pairwise feedback requires loser_candidate_id",
                    );
                };
                if winner == loser {
                    return refuse(
                        "payload.loser_candidate_id",
                        "pairwise feedback requires different winner and loser candidates",
                    );
                }
                payload.insert("winner_candidate_id".into(), json!(winner));
                payload.insert("loser_candidate_id".into(), json!(loser));
            }
            Mode::WinnerOnly => {
                let Some(winner) = self.winner.as_ref().filter(|w| known(w)) else {
                    return refuse(
                        "payload.winner_candidate_id",
                        "winner_only feedback requires winner_candidate_id",
                    );
                };
                payload.insert("winner_candidate_id".into(), json!(winner));
            }
            Mode::ApproveReject => {
                if !candidates.iter().any(|c| self.approved.contains(c)) {
                    return refuse(
                        "payload.approvals",
                        "approve_reject feedback requires at least one approved candidate",
                    );
                }
                if let Some(winner) = &self.winner {
                    if !self.approved.contains(winner) {
                        return refuse(
                            "payload.winner_candidate_id",
                            "approve_reject winner_candidate_id must also be approved",
                        );
                    }
                    payload.insert("winner_candidate_id".into(), json!(winner));
                }
                // Every card is a decision: unapproved means rejected.
                let approvals: Map<String, Value> = candidates
                    .iter()
                    .map(|c| (c.clone(), json!(self.approved.contains(c))))
                    .collect();
                payload.insert("approvals".into(), Value::Object(approvals));
            }
            Mode::TopK => {
                let mut ranked: Vec<(u32, &String)> = candidates
                    .iter()
                    .filter_map(|c| self.ranks.get(c).map(|r| (*r, c)))
                    .collect();
                if ranked.len() < 2 {
                    return refuse(
                        "payload.ranking",
                        "ranking feedback requires at least two ranked candidates",
                    );
                }
                ranked.sort();
                if ranked.windows(2).any(|w| w[0].0 == w[1].0) {
                    return refuse(
                        "payload.ranking",
                        "ranking feedback requires unique ranks: two images share a rank",
                    );
                }
                payload.insert(
                    "ranking".into(),
                    json!(ranked.iter().map(|(_, c)| c).collect::<Vec<_>>()),
                );
                let ranks: Map<String, Value> = ranked
                    .iter()
                    .map(|(r, c)| ((*c).clone(), json!(r)))
                    .collect();
                payload.insert("ranks".into(), Value::Object(ranks));
            }
        }
        let mut body = json!({"feedback_type": mode.as_str(), "payload": Value::Object(payload)});
        let text = self.critique_text.trim();
        if text.chars().count() > MAX_CRITIQUE_CHARS {
            return refuse(
                "critique_text",
                format!("critique_text is longer than {MAX_CRITIQUE_CHARS} characters"),
            );
        }
        if !text.is_empty() {
            body["critique_text"] = json!(text);
        }
        if mode == Mode::ScalarRating {
            let rated: Vec<&String> = candidates
                .iter()
                .filter(|c| {
                    self.dimension_ratings
                        .get(*c)
                        .is_some_and(|m| !m.is_empty())
                })
                .collect();
            if !rated.is_empty() {
                let priorities: Map<String, Value> = self
                    .priorities
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (d.clone(), json!(i + 1)))
                    .collect();
                body["dimension_ratings"] = rated
                    .iter()
                    .map(|c| ((*c).clone(), json!(self.dimension_ratings[*c])))
                    .collect::<Map<String, Value>>()
                    .into();
                body["dimension_priorities"] = rated
                    .iter()
                    .map(|c| ((*c).clone(), Value::Object(priorities.clone())))
                    .collect::<Map<String, Value>>()
                    .into();
            }
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    #[test]
    fn pairwise_picks_winner_then_loser_and_restarts() {
        let mut d = Draft::default();
        d.pick(Mode::Pairwise, "a");
        assert!(d.to_request(Mode::Pairwise, &ids()).is_err());
        d.pick(Mode::Pairwise, "b");
        let body = d.to_request(Mode::Pairwise, &ids()).unwrap();
        assert_eq!(body["payload"]["winner_candidate_id"], "a");
        assert_eq!(body["payload"]["loser_candidate_id"], "b");
        d.pick(Mode::Pairwise, "c");
        assert_eq!(d.winner.as_deref(), Some("c"));
        assert_eq!(d.loser, None);
    }

    #[test]
    fn ranks_close_gaps_and_need_two() {
        let mut d = Draft::default();
        d.pick(Mode::TopK, "b");
        let err = d.to_request(Mode::TopK, &ids()).unwrap_err();
        assert_eq!(err.field, "payload.ranking");
        d.pick(Mode::TopK, "a");
        d.pick(Mode::TopK, "c");
        d.pick(Mode::TopK, "b");
        let body = d.to_request(Mode::TopK, &ids()).unwrap();
        assert_eq!(body["payload"]["ranking"], json!(["a", "c"]));
        d.ranks.insert("b".into(), 1);
        assert!(d
            .to_request(Mode::TopK, &ids())
            .unwrap_err()
            .message
            .contains("unique"));
    }

    #[test]
    fn approve_reject_needs_an_approved_winner() {
        let mut d = Draft::default();
        assert_eq!(
            d.to_request(Mode::ApproveReject, &ids()).unwrap_err().field,
            "payload.approvals"
        );
        d.pick(Mode::ApproveReject, "b");
        d.winner = Some("a".into());
        assert_eq!(
            d.to_request(Mode::ApproveReject, &ids()).unwrap_err().field,
            "payload.winner_candidate_id"
        );
        d.winner = Some("b".into());
        let body = d.to_request(Mode::ApproveReject, &ids()).unwrap();
        assert_eq!(
            body["payload"]["approvals"],
            json!({"a": false, "b": true, "c": false})
        );
    }

    #[test]
    fn dimension_scores_fill_a_missing_overall_rating() {
        let dims: Vec<String> = vec!["light".into(), "color".into()];
        let mut d = Draft::new(&dims);
        d.rate_dimension("a", "light", 5);
        // weights 2 and 1; color unrated counts 0: (10 + 0) / 3 = 3.33 → 3
        assert_eq!(d.weighted_stars("a"), Some(3));
        let body = d.to_request(Mode::ScalarRating, &ids()).unwrap();
        assert_eq!(body["payload"]["ratings"], json!({"a": 3}));
        assert_eq!(
            body["dimension_priorities"]["a"],
            json!({"light": 1, "color": 2})
        );
        d.move_priority("color", true);
        assert_eq!(d.priorities, vec!["color".to_string(), "light".to_string()]);
    }

    #[test]
    fn critique_text_is_limited() {
        let mut d = Draft::default();
        d.rate("a", 4);
        d.critique_text = "x".repeat(MAX_CRITIQUE_CHARS + 1);
        assert_eq!(
            d.to_request(Mode::ScalarRating, &ids()).unwrap_err().field,
            "critique_text"
        );
    }
}
