//! Every sampler against outputs of the reference Python implementation (tests/golden/samplers.json).

use crate::common::{assert_close, assert_json_close, floats, golden};
use stablesteering::steering::samplers::{propose, SamplerInput, SamplerKind};

#[test]
fn all_samplers_match_reference_outputs() {
    let data = golden("samplers");
    let cases = data["cases"].as_array().expect("cases");
    assert!(cases.len() >= 13 * 10, "too few cases: {}", cases.len());
    let mut checked = 0;
    for (number, case) in cases.iter().enumerate() {
        let kind = SamplerKind::parse(case["sampler"].as_str().unwrap_or_default())
            .unwrap_or_else(|| panic!("unknown sampler in case {number}"));
        let z = floats(&case["current_z"]);
        let input = SamplerInput {
            current_z: &z,
            current_round: case["current_round"].as_u64().unwrap_or_default() as u32,
            candidate_count: case["candidate_count"].as_u64().unwrap_or_default() as usize,
            trust_radius: case["trust_radius"].as_f64().unwrap_or_default(),
        };
        let seed = case["seed"].as_u64().unwrap_or_default();
        let context = format!(
            "case {number} ({kind}, d={}, n={})",
            z.len(),
            input.candidate_count
        );
        let got = propose(kind, &input, seed).unwrap_or_else(|e| panic!("{context}: {e}"));
        let want = case["proposals"]
            .as_array()
            .expect("the reference did not crash here");
        assert_eq!(got.len(), want.len(), "{context}: count");
        for (slot, (g, w)) in got.iter().zip(want).enumerate() {
            let ctx = format!("{context} slot {slot}");
            assert_eq!(
                g.role,
                w["role"].as_str().unwrap_or_default(),
                "{ctx}: role"
            );
            assert_close(&g.z, &floats(&w["z"]), 1e-9, &ctx);
            assert_close(
                &[g.predicted_score, g.predicted_uncertainty],
                &[
                    w["predicted_score"].as_f64().unwrap_or(f64::NAN),
                    w["predicted_uncertainty"].as_f64().unwrap_or(f64::NAN),
                ],
                1e-9,
                &format!("{ctx} placeholders"),
            );
            let diagnostics = serde_json::Value::Object(g.diagnostics.clone());
            assert_json_close(
                &diagnostics,
                &w["diagnostics"],
                1e-9,
                &format!("{ctx} diagnostics"),
            );
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} proposals checked");
}
