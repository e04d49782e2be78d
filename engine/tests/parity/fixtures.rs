//! Paths, fixture readers and comparison helpers shared by the parity tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use engine::runtime::{Engine, Precision};
use engine::stable_diffusion::weights::{read_f32_tensors, F32Tensor};
use engine::DeviceRequest;

/// `engine/models/<name>`.
pub fn model_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name)
}

/// `engine/tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// A JSON fixture.
pub fn json(relative: &str) -> serde_json::Value {
    let path = fixtures_dir().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture JSON")
}

/// A safetensors fixture as f32 tensors.
pub fn tensors(relative: &str) -> BTreeMap<String, F32Tensor> {
    read_f32_tensors(&fixtures_dir().join(relative)).expect("fixture tensors")
}

/// The engine for a tiny model on the CPU, loaded once per test binary.
pub fn engine(name: &str) -> &'static Engine {
    static SD1: OnceLock<Engine> = OnceLock::new();
    static SD2: OnceLock<Engine> = OnceLock::new();
    let cell = match name {
        "tiny-sd1" => &SD1,
        "tiny-sd2" => &SD2,
        other => panic!("no such tiny model {other}"),
    };
    cell.get_or_init(|| {
        Engine::load(&model_dir(name), DeviceRequest::Cpu, Precision::F32)
            .expect("tiny model loads")
    })
}

/// The reference tensors of a model, loaded once.
pub fn reference(name: &str) -> &'static BTreeMap<String, F32Tensor> {
    static SD1: OnceLock<BTreeMap<String, F32Tensor>> = OnceLock::new();
    static SD2: OnceLock<BTreeMap<String, F32Tensor>> = OnceLock::new();
    let cell = if name == "tiny-sd1" { &SD1 } else { &SD2 };
    cell.get_or_init(|| tensors(&format!("{name}/reference.safetensors")))
}

/// A reference tensor by key.
pub fn get<'a>(map: &'a BTreeMap<String, F32Tensor>, key: &str) -> &'a F32Tensor {
    map.get(key)
        .unwrap_or_else(|| panic!("fixture tensor {key} missing"))
}

/// Largest absolute difference; fails with context when above `tol`.
pub fn assert_close(what: &str, actual: &[f32], expected: &[f32], tol: f32) -> f32 {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    let mut worst = 0f32;
    let mut at = 0;
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let d = (a - e).abs();
        assert!(
            d.is_finite(),
            "{what}: non-finite value at {i} ({a} vs {e})"
        );
        if d > worst {
            worst = d;
            at = i;
        }
    }
    eprintln!("{what}: max |diff| {worst:.3e}");
    assert!(
        worst <= tol,
        "{what}: max |diff| {worst:e} at {at} (got {}, expected {}) exceeds {tol:e}",
        actual[at],
        expected[at]
    );
    worst
}

/// Converts an NHWC float [0, 1] image batch to bytes as diffusers' `numpy_to_pil` does.
pub fn to_bytes(nhwc: &[f32]) -> Vec<u8> {
    nhwc.iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
}
