//! Steering bases through the runner on the tiny test model (`engine/models/tiny-sd1`):
//! `Runner::compute_basis` is deterministic and gives orthogonal axes of length `scale`; a
//! snapshot with a semantic basis renders z = 0 exactly like the unsteered prompt and z = e1
//! differently (and differently from the sinusoidal operator); a snapshot whose recipe hash,
//! z length or clip skip does not fit is refused with `field = "basis"`; computing a basis is
//! not a render.

use std::sync::atomic::AtomicBool;

use engine::image::RgbImage;
use stablesteering::artifacts::ArtifactStore;
use stablesteering::runner::{BasisRef, RenderKind, RunError, Runner, Snapshot, SnapshotCandidate};
use stablesteering::steering::basis::{BasisRecipe, ComputedBasis};
use stablesteering::steering::kinds::BasisKind;
use uuid::Uuid;

const PROMPT: &str = "a red fox in the snow";

/// A runner on the tiny model with its own temporary artifact store.
fn runner() -> (Runner, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = engine::runtime::Engine::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/models/tiny-sd1"),
        engine::DeviceRequest::Cpu,
        Default::default(),
    )
    .expect("tiny model");
    (Runner::new(engine, ArtifactStore::new(dir.path())), dir)
}

fn session_recipe(kind: BasisKind) -> BasisRecipe {
    BasisRecipe::for_session(kind, PROMPT, 4, 11, &[])
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

fn assert_orthogonal_with_norm_scale(basis: &ComputedBasis) {
    let s2 = basis.summary.scale * basis.summary.scale;
    for (i, a) in basis.axes.iter().enumerate() {
        assert_eq!(a.len(), basis.seq_len * basis.hidden);
        for (k, b) in basis.axes.iter().enumerate() {
            let want = if i == k { s2 } else { 0.0 };
            let got = dot(a, b);
            assert!(
                (got - want).abs() < 1e-5 * s2,
                "⟨B{i},B{k}⟩ = {got}, want {want}"
            );
        }
    }
}

/// One image of `z` (None = unsteered) with `basis`, as decoded pixels.
fn render(
    runner: &Runner,
    basis: Option<BasisRef>,
    mode: Option<&str>,
    z: Option<Vec<f64>>,
) -> Result<RgbImage, RunError> {
    let snapshot = snapshot(runner, basis, mode, z, 0);
    let out = runner.run(
        Uuid::now_v7(),
        &snapshot,
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    let png = runner
        .artifacts()
        .get(&out.images[0].artifact_hash)
        .expect("stored image");
    Ok(RgbImage::from_png(&png).expect("png").0)
}

fn snapshot(
    runner: &Runner,
    basis: Option<BasisRef>,
    mode: Option<&str>,
    z: Option<Vec<f64>>,
    clip_skip: usize,
) -> Snapshot {
    let mut s = runner.base_settings(RenderKind::Cli);
    s.prompt = PROMPT.into();
    s.steps = 2;
    s.width = 64;
    s.height = 64;
    s.clip_skip = clip_skip;
    s.steering_mode = mode.map(str::to_string);
    s.anchor_strength = 0.7;
    s.candidates = vec![SnapshotCandidate {
        candidate_id: None,
        seed: 42,
        z,
        init_latents: None,
    }];
    s.basis = basis;
    Snapshot::seal(s)
}

#[test]
fn a_semantic_basis_is_deterministic_orthogonal_and_not_a_render() {
    let (first, _d1) = runner();
    let (second, _d2) = runner();
    let recipe = session_recipe(BasisKind::Semantic);
    let a = first.compute_basis(&recipe).expect("basis");
    let b = second.compute_basis(&recipe).expect("basis");
    assert_eq!(*a, *b, "two computations give bit-identical bases");
    assert_eq!(a.summary.canonical_json(), b.summary.canonical_json());
    assert_eq!(a.summary.recipe_hash, recipe.hash());
    assert_eq!(a.dimension(), 4);
    assert_eq!(a.seq_len, 77);
    assert_eq!(a.hidden, first.model().hidden_size);
    assert!(a.summary.scale > 0.0);
    assert_orthogonal_with_norm_scale(&a);
    let mut labels = a.summary.labels.clone();
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), 4, "unique labels: {:?}", a.summary.labels);
    assert_eq!(a.summary.modifiers.len(), recipe.modifiers.len());
    // The second request is served from the cache; neither is a render.
    let again = first.compute_basis(&recipe).expect("basis");
    assert!(std::sync::Arc::ptr_eq(&a, &again));
    assert_eq!(first.cached_bases(), vec![recipe.hash()]);
    assert_eq!(first.total_invocations(), 0);
    // The random control has the same scale and orthogonal axes, and is deterministic.
    let control = session_recipe(BasisKind::RandomOrthonormal);
    let r1 = first.compute_basis(&control).expect("random basis");
    let r2 = second.compute_basis(&control).expect("random basis");
    assert_eq!(*r1, *r2);
    assert_eq!(r1.summary.scale, a.summary.scale);
    assert_eq!(
        r1.summary.labels,
        ["random 1", "random 2", "random 3", "random 4"]
    );
    assert_orthogonal_with_norm_scale(&r1);
    // The sinusoidal basis is the engine's own operator: nothing to compute.
    assert!(matches!(
        first.compute_basis(&session_recipe(BasisKind::Sinusoidal)),
        Err(RunError::Invalid { field, .. }) if field == "basis"
    ));
}

