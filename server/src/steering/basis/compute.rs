//! Building a basis from embeddings: the modifier differences Δ_j = E(variant_j) − E(prompt),
//! their Gram matrix's eigen-decomposition (nalgebra, f64), the top-d directions, their
//! orientation and labels, the scale, and each modifier's coordinates. Random directions
//! (the control, and the completion of a short semantic basis) are drawn from CPython's MT19937
//! seeded from the recipe; a normal draw is the sum of 12 uniforms minus 6 (Irwin–Hall), which
//! uses only additions, so the directions are bit-identical on every IEEE-754 machine.

use nalgebra::{DMatrix, SymmetricEigen};

use super::{BasisError, BasisRecipe, BasisSummary, ComputedBasis, ModifierCoords, MAX_ELEMENTS};
use crate::steering::kinds::BasisKind;
use crate::steering::rng::PyRandom;

/// Eigenvalues at most this fraction of the largest carry no usable direction.
const RELATIVE_EIGEN_FLOOR: f64 = 1e-9;
/// Iterations allowed to the symmetric eigen-solver before it counts as not converging.
const MAX_EIGEN_ITERATIONS: usize = 10_000;
/// What is left of a direction after removing its projections on the previous axes must be at
/// least this fraction of it, or the direction is not independent.
const INDEPENDENCE_FLOOR: f64 = 1e-3;
/// RNG stream of the random orthonormal control.
const STREAM_RANDOM: u128 = 1;
/// RNG stream of the directions that complete a short semantic basis.
const STREAM_COMPLETION: u128 = 2;
/// Draws per random direction before giving up (only bounds the loop: a draw in the span of
/// at most 15 other directions essentially never happens).
const MAX_DRAWS: usize = 16;

/// Builds the basis `recipe` describes from the prompt's embedding and each modifier's
/// variant embedding (`recipe.modifiers` order), all `seq_len · hidden` values.
///
/// Semantic: the top-`d` eigen-directions of the Δ Gram matrix (descending eigenvalue, ties by
/// index) as unit vectors `u_i = Σ_j V_ji Δ_j / √λ_i`, re-orthogonalised in that order. Axis i is
/// labelled with the modifier of largest `|⟨Δ_j,u_i⟩| / ‖Δ_j‖` whose text is not yet a label
/// (ties by index) and oriented so that this modifier loads positively (so +z_i moves toward
/// its label). Eigenvalues `≤ 1e-9 · λ_max` are unusable; missing axes are seeded random
/// directions orthogonal to the others, labelled `axis k`. Random orthonormal: `d` seeded random
/// directions, labelled `random k`. Both are scaled by `s = median ‖Δ_j‖` over the modifiers
/// that change the embedding. Sinusoidal: [`BasisError::Sinusoidal`] (the engine computes that
/// basis from z itself; callers do not build it).
pub fn build_basis(
    recipe: &BasisRecipe,
    prompt: &[f32],
    modifiers: &[Vec<f32>],
    seq_len: usize,
    hidden: usize,
) -> Result<ComputedBasis, BasisError> {
    if recipe.kind == BasisKind::Sinusoidal {
        return Err(BasisError::Sinusoidal);
    }
    recipe.validate()?;
    let n = check_inputs(recipe, prompt, modifiers, seq_len, hidden)?;
    let deltas: Vec<Vec<f64>> = modifiers
        .iter()
        .map(|m| {
            m.iter()
                .zip(prompt)
                .map(|(v, p)| f64::from(*v) - f64::from(*p))
                .collect()
        })
        .collect();
    let norms: Vec<f64> = deltas.iter().map(|d| dot(d, d).sqrt()).collect();
    if norms.iter().any(|v| !v.is_finite()) {
        return Err(BasisError::Numerical(
            "a difference norm is not finite".into(),
        ));
    }
    let scale = median_positive(&norms).ok_or(BasisError::NoModifierEffect)?;
    let d = recipe.dimension as usize;
    let (units, labels) = if recipe.kind == BasisKind::RandomOrthonormal {
        let units = random_directions(n, d, recipe.seed, STREAM_RANDOM, &[])?;
        (units, (1..=d).map(|k| format!("random {k}")).collect())
    } else {
        semantic_axes(recipe, &deltas, &norms, n)?
    };
    let summary = summarize(recipe, &deltas, &norms, &units, labels, scale);
    let axes = units
        .iter()
        .map(|u| u.iter().map(|v| (scale * v) as f32).collect())
        .collect();
    Ok(ComputedBasis {
        summary,
        seq_len,
        hidden,
        axes,
    })
}

