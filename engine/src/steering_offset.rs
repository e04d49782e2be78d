//! The embedding-space steering operator (reference §3.2–3.3), for any sequence length and hidden
//! width, on plain slices: the sinusoidal hidden-space basis, the content mask, and the four
//! steering modes. Output is the offset to add to the positive prompt embeddings, `[seq][hidden]`
//! row-major. Computed in f64 and returned as f32. Independent of `crate::steering` (it belongs
//! to the engine crate).

/// The four steering modes (mirrors the config's `SteeringMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetMode {
    /// The same offset `a Σ z_i b_i` on every token, padding included.
    LowDimensional,
    /// A smooth token profile over the content tokens, averaging 1.
    ContentMasked,
    /// One centred, unit-norm token profile per axis.
    TokenFactorized,
    /// One centred, unit-norm token × hidden field per axis.
    TokenVectorField,
}

impl OffsetMode {
    /// Parses the config's wire name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "low_dimensional" => Some(Self::LowDimensional),
            "content_masked" => Some(Self::ContentMasked),
            "token_factorized" => Some(Self::TokenFactorized),
            "token_vector_field" => Some(Self::TokenVectorField),
            _ => None,
        }
    }
}

/// Largest `seq_len · hidden` accepted (guards allocations).
pub const MAX_ELEMENTS: usize = 1 << 26;

/// Why an offset could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OffsetError {
    /// `seq_len` or `hidden` is zero, or their product is too large.
    #[error("seq_len ({seq_len}) and hidden ({hidden}) must be positive and their product at most {MAX_ELEMENTS}")]
    BadShape {
        /// Sequence length.
        seq_len: usize,
        /// Hidden width.
        hidden: usize,
    },
    /// A token-aware mode was called without a mask.
    #[error("token-aware steering mode {0:?} requires a token mask")]
    MissingMask(OffsetMode),
    /// The mask or token arrays do not have `seq_len` entries.
    #[error("{what} has {got} entries but seq_len is {seq_len}")]
    LengthMismatch {
        /// Which array.
        what: &'static str,
        /// Its length.
        got: usize,
        /// Expected length.
        seq_len: usize,
    },
    /// z, the anchor strength or the mask holds NaN or infinity.
    #[error("{0} must be finite")]
    NonFinite(&'static str),
}

/// The tokenizer output the content mask is derived from.
#[derive(Debug, Clone, Copy)]
pub struct TokenInputs<'a> {
    /// Token ids, padded to `seq_len`.
    pub token_ids: &'a [i64],
    /// The tokenizer's attention mask (1 for real tokens).
    pub attention_mask: &'a [f64],
    /// Begin-of-sequence id, if the tokenizer has one.
    pub bos_token_id: Option<i64>,
    /// End-of-sequence id.
    pub eos_token_id: Option<i64>,
    /// Padding id.
    pub pad_token_id: Option<i64>,
}

/// The attention mask with BOS, EOS and PAD positions zeroed; the plain attention mask when that
/// would leave nothing (the reference's fallback).
pub fn content_mask(inputs: &TokenInputs<'_>) -> Result<Vec<f64>, OffsetError> {
    if inputs.token_ids.len() != inputs.attention_mask.len() {
        return Err(OffsetError::LengthMismatch {
            what: "token_ids",
            got: inputs.token_ids.len(),
            seq_len: inputs.attention_mask.len(),
        });
    }
    let special = [
        inputs.bos_token_id,
        inputs.eos_token_id,
        inputs.pad_token_id,
    ];
    let mask: Vec<f64> = inputs
        .token_ids
        .iter()
        .zip(inputs.attention_mask)
        .map(|(id, a)| {
            if special.contains(&Some(*id)) {
                0.0
            } else {
                *a
            }
        })
        .collect();
    if mask.iter().sum::<f64>() <= 0.0 {
        return Ok(inputs.attention_mask.to_vec());
    }
    Ok(mask)
}

fn linspace(count: usize) -> Vec<f64> {
    if count <= 1 {
        return vec![0.0; count];
    }
    let last = (count - 1) as f64;
    (0..count).map(|k| k as f64 / last).collect()
}

