//! Feedback normalization against the reference (tests/golden/feedback_normalization.json):
//! the same normalized payloads and the same error messages, except for the inputs the port
//! rejects on purpose (boolean, fractional or out-of-range ratings; unknown critique tags).

use crate::common::golden;
use serde_json::Value;
use stablesteering::steering::feedback::{normalize, FeedbackMode};

fn stricter_than_reference(payload: &Value) -> bool {
    let bad_rating = payload["ratings"].as_object().is_some_and(|ratings| {
        ratings
            .values()
            .any(|v| v.is_boolean() || v.as_i64().is_none_or(|r| !(1..=5).contains(&r)))
    });
    let bad_tag = payload["critique_tags"].as_object().is_some_and(|tags| {
        tags.values()
            .flat_map(|t| t.as_array().cloned().unwrap_or_default())
            .any(|t| {
                t.as_str().is_some_and(|s| {
                    !s.trim().is_empty()
                        && !s.starts_with("good_")
                        && !s.starts_with("too_")
                        && !s.starts_with("wrong_")
                })
            })
    });
    bad_rating || bad_tag
}

#[test]
fn normalization_matches_reference() {
    let data = golden("feedback_normalization");
    let cases = data["cases"].as_array().expect("cases");
    let (mut same_error, mut same_payload, mut stricter) = (0, 0, 0);
    for (number, case) in cases.iter().enumerate() {
        let mode =
            FeedbackMode::parse(case["feedback_type"].as_str().unwrap_or_default()).expect("mode");
        let got = normalize(mode, &case["payload"]);
        let context = format!(
            "case {number}: {} {}",
            case["feedback_type"], case["payload"]
        );
        if let Some(message) = case["reference_error"].as_str() {
            let err = got.expect_err(&context);
            assert_eq!(err.message, message, "{context}");
            assert!(
                err.field.starts_with("payload"),
                "{context}: field {}",
                err.field
            );
            same_error += 1;
        } else if stricter_than_reference(&case["payload"]) {
            let err = got.expect_err(&context);
            assert!(
                err.field.starts_with("payload.ratings.")
                    || err.field.starts_with("payload.critique_tags."),
                "{context}"
            );
            stricter += 1;
        } else {
            let got = got.unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(got.to_json(), case["normalized"], "{context}");
            same_payload += 1;
        }
    }
    assert!(
        same_error >= 20 && same_payload >= 10 && stricter >= 4,
        "{same_error} {same_payload} {stricter}"
    );
}