/// Shapes, lengths and finiteness; returns `seq_len · hidden`.
fn check_inputs(
    recipe: &BasisRecipe,
    prompt: &[f32],
    modifiers: &[Vec<f32>],
    seq_len: usize,
    hidden: usize,
) -> Result<usize, BasisError> {
    if seq_len == 0 || hidden == 0 || seq_len.saturating_mul(hidden) > MAX_ELEMENTS {
        return Err(BasisError::BadShape { seq_len, hidden });
    }
    let n = seq_len * hidden;
    if modifiers.len() != recipe.modifiers.len() {
        return Err(BasisError::Length {
            what: "modifier embeddings".into(),
            got: modifiers.len(),
            expected: recipe.modifiers.len(),
        });
    }
    let named = std::iter::once(("prompt".to_string(), prompt)).chain(
        modifiers
            .iter()
            .enumerate()
            .map(|(j, m)| (format!("modifiers[{j}]"), m.as_slice())),
    );
    for (what, values) in named {
        if values.len() != n {
            return Err(BasisError::Length {
                what,
                got: values.len(),
                expected: n,
            });
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(BasisError::NonFinite(what));
        }
    }
    Ok(n)
}

/// The semantic axes (unit vectors) and their labels.
fn semantic_axes(
    recipe: &BasisRecipe,
    deltas: &[Vec<f64>],
    norms: &[f64],
    n: usize,
) -> Result<(Vec<Vec<f64>>, Vec<String>), BasisError> {
    let d = recipe.dimension as usize;
    let mut units = principal_directions(deltas, d, n)?;
    let mut labels: Vec<String> = Vec::with_capacity(d);
    for (i, u) in units.iter_mut().enumerate() {
        match choose_label(recipe, deltas, norms, u, &labels) {
            Some(j) => {
                if dot(&deltas[j], u) < 0.0 {
                    u.iter_mut().for_each(|v| *v = -*v);
                }
                labels.push(recipe.modifiers[j].text.clone());
            }
            None => labels.push(unique_label(format!("axis {}", i + 1), &labels)),
        }
    }
    let missing = d - units.len();
    let completion = random_directions(n, missing, recipe.seed, STREAM_COMPLETION, &units)?;
    for u in completion {
        labels.push(unique_label(format!("axis {}", units.len() + 1), &labels));
        units.push(u);
    }
    Ok((units, labels))
}

/// At most `d` orthonormal directions from the Gram matrix's usable eigenpairs, largest first.
fn principal_directions(
    deltas: &[Vec<f64>],
    d: usize,
    n: usize,
) -> Result<Vec<Vec<f64>>, BasisError> {
    let m = deltas.len();
    let mut gram = DMatrix::<f64>::zeros(m, m);
    for j in 0..m {
        for k in 0..=j {
            let g = dot(&deltas[j], &deltas[k]);
            gram[(j, k)] = g;
            gram[(k, j)] = g;
        }
    }
    if gram.iter().any(|v| !v.is_finite()) {
        return Err(BasisError::Numerical(
            "the Gram matrix is not finite".into(),
        ));
    }
    let eigen = SymmetricEigen::try_new(gram, f64::EPSILON, MAX_EIGEN_ITERATIONS)
        .ok_or_else(|| BasisError::Numerical("the eigen-decomposition did not converge".into()))?;
    let values = &eigen.eigenvalues;
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let top = order.first().map_or(0.0, |&i| values[i]);
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(d);
    for &i in order.iter().take(d) {
        let lambda = values[i];
        if !(lambda > 0.0 && lambda > RELATIVE_EIGEN_FLOOR * top) {
            break;
        }
        let mut u = vec![0.0; n];
        for (j, delta) in deltas.iter().enumerate() {
            let w = eigen.eigenvectors[(j, i)];
            for (slot, v) in u.iter_mut().zip(delta) {
                *slot += w * v;
            }
        }
        let inv = 1.0 / lambda.sqrt();
        u.iter_mut().for_each(|v| *v *= inv);
        if !orthonormalize(&mut u, &out, &[]) {
            break;
        }
        out.push(u);
    }
    Ok(out)
}