#[test]
fn a_semantic_basis_steers_renders() {
    let (runner, _dir) = runner();
    let basis = BasisRef::new(session_recipe(BasisKind::Semantic));
    let mode = Some("low_dimensional");
    let plain = render(&runner, None, None, None).expect("unsteered");
    let zero = render(&runner, Some(basis.clone()), mode, Some(vec![0.0; 4])).expect("z = 0");
    assert_eq!(zero.pixels, plain.pixels, "z = 0 is the unsteered image");
    let e1 = vec![1.0, 0.0, 0.0, 0.0];
    let moved = render(&runner, Some(basis.clone()), mode, Some(e1.clone())).expect("z = e1");
    assert_ne!(moved.pixels, plain.pixels, "z = e1 moves the image");
    let sinusoidal = render(&runner, None, mode, Some(e1.clone())).expect("sinusoidal");
    assert_ne!(
        moved.pixels, sinusoidal.pixels,
        "the semantic basis is not the sinusoidal one"
    );
    // A sinusoidal basis in the snapshot is today's behaviour.
    let explicit = BasisRef::new(session_recipe(BasisKind::Sinusoidal));
    let same = render(&runner, Some(explicit), mode, Some(e1)).expect("sinusoidal basis");
    assert_eq!(same.pixels, sinusoidal.pixels);
    assert_eq!(runner.total_invocations(), 5);
}

#[test]
fn snapshots_whose_basis_does_not_fit_are_refused() {
    let (runner, _dir) = runner();
    let good = BasisRef::new(session_recipe(BasisKind::Semantic));
    let mode = Some("low_dimensional");
    let refused = |snapshot: &Snapshot, why: &str| {
        for result in [
            runner.check(snapshot),
            runner
                .run(
                    Uuid::now_v7(),
                    snapshot,
                    &mut |_| {},
                    &AtomicBool::new(false),
                )
                .map(|_| ()),
        ] {
            match result {
                Err(RunError::Invalid { field, message }) => {
                    assert_eq!(field, "basis", "{why}: {message}");
                    assert!(message.contains(why), "{message} should mention {why}");
                }
                other => panic!("{why}: expected a refusal, got {other:?}"),
            }
        }
    };
    let mut wrong_hash = good.clone();
    wrong_hash.recipe_hash = "0".repeat(64);
    refused(
        &snapshot(&runner, Some(wrong_hash), mode, Some(vec![0.1; 4]), 0),
        "hash mismatch",
    );
    let mut edited = good.clone();
    edited.recipe.prompt = "a blue fox".into();
    refused(
        &snapshot(&runner, Some(edited), mode, Some(vec![0.1; 4]), 0),
        "hash mismatch",
    );
    refused(
        &snapshot(&runner, Some(good.clone()), mode, Some(vec![0.1; 3]), 0),
        "length 3",
    );
    refused(
        &snapshot(&runner, Some(good.clone()), mode, Some(vec![0.1; 4]), 1),
        "clip_skip",
    );
    assert!(runner
        .check(&snapshot(&runner, Some(good), mode, Some(vec![0.1; 4]), 0))
        .is_ok());
}
