//! Unit tests of the basis on small synthetic embeddings whose answer is known.

use super::compute::dot;
use super::*;

const SEQ: usize = 2;
const HIDDEN: usize = 4;
const N: usize = SEQ * HIDDEN;

fn recipe(kind: BasisKind, texts: &[&str], dimension: u32) -> BasisRecipe {
    BasisRecipe {
        version: RECIPE_VERSION,
        kind,
        prompt: "p".into(),
        modifiers: texts
            .iter()
            .map(|t| Modifier {
                text: t.to_string(),
                source: SOURCE_CRITIQUE.into(),
            })
            .collect(),
        dimension,
        seed: 5,
    }
}

/// A prompt embedding with exactly representable values, so `E(variant) − E(prompt)` is exact.
fn prompt() -> Vec<f32> {
    (0..N).map(|k| k as f32 * 0.25 - 1.0).collect()
}

/// Variant embeddings `prompt + Δ_j` for sparse `Δ_j` given as `(index, value)` pairs.
fn variants(deltas: &[&[(usize, f32)]]) -> Vec<Vec<f32>> {
    deltas
        .iter()
        .map(|delta| {
            let mut v = prompt();
            for (i, x) in delta.iter() {
                v[*i] += x;
            }
            v
        })
        .collect()
}

fn build(r: &BasisRecipe, deltas: &[&[(usize, f32)]]) -> Result<ComputedBasis, BasisError> {
    build_basis(r, &prompt(), &variants(deltas), SEQ, HIDDEN)
}

fn units(b: &ComputedBasis) -> Vec<Vec<f64>> {
    let s = b.summary.scale;
    b.axes
        .iter()
        .map(|a| a.iter().map(|v| f64::from(*v) / s).collect())
        .collect()
}

fn assert_orthonormal(b: &ComputedBasis) {
    let u = units(b);
    for i in 0..u.len() {
        for k in 0..u.len() {
            let want = if i == k { 1.0 } else { 0.0 };
            let got = dot(&u[i], &u[k]);
            assert!((got - want).abs() < 1e-6, "⟨u{i},u{k}⟩ = {got}");
        }
    }
}

/// A dense, deterministic example: 7 modifiers in 8 dimensions.
fn dense() -> (BasisRecipe, Vec<Vec<f32>>) {
    let texts = ["a", "b", "c", "d", "e", "f", "g"];
    let r = recipe(BasisKind::Semantic, &texts, 4);
    let mods = (0..texts.len())
        .map(|j| {
            prompt()
                .iter()
                .enumerate()
                .map(|(i, p)| p + ((i * 7 + j * 3) % 11) as f32 * 0.125 - 0.5)
                .collect()
        })
        .collect();
    (r, mods)
}

#[test]
fn axes_are_orthogonal_with_the_median_scale() {
    let (r, mods) = dense();
    let b = build_basis(&r, &prompt(), &mods, SEQ, HIDDEN).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.dimension(), 4);
    assert!(b.axes.iter().all(|a| a.len() == N));
    assert_orthonormal(&b);
    let mut norms: Vec<f64> = mods
        .iter()
        .map(|m| {
            let d: Vec<f64> = m
                .iter()
                .zip(prompt())
                .map(|(v, p)| f64::from(v - p))
                .collect();
            dot(&d, &d).sqrt()
        })
        .collect();
    norms.sort_by(f64::total_cmp);
    assert_eq!(b.summary.scale, norms[3]);
    assert_eq!(b.summary.recipe_hash, r.hash());
}