/// The modifier that labels axis `u`: the largest `|⟨Δ_j,u⟩| / ‖Δ_j‖` (ties by index) among
/// modifiers with an effect whose text is not taken.
fn choose_label(
    recipe: &BasisRecipe,
    deltas: &[Vec<f64>],
    norms: &[f64],
    u: &[f64],
    taken: &[String],
) -> Option<usize> {
    let mut ranked: Vec<(usize, f64)> = deltas
        .iter()
        .zip(norms)
        .enumerate()
        .filter(|(_, (_, norm))| **norm > 0.0)
        .map(|(j, (delta, norm))| (j, dot(delta, u).abs() / norm))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
        .into_iter()
        .map(|(j, _)| j)
        .find(|&j| !taken.contains(&recipe.modifiers[j].text))
}

/// `base`, or `base (2)`, `base (3)`, ... when taken.
fn unique_label(base: String, taken: &[String]) -> String {
    if !taken.contains(&base) {
        return base;
    }
    (2..)
        .map(|k| format!("{base} ({k})"))
        .find(|l| !taken.contains(l))
        .unwrap_or(base)
}

/// `count` seeded random unit directions, orthogonal to `existing` and to each other.
fn random_directions(
    n: usize,
    count: usize,
    seed: u64,
    stream: u128,
    existing: &[Vec<f64>],
) -> Result<Vec<Vec<f64>>, BasisError> {
    let mut rng = PyRandom::new(u128::from(seed) | (stream << 64));
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(count);
    for _ in 0..count {
        let mut found = None;
        for _ in 0..MAX_DRAWS {
            let mut v: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
            if orthonormalize(&mut v, existing, &out) {
                found = Some(v);
                break;
            }
        }
        out.push(found.ok_or_else(|| {
            BasisError::Numerical(format!("no independent random direction in {n} dimensions"))
        })?);
    }
    Ok(out)
}

/// An approximately standard normal draw: 12 uniforms minus 6 (Irwin–Hall).
fn normal(rng: &mut PyRandom) -> f64 {
    (0..12).map(|_| rng.random()).sum::<f64>() - 6.0
}

/// Removes from `v` its projections on the unit vectors of `a` then `b` (twice: classical
/// Gram–Schmidt with re-orthogonalisation) and normalizes it. False when too little is left.
fn orthonormalize(v: &mut [f64], a: &[Vec<f64>], b: &[Vec<f64>]) -> bool {
    let before = dot(v, v).sqrt();
    if !(before > 0.0 && before.is_finite()) {
        return false;
    }
    for _ in 0..2 {
        for q in a.iter().chain(b) {
            let p = dot(v, q);
            for (x, y) in v.iter_mut().zip(q) {
                *x -= p * y;
            }
        }
    }
    let after = dot(v, v).sqrt();
    if !(after > INDEPENDENCE_FLOOR * before && after.is_finite()) {
        return false;
    }
    v.iter_mut().for_each(|x| *x /= after);
    true
}

/// Labels, scale and every modifier's coordinates and captured fraction.
fn summarize(
    recipe: &BasisRecipe,
    deltas: &[Vec<f64>],
    norms: &[f64],
    units: &[Vec<f64>],
    labels: Vec<String>,
    scale: f64,
) -> BasisSummary {
    let modifiers = recipe
        .modifiers
        .iter()
        .zip(deltas.iter().zip(norms))
        .map(|(m, (delta, norm))| {
            let projections: Vec<f64> = units.iter().map(|u| dot(delta, u)).collect();
            let inside: f64 = projections.iter().map(|p| p * p).sum();
            let captured = if *norm > 0.0 {
                (inside / (norm * norm)).clamp(0.0, 1.0)
            } else {
                0.0
            };
            ModifierCoords {
                text: m.text.clone(),
                source: m.source.clone(),
                coords: projections.iter().map(|p| p / scale).collect(),
                captured,
            }
        })
        .collect();
    BasisSummary {
        recipe_hash: recipe.hash(),
        kind: recipe.kind,
        labels,
        scale,
        modifiers,
    }
}

/// The median of the positive values (mean of the middle two for an even count).
fn median_positive(values: &[f64]) -> Option<f64> {
    let mut positive: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0).collect();
    positive.sort_by(f64::total_cmp);
    let k = positive.len();
    match k {
        0 => None,
        _ if k % 2 == 1 => Some(positive[k / 2]),
        _ => Some(0.5 * (positive[k / 2 - 1] + positive[k / 2])),
    }
}

/// `Σ a_i b_i`, in index order.
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
