//! Small vector helpers shared by samplers and updaters, and CPython-exact rounding.

/// Euclidean norm with a plain left-to-right sum (as CPython 3.11's `sum`).
pub fn norm(values: &[f64]) -> f64 {
    values.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Sum with a plain left-to-right accumulation.
pub fn sum(values: &[f64]) -> f64 {
    values.iter().sum()
}

/// `clamp_vector(v, R)`: rescales `v` so that `‖v‖ ≤ R` (a ball around the origin).
pub fn clamp_vector(values: Vec<f64>, radius: f64) -> Vec<f64> {
    let length = norm(&values);
    if length == 0.0 || length <= radius {
        return values;
    }
    let scale = radius / length;
    values.into_iter().map(|v| v * scale).collect()
}

/// CPython's `round(x, ndigits)` for `ndigits ≥ 0`: the exact binary value rounded to the
/// nearest decimal with ties to even, then converted back to the nearest double.
///
/// Fast path: `y = x·10ⁿ` carries an error far below 1e-6, so when `y` is not within 1e-6 of a
/// half-integer its nearest integer `m` is the correctly rounded one, and `m / 10ⁿ` (both exact)
/// is the correctly rounded result. Near ties the exact decimal expansion is used (Rust's
/// fixed-precision formatting is exact and rounds ties to even, like CPython).
pub fn py_round(value: f64, ndigits: usize) -> f64 {
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    if !value.is_finite() {
        return value;
    }
    if let Some(scale) = POWERS.get(ndigits) {
        let y = value * scale;
        if y.abs() < 1e9 && ((y - y.floor()) - 0.5).abs() > 1e-6 {
            return y.round() / scale;
        }
    }
    format!("{value:.ndigits$}").parse().unwrap_or(value)
}

/// `round(x, 6)`, used by every updater.
pub fn round6(value: f64) -> f64 {
    py_round(value, 6)
}

/// `round(x, 4)`, used in summaries and sampler diagnostics.
pub fn round4(value: f64) -> f64 {
    py_round(value, 4)
}

/// CPython's `round(x)` (to an integer, ties to even).
pub fn py_round_int(value: f64) -> f64 {
    value.round_ties_even()
}

/// Euclidean distance of two vectors, zero-padding the shorter one.
pub fn padded_distance(left: &[f64], right: &[f64]) -> f64 {
    let width = left.len().max(right.len());
    let mut total = 0.0;
    for index in 0..width {
        let a = left.get(index).copied().unwrap_or(0.0);
        let b = right.get(index).copied().unwrap_or(0.0);
        let delta = a - b;
        total += delta * delta;
    }
    total.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_rescales_only_long_vectors() {
        assert_eq!(clamp_vector(vec![0.3, 0.4], 1.0), vec![0.3, 0.4]);
        let clamped = clamp_vector(vec![3.0, 4.0], 0.5);
        assert!((norm(&clamped) - 0.5).abs() < 1e-12);
        assert_eq!(clamp_vector(vec![0.0, 0.0], 0.1), vec![0.0, 0.0]);
    }

    #[test]
    fn rounding_is_ties_to_even_on_the_exact_value() {
        assert_eq!(round6(0.0078125), 0.007812);
        assert_eq!(round6(-0.0078125), -0.007812);
        assert_eq!(py_round(2.675, 2), 2.67);
        assert_eq!(py_round_int(2.5), 2.0);
        assert_eq!(py_round_int(3.5), 4.0);
        assert!(round6(-1e-9).is_sign_negative());
    }

    #[test]
    fn padded_distance_pads_with_zeros() {
        assert!((padded_distance(&[3.0], &[0.0, 4.0]) - 5.0).abs() < 1e-12);
    }
}
