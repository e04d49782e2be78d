//! Checks around normalization: the feedback mode must be the session's, the round must be the
//! session's latest round awaiting feedback, and every referenced candidate must be in it.

use serde_json::Value;

use super::error::{FeedbackError, FeedbackErrorKind};
use super::normalize::normalize;
use super::normalized::NormalizedFeedback;
use crate::steering::kinds::FeedbackMode;

/// Refuses feedback whose type is not the session's mode.
pub fn check_mode(
    session_mode: FeedbackMode,
    submitted: FeedbackMode,
) -> Result<(), FeedbackError> {
    if session_mode == submitted {
        return Ok(());
    }
    Err(FeedbackError {
        kind: FeedbackErrorKind::ModeMismatch,
        field: "feedback_type".into(),
        message: format!("Feedback type {submitted} does not match session mode {session_mode}"),
    })
}

/// What the server knows about the target round when feedback arrives.
#[derive(Debug, Clone, Copy)]
pub struct RoundState {
    /// `round_index` of the round the feedback is posted to.
    pub target_round_index: u32,
    /// `round_index` of the session's latest generated round (calibration round 0 excluded).
    pub latest_round_index: u32,
    /// Whether the session is awaiting feedback.
    pub session_awaiting_feedback: bool,
    /// Whether the target round already has a feedback event.
    pub round_has_feedback: bool,
}

/// Refuses feedback for a stale round, a session not awaiting feedback, or a second feedback
/// (the reference lacked the "latest round" check; bug 6 of its §10).
pub fn check_round_accepts_feedback(state: RoundState) -> Result<(), FeedbackError> {
    let conflict = |message: String| FeedbackError {
        kind: FeedbackErrorKind::NotAccepting,
        field: "round_id".into(),
        message,
    };
    if !state.session_awaiting_feedback {
        return Err(conflict(
            "Session is not currently awaiting feedback for this round".into(),
        ));
    }
    if state.target_round_index != state.latest_round_index {
        return Err(conflict(format!(
            "Feedback is only accepted for the session's latest round (round {}), not round {}",
            state.latest_round_index, state.target_round_index
        )));
    }
    if state.round_has_feedback {
        return Err(conflict(
            "Feedback has already been submitted for this round".into(),
        ));
    }
    Ok(())
}

/// Refuses an event that references candidates outside the round. The reference's messages for
/// winner, loser, ranking, approvals and rejections; ratings and critique tags are new checks.
pub fn validate_against_round(
    feedback: &NormalizedFeedback,
    candidate_ids: &[&str],
) -> Result<(), FeedbackError> {
    let known = |id: &str| candidate_ids.contains(&id);
    if !known(&feedback.winner_candidate_id) {
        return Err(FeedbackError::unknown(
            "payload.winner_candidate_id",
            format!(
                "Feedback references unknown winner candidate: {}",
                feedback.winner_candidate_id
            ),
        ));
    }
    if let Some(loser) = &feedback.loser_candidate_id {
        if !known(loser) {
            return Err(FeedbackError::unknown(
                "payload.loser_candidate_id",
                format!("Feedback references unknown loser candidate: {loser}"),
            ));
        }
    }
    let lists: [(&str, &str, Vec<&str>); 5] = [
        (
            "payload.ranking",
            "Feedback ranking references unknown candidates",
            ids(feedback.ranking.as_deref()),
        ),
        (
            "payload.approvals",
            "Feedback approvals reference unknown candidates",
            ids(feedback.approved_candidate_ids.as_deref()),
        ),
        (
            "payload.approvals",
            "Feedback rejections reference unknown candidates",
            ids(feedback.rejected_candidate_ids.as_deref()),
        ),
        (
            "payload.ratings",
            "Feedback ratings reference unknown candidates",
            feedback
                .ratings
                .iter()
                .flatten()
                .map(|(id, _)| id.as_str())
                .collect(),
        ),
        (
            "payload.critique_tags",
            "Feedback critique tags reference unknown candidates",
            feedback
                .critique_tags
                .iter()
                .flatten()
                .map(|(id, _)| id.as_str())
                .collect(),
        ),
    ];
    for (field, message, list) in lists {
        let unknown: Vec<&str> = list.into_iter().filter(|id| !known(id)).collect();
        if !unknown.is_empty() {
            return Err(FeedbackError::unknown(
                field,
                format!("{message}: {}", unknown.join(", ")),
            ));
        }
    }
    Ok(())
}

fn ids(list: Option<&[String]>) -> Vec<&str> {
    list.unwrap_or_default()
        .iter()
        .map(String::as_str)
        .collect()
}

/// Mode check, normalization and round-membership check in the reference's order.
pub fn normalize_for_round(
    session_mode: FeedbackMode,
    submitted_mode: FeedbackMode,
    payload: &Value,
    candidate_ids: &[&str],
) -> Result<NormalizedFeedback, FeedbackError> {
    check_mode(session_mode, submitted_mode)?;
    let normalized = normalize(submitted_mode, payload)?;
    validate_against_round(&normalized, candidate_ids)?;
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mode_mismatch_names_both_modes() {
        let err = check_mode(FeedbackMode::ScalarRating, FeedbackMode::Pairwise).unwrap_err();
        assert_eq!(err.field, "feedback_type");
        assert_eq!(
            err.message,
            "Feedback type pairwise does not match session mode scalar_rating"
        );
    }

    #[test]
    fn stale_round_is_a_conflict() {
        let err = check_round_accepts_feedback(RoundState {
            target_round_index: 0,
            latest_round_index: 1,
            session_awaiting_feedback: true,
            round_has_feedback: false,
        })
        .unwrap_err();
        assert_eq!(err.error_code(), "conflict");
        assert!(err.message.contains("latest round"));
        let ok = check_round_accepts_feedback(RoundState {
            target_round_index: 3,
            latest_round_index: 3,
            session_awaiting_feedback: true,
            round_has_feedback: false,
        });
        assert!(ok.is_ok());
    }

    #[test]
    fn ratings_for_foreign_candidates_are_refused() {
        let err = normalize_for_round(
            FeedbackMode::ScalarRating,
            FeedbackMode::ScalarRating,
            &json!({"ratings": {"a": 5, "x": 2}}),
            &["a", "b"],
        )
        .unwrap_err();
        assert_eq!(err.field, "payload.ratings");
        assert_eq!(
            err.message,
            "Feedback ratings reference unknown candidates: x"
        );
        let err = normalize_for_round(
            FeedbackMode::WinnerOnly,
            FeedbackMode::WinnerOnly,
            &json!({"winner_candidate_id": "q"}),
            &["a", "b"],
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "Feedback references unknown winner candidate: q"
        );
    }
}