#[test]
fn labels_name_the_strongest_free_modifier_and_orient_toward_it() {
    // Δ: warm = 3e0, warm (again) = 2e1, soft = −e1, cool = ½e2, flat = 0.
    let r = recipe(
        BasisKind::Semantic,
        &["warm", "warm", "soft", "cool", "flat"],
        3,
    );
    let b = build(
        &r,
        &[&[(0, 3.0)], &[(1, 2.0)], &[(1, -1.0)], &[(2, 0.5)], &[]],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // λ = 9 (e0), 5 (e1), ¼ (e2). Axis 1's best modifier ("warm", index 1) is taken, so the
    // next best ("soft") labels it and the axis points toward soft, i.e. −e1.
    assert_eq!(b.summary.labels, vec!["warm", "soft", "cool"]);
    let u = units(&b);
    assert!((u[0][0] - 1.0).abs() < 1e-6);
    assert!((u[1][1] + 1.0).abs() < 1e-6);
    assert!((u[2][2] - 1.0).abs() < 1e-6);
    // Scale: median of the positive norms {3, 2, 1, ½} = 1.5.
    assert_eq!(b.summary.scale, 1.5);
    let soft = &b.summary.modifiers[2];
    assert!((soft.coords[1] - 1.0 / 1.5).abs() < 1e-6);
    assert!((soft.captured - 1.0).abs() < 1e-9);
    let flat = &b.summary.modifiers[4];
    assert_eq!(flat.captured, 0.0);
    assert!(flat.coords.iter().all(|c| *c == 0.0));
}

#[test]
fn coordinates_reconstruct_the_projection() {
    let (r, mods) = dense();
    let b = build_basis(&r, &prompt(), &mods, SEQ, HIDDEN).unwrap_or_else(|e| panic!("{e}"));
    let u = units(&b);
    let s = b.summary.scale;
    for (j, m) in mods.iter().enumerate() {
        let delta: Vec<f64> = m
            .iter()
            .zip(prompt())
            .map(|(v, p)| f64::from(v - p))
            .collect();
        let coords = &b.summary.modifiers[j].coords;
        // Σ_i coords_i B_i is the orthogonal projection of Δ_j onto the basis.
        let mut projection = vec![0.0; N];
        for (c, axis) in coords.iter().zip(&b.axes) {
            for (slot, a) in projection.iter_mut().zip(axis) {
                *slot += c * f64::from(*a);
            }
        }
        let residual: Vec<f64> = delta.iter().zip(&projection).map(|(d, p)| d - p).collect();
        for ui in &u {
            assert!(dot(&residual, ui).abs() < 1e-5 * s, "modifier {j}");
        }
        let captured = dot(&projection, &projection) / dot(&delta, &delta);
        assert!((captured - b.summary.modifiers[j].captured).abs() < 1e-5);
        assert!((0.0..=1.0).contains(&b.summary.modifiers[j].captured));
    }
}

#[test]
fn same_inputs_give_bit_identical_outputs() {
    let (r, mods) = dense();
    let a = build_basis(&r, &prompt(), &mods, SEQ, HIDDEN).unwrap_or_else(|e| panic!("{e}"));
    let b = build_basis(&r, &prompt(), &mods, SEQ, HIDDEN).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a, b);
    assert_eq!(a.summary.canonical_json(), b.summary.canonical_json());
    let bits =
        |x: &ComputedBasis| -> Vec<u32> { x.axes.concat().iter().map(|v| v.to_bits()).collect() };
    assert_eq!(bits(&a), bits(&b));
}

#[test]
fn a_short_semantic_basis_is_completed_with_seeded_random_axes() {
    let r = recipe(BasisKind::Semantic, &["x", "y", "z"], 5);
    let deltas: [&[(usize, f32)]; 3] = [&[(0, 2.0)], &[(3, 1.0)], &[(0, 4.0)]];
    let b = build(&r, &deltas).unwrap_or_else(|e| panic!("{e}"));
    // Two usable directions (e0, where x and z tie and the lower index wins, and e3), three
    // completions.
    assert_eq!(
        b.summary.labels,
        vec!["x", "y", "axis 3", "axis 4", "axis 5"]
    );
    assert_orthonormal(&b);
    assert_eq!(b, build(&r, &deltas).unwrap_or_else(|e| panic!("{e}")));
}

#[test]
fn random_orthonormal_is_deterministic_per_seed() {
    let (mut r, mods) = dense();
    r.kind = BasisKind::RandomOrthonormal;
    r.dimension = 6;
    let a = build_basis(&r, &prompt(), &mods, SEQ, HIDDEN).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.summary.labels,
        ["random 1", "random 2", "random 3", "random 4", "random 5", "random 6"]
    );
    assert_orthonormal(&a);
    let semantic = dense();
    let s = build_basis(&semantic.0, &prompt(), &semantic.1, SEQ, HIDDEN)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.summary.scale, s.summary.scale);
    assert_eq!(
        a,
        build_basis(&r, &prompt(), &mods, SEQ, HIDDEN).unwrap_or_else(|e| panic!("{e}"))
    );
    r.seed += 1;
    let c = build_basis(&r, &prompt(), &mods, SEQ, HIDDEN).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(a.axes, c.axes);
}

