//! The steering operator against the reference `_steering_offset` (run on a float64 numpy-backed
//! torch shim and cross-checked with an independent numpy implementation of the formulas):
//! tests/golden/steering_offset.json.

mod common;

use common::{assert_close, floats, golden};
use engine::steering_offset::{
    content_mask, hidden_basis, steering_offset, steering_offset_f64, OffsetInput, OffsetMode,
    TokenInputs,
};

#[test]
fn offsets_match_reference_for_every_mode() {
    let data = golden("steering_offset");
    let cases = data["cases"].as_array().expect("cases");
    let mut modes = std::collections::BTreeSet::new();
    for (number, case) in cases.iter().enumerate() {
        let mode = OffsetMode::parse(case["mode"].as_str().unwrap_or_default()).expect("mode");
        modes.insert(format!("{mode:?}"));
        let ids: Vec<i64> = serde_json::from_value(case["token_ids"].clone()).unwrap_or_default();
        let attention = floats(&case["attention_mask"]);
        let tokens = TokenInputs {
            token_ids: &ids,
            attention_mask: &attention,
            bos_token_id: case["bos_token_id"].as_i64(),
            eos_token_id: case["eos_token_id"].as_i64(),
            pad_token_id: case["pad_token_id"].as_i64(),
        };
        let mask = content_mask(&tokens).unwrap_or_else(|e| panic!("{e}"));
        let context = format!("case {number} ({mode:?})");
        assert_close(
            &mask,
            &floats(&case["content_mask"]),
            0.0,
            &format!("{context} mask"),
        );
        let z = floats(&case["z"]);
        let input = OffsetInput {
            mode,
            z: &z,
            anchor_strength: case["anchor_strength"].as_f64().unwrap_or_default(),
            seq_len: case["seq_len"].as_u64().unwrap_or_default() as usize,
            hidden: case["hidden"].as_u64().unwrap_or_default() as usize,
            content_mask: Some(&mask),
        };
        let want = floats(&case["offset"]);
        let got = steering_offset_f64(&input).unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_close(&got, &want, 1e-12, &context);
        let got32: Vec<f64> = steering_offset(&input)
            .unwrap_or_default()
            .into_iter()
            .map(f64::from)
            .collect();
        assert_close(&got32, &want, 1e-6, &format!("{context} f32"));
    }
    assert_eq!(modes.len(), 4);
}

#[test]
fn basis_gram_matches_reference() {
    let data = golden("steering_offset");
    let gram = data["gram5_h768"].as_array().expect("gram");
    let basis: Vec<Vec<f64>> = (0..5).map(|i| hidden_basis(768, i)).collect();
    for (i, row) in gram.iter().enumerate() {
        let got: Vec<f64> = (0..5)
            .map(|j| basis[i].iter().zip(&basis[j]).map(|(a, b)| a * b).sum())
            .collect();
        assert_close(&got, &floats(row), 1e-12, &format!("gram row {i}"));
    }
    assert_close(
        &basis[0][..8],
        &floats(&data["basis_h768_axis0_first8"]),
        1e-15,
        "axis 0",
    );
}
