//! GroupNorm (optionally fused with the SiLU that follows it) computed on the host for burn's
//! Flex (CPU) backend.
//!
//! burn-flex runs `GroupNorm → SiLU` as about ten whole-tensor passes (reshape, variance and
//! mean, subtract, divide, square root, broadcast multiply and add through a strided iterator,
//! sigmoid, multiply), each allocating. Here one pass per (sample, group) computes the
//! statistics and one applies `x·a + b` per channel and the SiLU in place, groups in parallel.
//! Statistics are two-pass in f32 with eight running sums, as accurate as torch's.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

use super::host_attention::{exp, flex_f32};

/// Whether the host kernel applies: Flex tensors of f32.
pub fn applies<B: Backend>(x: &Tensor<B, 4>) -> bool {
    flex_f32::<B>(x.dtype())
}

/// The per-channel affine parameters, read once from the weights.
pub struct Affine {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// `silu?(group_norm(x) · weight + bias)` for `[B, C, H, W]`; the caller checked [`applies`].
pub fn group_norm<B: Backend>(
    x: Tensor<B, 4>,
    affine: &Affine,
    groups: usize,
    eps: f64,
    silu: bool,
) -> Tensor<B, 4> {
    let device = x.device();
    let dims = x.dims();
    let [_, c, h, w] = dims;
    let mut data = x
        .into_data()
        .into_vec::<f32>()
        .expect("applies() checked the dtype is f32");
    let channels_per_group = c / groups;
    let plane = h * w;
    data.par_chunks_mut(channels_per_group * plane)
        .enumerate()
        .for_each(|(i, group)| {
            let first_channel = (i % groups) * channels_per_group;
            let n = group.len() as f32;
            let mean = lane_sum(group.iter().copied()) / n;
            let var = lane_sum(group.iter().map(|x| (x - mean) * (x - mean))) / n;
            let inv = 1.0 / (var + eps as f32).sqrt();
            for (ch, values) in group.chunks_exact_mut(plane).enumerate() {
                let a = inv * affine.weight[first_channel + ch];
                let b = affine.bias[first_channel + ch] - mean * a;
                if silu {
                    values.iter_mut().for_each(|x| *x = silu_of(*x * a + b));
                } else {
                    values.iter_mut().for_each(|x| *x = *x * a + b);
                }
            }
        });
    Tensor::from_data(TensorData::new(data, dims), &device)
}

/// `x·sigmoid(x)` with the engine's vectorisable `exp` (of a non-positive argument only).
fn silu_of(x: f32) -> f32 {
    let e = exp(-x.abs());
    let sigmoid = if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    x * sigmoid
}

/// A sum with eight running partial sums (vectorisable, and closer to exact than one chain).
fn lane_sum(values: impl Iterator<Item = f32>) -> f32 {
    let mut lanes = [0.0f32; 8];
    for (i, v) in values.enumerate() {
        lanes[i % 8] += v;
    }
    lanes.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GroupNorm (+ SiLU) in f64, the plain way.
    fn reference(x: &[f32], dims: [usize; 4], a: &Affine, groups: usize, silu: bool) -> Vec<f64> {
        let [b, c, h, w] = dims;
        let (cg, plane) = (c / groups, h * w);
        let mut out = vec![0.0; x.len()];
        for s in 0..b {
            for g in 0..groups {
                let start = (s * c + g * cg) * plane;
                let vals: Vec<f64> = x[start..start + cg * plane]
                    .iter()
                    .map(|&v| v as f64)
                    .collect();
                let mean = vals.iter().sum::<f64>() / vals.len() as f64;
                let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
                for (k, v) in vals.iter().enumerate() {
                    let ch = g * cg + k / plane;
                    let y =
                        (v - mean) / (var + 1e-5).sqrt() * a.weight[ch] as f64 + a.bias[ch] as f64;
                    out[start + k] = if silu { y / (1.0 + (-y).exp()) } else { y };
                }
            }
        }
        out
    }

    #[test]
    fn matches_f64_group_norm_with_and_without_silu() {
        let dims = [2, 12, 5, 3];
        let n: usize = dims.iter().product();
        let x: Vec<f32> = (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761) >> 8) as f32 / (1u32 << 24) as f32 * 8.0
                    - 3.0
            })
            .collect();
        let affine = Affine {
            weight: (0..12).map(|i| 0.5 + i as f32 * 0.1).collect(),
            bias: (0..12).map(|i| i as f32 * 0.05 - 0.3).collect(),
        };
        let device = Default::default();
        for silu in [false, true] {
            let t = Tensor::<burn::backend::Flex, 4>::from_data(
                TensorData::new(x.clone(), dims),
                &device,
            );
            assert!(applies(&t));
            let got = group_norm(t, &affine, 4, 1e-5, silu)
                .into_data()
                .into_vec::<f32>()
                .unwrap();
            let want = reference(&x, dims, &affine, 4, silu);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (*g as f64 - w).abs())
                .fold(0.0, f64::max);
            assert!(worst < 2e-5, "silu={silu}: max error {worst}");
        }
    }

    #[test]
    fn silu_is_right_on_both_sides_and_at_the_extremes() {
        for x in [
            -100.0f32, -20.0, -1.5, -1e-3, 0.0, 1e-3, 0.7, 3.0, 30.0, 100.0,
        ] {
            let want = x as f64 / (1.0 + (-(x as f64)).exp());
            assert!(
                (silu_of(x) as f64 - want).abs() <= 1e-6 * want.abs().max(1.0),
                "silu({x})"
            );
        }
    }
}