#[test]
fn offset_is_linear_in_z() {
    let (r, mods) = dense();
    let b = build_basis(&r, &prompt(), &mods, SEQ, HIDDEN).unwrap_or_else(|e| panic!("{e}"));
    let offset = |z: &[f64], a: f64| b.offset(z, a).unwrap_or_else(|e| panic!("{e}"));
    assert!(offset(&[0.0; 4], 0.7).iter().all(|v| *v == 0.0));
    let z1 = [0.3, -0.2, 0.1, 0.5];
    let z2 = [-0.1, 0.4, 0.0, 0.2];
    let sum: Vec<f64> = z1.iter().zip(&z2).map(|(a, b)| a + b).collect();
    let (o1, o2, o12) = (offset(&z1, 0.7), offset(&z2, 0.7), offset(&sum, 0.7));
    for k in 0..N {
        assert!((o12[k] - (o1[k] + o2[k])).abs() < 1e-5);
    }
    let double = offset(&z1, 1.4);
    for k in 0..N {
        assert!((double[k] - 2.0 * o1[k]).abs() < 1e-5);
    }
    // One unit along axis 0 moves by exactly the axis (times the anchor strength).
    let e0 = offset(&[1.0, 0.0, 0.0, 0.0], 1.0);
    assert_eq!(e0, b.axes[0]);
}

#[test]
fn typed_errors_for_bad_inputs() {
    let (r, mods) = dense();
    let p = prompt();
    assert!(matches!(
        build_basis(&r, &p, &mods[..3], SEQ, HIDDEN),
        Err(BasisError::Length { .. })
    ));
    assert!(matches!(
        build_basis(&r, &p[..5], &mods, SEQ, HIDDEN),
        Err(BasisError::Length { what, .. }) if what == "prompt"
    ));
    let mut nan = mods.clone();
    nan[2][1] = f32::NAN;
    assert!(matches!(
        build_basis(&r, &p, &nan, SEQ, HIDDEN),
        Err(BasisError::NonFinite(what)) if what == "modifiers[2]"
    ));
    assert!(matches!(
        build_basis(&r, &p, &mods, 0, HIDDEN),
        Err(BasisError::BadShape { .. })
    ));
    let mut sinusoidal = r.clone();
    sinusoidal.kind = BasisKind::Sinusoidal;
    assert_eq!(
        build_basis(&sinusoidal, &p, &mods, SEQ, HIDDEN),
        Err(BasisError::Sinusoidal)
    );
    let same = vec![p.clone(); mods.len()];
    assert_eq!(
        build_basis(&r, &p, &same, SEQ, HIDDEN),
        Err(BasisError::NoModifierEffect)
    );
    let mut bad = r.clone();
    bad.dimension = 0;
    assert!(matches!(
        build_basis(&bad, &p, &mods, SEQ, HIDDEN),
        Err(BasisError::Recipe(_))
    ));
    let b = build_basis(&r, &p, &mods, SEQ, HIDDEN).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        b.offset(&[0.1; 3], 0.7),
        Err(BasisError::Length { .. })
    ));
    assert!(matches!(
        b.offset(&[0.1, f64::NAN, 0.0, 0.0], 0.7),
        Err(BasisError::NonFinite(_))
    ));
    assert!(matches!(
        b.offset(&[0.1; 4], f64::INFINITY),
        Err(BasisError::NonFinite(_))
    ));
}

#[test]
fn tag_directions_point_at_their_fixing_modifier() {
    let r = recipe(BasisKind::Semantic, &[BRIGHT, DARK, "other"], 2);
    let b = build(&r, &[&[(0, 2.0)], &[(0, -1.5)], &[(5, 1.0)]]).unwrap_or_else(|e| panic!("{e}"));
    let up = b.summary.tag_direction("too_dark").unwrap_or_default();
    let down = b.summary.tag_direction("too_bright").unwrap_or_default();
    assert_eq!(up.len(), 2);
    assert!((dot(&up, &up) - 1.0).abs() < 1e-12);
    assert!((dot(&up, &down) + 1.0).abs() < 1e-9, "{up:?} vs {down:?}");
    assert_eq!(b.summary.tag_direction("too_busy"), None);
    assert_eq!(b.summary.tag_direction("wrong_style"), None);
}

#[test]
fn a_session_recipe_builds_on_realistic_shapes() {
    let r = BasisRecipe::for_session(BasisKind::Semantic, "a red fox in the snow", 8, 3, &[]);
    let (seq, hidden) = (7, 16);
    let p: Vec<f32> = (0..seq * hidden).map(|k| (k % 13) as f32 * 0.1).collect();
    let mods: Vec<Vec<f32>> = (0..r.modifiers.len())
        .map(|j| {
            p.iter()
                .enumerate()
                .map(|(i, v)| {
                    if i >= hidden * 3 {
                        v + ((i * (j + 2)) % 17) as f32 * 0.01
                    } else {
                        *v
                    }
                })
                .collect()
        })
        .collect();
    let b = build_basis(&r, &p, &mods, seq, hidden).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.summary.labels.len(), 8);
    let mut labels = b.summary.labels.clone();
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), 8, "labels are unique: {:?}", b.summary.labels);
    assert_orthonormal(&b);
    let json = b.summary.canonical_json();
    let back: BasisSummary = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, b.summary);
}
