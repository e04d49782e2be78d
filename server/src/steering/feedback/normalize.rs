//! `normalize`: the reference's per-mode validation and reduction of a raw payload (§6.1), plus
//! the checks it lacked: integer ratings 1..=5 (no booleans, no fractions), critique tags from
//! the vocabulary, and string candidate ids.

use serde_json::{Map, Value};

use super::error::FeedbackError;
use super::normalized::NormalizedFeedback;
use super::tags::{is_known, CRITIQUE_TAGS};
use crate::steering::kinds::FeedbackMode;

/// Normalizes a raw `payload` of mode `mode`.
pub fn normalize(mode: FeedbackMode, payload: &Value) -> Result<NormalizedFeedback, FeedbackError> {
    let Some(payload) = payload.as_object() else {
        return Err(FeedbackError::invalid(
            "payload",
            "feedback payload must be a JSON object",
        ));
    };
    let mut out = NormalizedFeedback::winner_only(String::new());
    out.mode = mode;
    match mode {
        FeedbackMode::ScalarRating => {
            let ratings = parse_ratings(mode, payload)?;
            out.winner_candidate_id = top_rated(&ratings);
            out.ratings = Some(ratings);
        }
        FeedbackMode::CritiqueRating => {
            let ratings = parse_ratings(mode, payload)?;
            let tags = parse_tags(payload)?;
            out.winner_candidate_id = top_rated(&ratings);
            out.ratings = Some(ratings);
            out.critique_tags = Some(tags);
        }
        FeedbackMode::Pairwise => {
            let winner = required_id(payload, "winner_candidate_id", "pairwise")?;
            let loser = required_id(payload, "loser_candidate_id", "pairwise")?;
            if winner == loser {
                return Err(FeedbackError::invalid(
                    "payload.loser_candidate_id",
                    "pairwise feedback requires different winner and loser candidates",
                ));
            }
            out.winner_candidate_id = winner;
            out.loser_candidate_id = Some(loser);
        }
        FeedbackMode::WinnerOnly => {
            out.winner_candidate_id = required_id(payload, "winner_candidate_id", "winner_only")?;
        }
        FeedbackMode::ApproveReject => normalize_approvals(payload, &mut out)?,
        FeedbackMode::TopK => {
            let ranking = parse_ranking(payload)?;
            out.winner_candidate_id = ranking[0].clone();
            out.ranking = Some(ranking);
        }
    }
    Ok(out)
}

/// Python truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|v| v != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn required_id(
    payload: &Map<String, Value>,
    key: &str,
    mode: &str,
) -> Result<String, FeedbackError> {
    let field = format!("payload.{key}");
    match payload.get(key) {
        Some(value) if truthy(value) => value.as_str().map(str::to_string).ok_or_else(|| {
            FeedbackError::invalid(
                field,
                format!("{mode} feedback requires {key} to be a string"),
            )
        }),
        _ => Err(FeedbackError::invalid(
            field,
            format!("{mode} feedback requires {key}"),
        )),
    }
}

fn parse_ratings(
    mode: FeedbackMode,
    payload: &Map<String, Value>,
) -> Result<Vec<(String, i64)>, FeedbackError> {
    let empty = Map::new();
    let ratings = match payload.get("ratings") {
        None => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(FeedbackError::invalid(
                "payload.ratings",
                format!("{mode} feedback requires ratings to be a mapping"),
            ))
        }
    };
    if ratings.is_empty() {
        return Err(FeedbackError::invalid(
            "payload.ratings",
            format!("{mode} feedback requires at least one rating"),
        ));
    }
    // The reference's check first: every value numeric (it counted booleans as numbers).
    if let Some((id, _)) = ratings
        .iter()
        .find(|(_, v)| !(v.is_number() || v.is_boolean()))
    {
        return Err(FeedbackError::invalid(
            format!("payload.ratings.{id}"),
            format!("{mode} feedback requires numeric ratings"),
        ));
    }
    let mut out = Vec::with_capacity(ratings.len());
    for (id, value) in ratings {
        let field = format!("payload.ratings.{id}");
        if value.is_boolean() {
            return Err(FeedbackError::invalid(
                field,
                format!("{mode} feedback requires integer ratings from 1 to 5, not booleans (candidate {id})"),
            ));
        }
        match value.as_i64() {
            Some(rating) if (1..=5).contains(&rating) => out.push((id.clone(), rating)),
            _ => {
                return Err(FeedbackError::invalid(
                    field,
                    format!("{mode} feedback requires integer ratings from 1 to 5 (candidate {id} has {value})"),
                ))
            }
        }
    }
    Ok(out)
}