fn l2(values: &[f64]) -> f64 {
    values.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// `b_i[k] = sin(π (i+1) t_k) + cos(½ π (i+1) t_k)` with `t_k = k / (H − 1)`, normalized.
pub fn hidden_basis(hidden: usize, axis: usize) -> Vec<f64> {
    let f = (axis + 1) as f64;
    let basis: Vec<f64> = linspace(hidden)
        .into_iter()
        .map(|t| (t * f * std::f64::consts::PI).sin() + (t * f * 0.5 * std::f64::consts::PI).cos())
        .collect();
    let norm = l2(&basis);
    if norm == 0.0 {
        return basis;
    }
    basis.into_iter().map(|v| v / norm).collect()
}

/// The per-axis token × hidden field of `token_vector_field`, normalized over the whole matrix
/// (norm clamped at 1e-6), row-major `[seq][hidden]`.
pub fn token_hidden_basis(seq_len: usize, hidden: usize, axis: usize) -> Vec<f64> {
    use std::f64::consts::PI;
    let f = (axis + 1) as f64;
    let tokens = linspace(seq_len);
    let hiddens = linspace(hidden);
    let mut field = Vec::with_capacity(seq_len * hidden);
    for u in &tokens {
        for h in &hiddens {
            field.push(
                ((u + 0.17 * f) * (h + 0.11) * PI * (1.0 + f)).sin()
                    + 0.7 * ((u * (0.45 + 0.08 * f) - h * (0.63 + 0.04 * f)) * PI).cos()
                    + 0.35 * ((u * h + 0.13 * f) * 2.0 * PI).sin(),
            );
        }
    }
    let norm = l2(&field).max(1e-6);
    field.into_iter().map(|v| v / norm).collect()
}

/// What to compute.
#[derive(Debug, Clone, Copy)]
pub struct OffsetInput<'a> {
    /// Steering mode.
    pub mode: OffsetMode,
    /// Steering vector.
    pub z: &'a [f64],
    /// The multiplier `a` of the offset.
    pub anchor_strength: f64,
    /// Sequence length of the prompt embeddings.
    pub seq_len: usize,
    /// Hidden width of the prompt embeddings.
    pub hidden: usize,
    /// Content mask (`seq_len` entries); required by the token-aware modes.
    pub content_mask: Option<&'a [f64]>,
}

/// The offset in f64, `[seq][hidden]` row-major.
pub fn steering_offset_f64(input: &OffsetInput<'_>) -> Result<Vec<f64>, OffsetError> {
    let (seq_len, hidden) = (input.seq_len, input.hidden);
    if seq_len == 0 || hidden == 0 || seq_len.saturating_mul(hidden) > MAX_ELEMENTS {
        return Err(OffsetError::BadShape { seq_len, hidden });
    }
    if input.z.iter().any(|v| !v.is_finite()) {
        return Err(OffsetError::NonFinite("z"));
    }
    if !input.anchor_strength.is_finite() {
        return Err(OffsetError::NonFinite("anchor_strength"));
    }
    let a = input.anchor_strength;
    let mut offset = vec![0.0; seq_len * hidden];
    if input.mode == OffsetMode::LowDimensional {
        let mut row = vec![0.0; hidden];
        for (i, zi) in input.z.iter().enumerate() {
            for (slot, b) in row.iter_mut().zip(hidden_basis(hidden, i)) {
                *slot += zi * a * b;
            }
        }
        for chunk in offset.chunks_mut(hidden) {
            chunk.copy_from_slice(&row);
        }
        return Ok(offset);
    }
    let mask = input
        .content_mask
        .ok_or(OffsetError::MissingMask(input.mode))?;
    if mask.len() != seq_len {
        return Err(OffsetError::LengthMismatch {
            what: "content_mask",
            got: mask.len(),
            seq_len,
        });
    }
    if mask.iter().any(|v| !v.is_finite()) {
        return Err(OffsetError::NonFinite("content_mask"));
    }
    let positions = linspace(seq_len);
    let active = mask.iter().sum::<f64>().max(1.0);
    match input.mode {
        OffsetMode::ContentMasked => {
            let profile: Vec<f64> = positions
                .iter()
                .zip(mask)
                .map(|(p, m)| (0.35 + 0.65 * (p * std::f64::consts::PI).sin()) * m)
                .collect();
            let normalizer = profile.iter().sum::<f64>().max(1.0);
            let profile: Vec<f64> = profile.iter().map(|p| p * (active / normalizer)).collect();
            for (i, zi) in input.z.iter().enumerate() {
                let basis = hidden_basis(hidden, i);
                for (u, weight) in profile.iter().enumerate() {
                    let row = &mut offset[u * hidden..(u + 1) * hidden];
                    for (slot, b) in row.iter_mut().zip(&basis) {
                        *slot += zi * a * weight * b;
                    }
                }
            }
        }
        OffsetMode::TokenFactorized => {
            for (i, zi) in input.z.iter().enumerate() {
                let f = (i + 1) as f64;
                let basis = hidden_basis(hidden, i);
                let token = factorized_token_basis(&positions, mask, f, active);
                for (u, weight) in token.iter().enumerate() {
                    let row = &mut offset[u * hidden..(u + 1) * hidden];
                    for (slot, b) in row.iter_mut().zip(&basis) {
                        *slot += zi * a * 0.8 * weight * b;
                    }
                }
            }
        }
        OffsetMode::TokenVectorField => {
            for (i, zi) in input.z.iter().enumerate() {
                let field = centred_field(seq_len, hidden, i, mask, active);
                for (slot, value) in offset.iter_mut().zip(&field) {
                    *slot += zi * a * 0.7 * value;
                }
            }
        }
        OffsetMode::LowDimensional => {}
    }
    Ok(offset)
}

