//! Prompt dimensions, taste profiles and CPython rounding against the reference
//! (tests/golden/misc.json).

use crate::common::{assert_json_close, golden};
use stablesteering::steering::dimensions::extract_prompt_dimensions;
use stablesteering::steering::math::{py_round, py_round_int};
use stablesteering::steering::taste_profile::{compute_taste_profile, TasteRound};

#[test]
fn prompt_dimensions_match_reference() {
    let data = golden("misc");
    for case in data["prompt_dimensions"].as_array().expect("cases") {
        let prompt = case["prompt"].as_str().unwrap_or_default();
        let want: Vec<String> =
            serde_json::from_value(case["dimensions"].clone()).unwrap_or_default();
        assert_eq!(extract_prompt_dimensions(prompt), want, "{prompt:?}");
    }
}

#[test]
fn taste_profiles_match_reference() {
    let data = golden("misc");
    let cases = data["taste_profiles"].as_array().expect("cases");
    assert!(cases.len() >= 5);
    for (number, case) in cases.iter().enumerate() {
        let rounds: Vec<TasteRound> =
            serde_json::from_value(case["rounds"].clone()).unwrap_or_else(|e| panic!("{e}"));
        let profile = serde_json::to_value(compute_taste_profile(&rounds)).unwrap_or_default();
        assert_json_close(
            &profile,
            &case["profile"],
            1e-12,
            &format!("profile {number}"),
        );
    }
}

#[test]
fn rounding_matches_cpython() {
    let data = golden("misc");
    let cases = data["rounding"].as_array().expect("cases");
    assert!(cases.len() > 500);
    for case in cases {
        let x = case["x"].as_f64().unwrap_or(f64::NAN);
        for (key, digits) in [("r6", 6), ("r4", 4), ("r2", 2), ("r1", 1)] {
            let want = case[key].as_f64().unwrap_or(f64::NAN);
            assert_eq!(py_round(x, digits), want, "round({x}, {digits})");
        }
        assert_eq!(
            py_round_int(x),
            case["r0"].as_f64().unwrap_or(f64::NAN),
            "round({x})"
        );
    }
}