/// Highest rating, ties broken by the smallest id.
fn top_rated(ratings: &[(String, i64)]) -> String {
    let mut best: Option<&(String, i64)> = None;
    for entry in ratings {
        let better = match best {
            None => true,
            Some(current) => entry.1 > current.1 || (entry.1 == current.1 && entry.0 < current.0),
        };
        if better {
            best = Some(entry);
        }
    }
    best.map(|(id, _)| id.clone()).unwrap_or_default()
}

fn parse_tags(payload: &Map<String, Value>) -> Result<Vec<(String, Vec<String>)>, FeedbackError> {
    let empty = Map::new();
    let raw = match payload.get("critique_tags") {
        None => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(FeedbackError::invalid(
                "payload.critique_tags",
                "critique_rating feedback requires critique_tags to be a mapping",
            ))
        }
    };
    let mut out = Vec::new();
    for (id, tags) in raw {
        let field = format!("payload.critique_tags.{id}");
        let Some(tags) = tags.as_array() else {
            return Err(FeedbackError::invalid(
                field,
                "critique_rating feedback requires each candidate's tags to be a list",
            ));
        };
        let mut cleaned = Vec::new();
        for tag in tags {
            let text = match tag {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if text.trim().is_empty() {
                continue;
            }
            if !is_known(&text) {
                return Err(FeedbackError::invalid(
                    field,
                    format!(
                        "critique_rating feedback tag {text:?} for candidate {id} is not a known critique tag (valid: {})",
                        CRITIQUE_TAGS.join(", ")
                    ),
                ));
            }
            cleaned.push(text);
        }
        if !cleaned.is_empty() {
            out.push((id.clone(), cleaned));
        }
    }
    Ok(out)
}

fn normalize_approvals(
    payload: &Map<String, Value>,
    out: &mut NormalizedFeedback,
) -> Result<(), FeedbackError> {
    let empty = Map::new();
    let approvals = match payload.get("approvals") {
        None => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(FeedbackError::invalid(
                "payload.approvals",
                "approve_reject feedback requires approvals to be a mapping",
            ))
        }
    };
    if approvals.is_empty() {
        return Err(FeedbackError::invalid(
            "payload.approvals",
            "approve_reject feedback requires at least one approval decision",
        ));
    }
    let mut decisions = Vec::with_capacity(approvals.len());
    for (id, value) in approvals {
        let Some(approved) = value.as_bool() else {
            return Err(FeedbackError::invalid(
                format!("payload.approvals.{id}"),
                "approve_reject feedback requires boolean approval values",
            ));
        };
        decisions.push((id.clone(), approved));
    }
    let approved: Vec<String> = decisions
        .iter()
        .filter(|(_, a)| *a)
        .map(|(id, _)| id.clone())
        .collect();
    let rejected: Vec<String> = decisions
        .iter()
        .filter(|(_, a)| !*a)
        .map(|(id, _)| id.clone())
        .collect();
    let Some(first_approved) = approved.first().cloned() else {
        return Err(FeedbackError::invalid(
            "payload.approvals",
            "approve_reject feedback requires at least one approved candidate",
        ));
    };
    let winner = match payload.get("winner_candidate_id") {
        Some(value) if truthy(value) => value.as_str().map(str::to_string).ok_or_else(|| {
            FeedbackError::invalid(
                "payload.winner_candidate_id",
                "approve_reject feedback requires winner_candidate_id to be a string",
            )
        })?,
        _ => first_approved,
    };
    if !approved.contains(&winner) {
        return Err(FeedbackError::invalid(
            "payload.winner_candidate_id",
            "approve_reject winner_candidate_id must also be approved",
        ));
    }
    out.winner_candidate_id = winner;
    out.approved_candidate_ids = Some(approved);
    out.rejected_candidate_ids = Some(rejected);
    out.approvals = Some(decisions);
    Ok(())
}