/// `c_i[u] = (sin(π f pos_u) + 0.5 cos(2π f pos_u)) m_u`, mean-centred over the masked tokens and
/// L2-normalized over all tokens.
///
/// Deliberate deviation for a degenerate case: when the masked profile is constant (e.g.
/// `f` a multiple of `seq_len − 1`), centring leaves only rounding noise, which the reference then
/// normalizes to unit length (device-dependent garbage). Here a centred norm below 1e-9 of the
/// uncentred norm counts as zero, so that axis contributes nothing.
fn factorized_token_basis(positions: &[f64], mask: &[f64], f: f64, active: f64) -> Vec<f64> {
    use std::f64::consts::PI;
    let mut token: Vec<f64> = positions
        .iter()
        .zip(mask)
        .map(|(p, m)| ((p * f * PI).sin() + 0.5 * (p * f * 2.0 * PI).cos()) * m)
        .collect();
    if token.iter().map(|v| v.abs()).sum::<f64>() > 0.0 {
        let before = l2(&token);
        let mean = token.iter().zip(mask).map(|(t, m)| t * m).sum::<f64>() / active;
        for (t, m) in token.iter_mut().zip(mask) {
            *t -= mean * m;
        }
        let norm = l2(&token);
        if norm <= 1e-9 * before {
            return vec![0.0; token.len()];
        }
        if norm > 0.0 {
            for t in &mut token {
                *t /= norm;
            }
        }
    }
    token
}

/// `token_hidden_basis` masked, centred per hidden unit over the active tokens, masked again and
/// normalized (norm clamped at 1e-6).
fn centred_field(
    seq_len: usize,
    hidden: usize,
    axis: usize,
    mask: &[f64],
    active: f64,
) -> Vec<f64> {
    let mut field = token_hidden_basis(seq_len, hidden, axis);
    for (u, m) in mask.iter().enumerate() {
        for v in &mut field[u * hidden..(u + 1) * hidden] {
            *v *= m;
        }
    }
    if field.iter().map(|v| v.abs()).sum::<f64>() > 0.0 {
        let mut column = vec![0.0; hidden];
        for row in field.chunks(hidden) {
            for (c, v) in column.iter_mut().zip(row) {
                *c += v;
            }
        }
        for (u, m) in mask.iter().enumerate() {
            for (v, c) in field[u * hidden..(u + 1) * hidden].iter_mut().zip(&column) {
                *v = (*v - c / active) * m;
            }
        }
        let norm = l2(&field).max(1e-6);
        for v in &mut field {
            *v /= norm;
        }
    }
    field
}

