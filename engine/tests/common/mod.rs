//! Helpers shared by the golden-value integration tests.
#![allow(dead_code)]

use serde_json::Value;

/// Loads `tests/golden/<name>.json`.
pub fn golden(name: &str) -> Value {
    let path = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `Vec<f64>` out of a JSON array of numbers.
pub fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")))
        .collect()
}

/// Asserts two float slices agree elementwise within `tol`.
pub fn assert_close(got: &[f64], want: &[f64], tol: f64, context: &str) {
    assert_eq!(
        got.len(),
        want.len(),
        "{context}: length {got:?} vs {want:?}"
    );
    for (index, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol,
            "{context}[{index}]: {g} vs {w} (got {got:?}, want {want:?})"
        );
    }
}