fn parse_ranking(payload: &Map<String, Value>) -> Result<Vec<String>, FeedbackError> {
    let field = "payload.ranking";
    let ranking = match payload.get("ranking") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => {
            return Err(FeedbackError::invalid(
                field,
                "ranking feedback requires ranking to be a list",
            ))
        }
    };
    if ranking.is_empty() {
        return Err(FeedbackError::invalid(
            field,
            "ranking feedback requires a non-empty ranking list",
        ));
    }
    if ranking.len() < 2 {
        return Err(FeedbackError::invalid(
            field,
            "ranking feedback requires at least two ranked candidates",
        ));
    }
    let mut ids: Vec<String> = Vec::with_capacity(ranking.len());
    for item in &ranking {
        let Some(id) = item.as_str() else {
            return Err(FeedbackError::invalid(
                field,
                "ranking feedback requires candidate ids (strings) in ranking",
            ));
        };
        if ids.iter().any(|seen| seen == id) {
            return Err(FeedbackError::invalid(
                field,
                "ranking feedback requires unique candidate ids",
            ));
        }
        ids.push(id.to_string());
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn winner_is_top_rating_with_smallest_id_on_ties() {
        let out = normalize(
            FeedbackMode::ScalarRating,
            &json!({"ratings": {"b": 4, "a": 4, "c": 1}}),
        );
        assert_eq!(
            out.map(|n| n.winner_candidate_id).ok().as_deref(),
            Some("a")
        );
    }

    #[test]
    fn rejects_booleans_fractions_and_out_of_range_ratings() {
        for (payload, fragment) in [
            (json!({"ratings": {"a": true}}), "not booleans"),
            (
                json!({"ratings": {"a": 2.5}}),
                "integer ratings from 1 to 5",
            ),
            (json!({"ratings": {"a": 0}}), "integer ratings from 1 to 5"),
            (json!({"ratings": {"a": 6}}), "integer ratings from 1 to 5"),
        ] {
            let err = normalize(FeedbackMode::ScalarRating, &payload).unwrap_err();
            assert!(err.message.contains(fragment), "{}", err.message);
            assert_eq!(err.field, "payload.ratings.a");
        }
    }

    #[test]
    fn rejects_unknown_tags_naming_the_candidate() {
        let err = normalize(
            FeedbackMode::CritiqueRating,
            &json!({"ratings": {"a": 3}, "critique_tags": {"a": ["sparkly"]}}),
        )
        .unwrap_err();
        assert_eq!(err.field, "payload.critique_tags.a");
        assert!(err.message.contains("sparkly"));
        assert!(err.message.contains("good_color"));
    }

    #[test]
    fn approve_reject_defaults_to_first_approved_in_payload_order() {
        let out = normalize(
            FeedbackMode::ApproveReject,
            &json!({"approvals": {"c": false, "z": true, "a": true}}),
        );
        let out = out.ok();
        assert_eq!(
            out.as_ref().map(|n| n.winner_candidate_id.as_str()),
            Some("z")
        );
        assert_eq!(
            out.and_then(|n| n.rejected_candidate_ids),
            Some(vec!["c".to_string()])
        );
    }

    #[test]
    fn non_object_payload_and_non_string_ids_are_typed_errors() {
        let err = normalize(FeedbackMode::WinnerOnly, &json!([1])).unwrap_err();
        assert_eq!(err.field, "payload");
        let err =
            normalize(FeedbackMode::WinnerOnly, &json!({"winner_candidate_id": 5})).unwrap_err();
        assert!(err.message.contains("to be a string"));
        let err = normalize(FeedbackMode::TopK, &json!({"ranking": [{"a": 1}, "b"]})).unwrap_err();
        assert_eq!(err.field, "payload.ranking");
    }
}
