//! Every updater × feedback mode against the reference Python implementation
//! (tests/golden/updaters.json): normalization, next z (to 1e-6) and the update summary.

use crate::common::{assert_close, assert_json_close, floats, golden};
use stablesteering::steering::feedback::{normalize, FeedbackMode};
use stablesteering::steering::updaters::{update, UpdateCandidate, UpdaterKind};

#[test]
fn all_updaters_match_reference_outputs() {
    let data = golden("updaters");
    let cases = data["cases"].as_array().expect("cases");
    let mut checked = 0;
    let mut modes_seen = std::collections::BTreeSet::new();
    for (number, case) in cases.iter().enumerate() {
        let mode_name = case["feedback"]["feedback_type"]
            .as_str()
            .unwrap_or_default();
        let mode = FeedbackMode::parse(mode_name).expect("mode");
        modes_seen.insert(mode_name.to_string());
        let context = format!("case {number} ({} / {mode})", case["scenario"]);
        let normalized = normalize(mode, &case["feedback"]["payload"])
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(
            normalized.to_json(),
            case["normalized"],
            "{context}: normalized payload"
        );
        let candidates: Vec<UpdateCandidate> =
            serde_json::from_value(case["candidates"].clone()).expect("candidates");
        let z = floats(&case["current_z"]);
        let radius = case["trust_radius"].as_f64().unwrap_or_default();
        let results = case["results"].as_object().expect("results");
        assert_eq!(results.len(), 12);
        for (name, want) in results {
            let kind = UpdaterKind::parse(name).expect("updater");
            let ctx = format!("{context} {name}");
            let got = update(kind, &z, radius, &candidates, &normalized)
                .unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_close(&got.next_z, &floats(&want["next_z"]), 1e-6, &ctx);
            let summary = serde_json::Value::Object(got.summary.clone());
            assert_json_close(&summary, &want["summary"], 1e-9, &format!("{ctx} summary"));
            checked += 1;
        }
    }
    assert_eq!(modes_seen.len(), 6, "every feedback mode is covered");
    assert!(checked >= 12 * 60, "only {checked} updates checked");
}