/// The offset as f32, `[seq][hidden]` row-major.
pub fn steering_offset(input: &OffsetInput<'_>) -> Result<Vec<f32>, OffsetError> {
    Ok(steering_offset_f64(input)?
        .into_iter()
        .map(|v| v as f32)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        mode: OffsetMode,
        z: &'a [f64],
        mask: Option<&'a [f64]>,
        seq: usize,
        hidden: usize,
    ) -> OffsetInput<'a> {
        OffsetInput {
            mode,
            z,
            anchor_strength: 0.7,
            seq_len: seq,
            hidden,
            content_mask: mask,
        }
    }

    #[test]
    fn basis_is_unit_and_matches_the_documented_gram_entries() {
        let b0 = hidden_basis(768, 0);
        let b1 = hidden_basis(768, 1);
        let b3 = hidden_basis(768, 3);
        let b2 = hidden_basis(768, 2);
        let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
        assert!((dot(&b0, &b0) - 1.0).abs() < 1e-12);
        assert!((dot(&b0, &b1) - 0.207).abs() < 5e-4);
        assert!((dot(&b2, &b3) - 0.660).abs() < 5e-4);
    }

    #[test]
    fn low_dimensional_is_the_same_on_every_token() {
        let z = [0.3, -0.2];
        let out =
            steering_offset(&input(OffsetMode::LowDimensional, &z, None, 4, 6)).unwrap_or_default();
        assert_eq!(out.len(), 24);
        assert_eq!(out[0..6], out[18..24]);
        assert!(out.iter().any(|v| *v != 0.0));
    }

    #[test]
    fn masked_modes_zero_special_and_padding_tokens() {
        let ids = [1, 7, 8, 9, 2, 0, 0];
        let attention = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0];
        let tokens = TokenInputs {
            token_ids: &ids,
            attention_mask: &attention,
            bos_token_id: Some(1),
            eos_token_id: Some(2),
            pad_token_id: Some(0),
        };
        let mask = content_mask(&tokens).unwrap_or_default();
        assert_eq!(mask, vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        let z = [0.4, 0.1, -0.3];
        for mode in [
            OffsetMode::ContentMasked,
            OffsetMode::TokenFactorized,
            OffsetMode::TokenVectorField,
        ] {
            let out = steering_offset(&input(mode, &z, Some(&mask), 7, 5)).unwrap_or_default();
            for u in [0usize, 4, 5, 6] {
                assert!(
                    out[u * 5..(u + 1) * 5].iter().all(|v| *v == 0.0),
                    "{mode:?} token {u}"
                );
            }
            assert!(out[5..10].iter().any(|v| *v != 0.0), "{mode:?}");
        }
    }

    #[test]
    fn all_special_tokens_fall_back_to_the_attention_mask() {
        let ids = [1, 2, 2];
        let attention = [1.0, 1.0, 0.0];
        let tokens = TokenInputs {
            token_ids: &ids,
            attention_mask: &attention,
            bos_token_id: Some(1),
            eos_token_id: Some(2),
            pad_token_id: Some(2),
        };
        assert_eq!(
            content_mask(&tokens).unwrap_or_default(),
            attention.to_vec()
        );
    }

    #[test]
    fn degenerate_factorized_axis_contributes_nothing() {
        // seq_len 12 → pos_u = u/11; axis 10 (f = 11) gives a constant profile on the mask.
        let mut z = [0.0; 11];
        z[10] = 0.5;
        let mask = [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let out = steering_offset(&input(OffsetMode::TokenFactorized, &z, Some(&mask), 12, 4))
            .unwrap_or_default();
        assert!(out.iter().all(|v| *v == 0.0));
    }

    #[test]
    fn typed_errors() {
        let z = [0.1];
        assert!(matches!(
            steering_offset(&input(OffsetMode::ContentMasked, &z, None, 3, 3)),
            Err(OffsetError::MissingMask(_))
        ));
        assert!(matches!(
            steering_offset(&input(OffsetMode::LowDimensional, &z, None, 0, 3)),
            Err(OffsetError::BadShape { .. })
        ));
        let mask = [1.0, 1.0];
        assert!(matches!(
            steering_offset(&input(OffsetMode::ContentMasked, &z, Some(&mask), 3, 3)),
            Err(OffsetError::LengthMismatch { .. })
        ));
        let nan = [f64::NAN];
        assert!(matches!(
            steering_offset(&input(OffsetMode::LowDimensional, &nan, None, 3, 3)),
            Err(OffsetError::NonFinite("z"))
        ));
        assert_eq!(
            OffsetMode::parse("token_vector_field"),
            Some(OffsetMode::TokenVectorField)
        );
    }
}
