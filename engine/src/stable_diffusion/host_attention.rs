//! Scaled dot-product attention computed on the host for burn's Flex (CPU) backend.
//!
//! burn-flex 0.21's attention op walks the `(batch, head)` pairs one after another on one
//! thread, with a scalar `exp`, after `swap_dims` has copied every head into its own
//! contiguous block (measured: 23 % + 13 % + 14 % of a tiny-sd1 UNet forward, docs/BENCHMARKS.md
//! "Engine"). This version reads the projections in their `[B, S, H·D]` layout directly (a head
//! is a contiguous slice of each row, so no copies), spreads query rows over rayon's threads and
//! uses a branch-free `exp` the compiler vectorises. Softmax is the usual max-subtracted one, so
//! results match the fused op to float rounding (the parity tests run through this path).

use std::any::TypeId;

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

/// Whether `multi_head` should take this path: Flex tensors of f32.
pub fn applies<B: Backend>(q: &Tensor<B, 3>) -> bool {
    flex_f32::<B>(q.dtype())
}

/// Whether `B` is burn's Flex (CPU) backend and `dtype` f32: where the host kernels run.
pub fn flex_f32<B: Backend>(dtype: DType) -> bool {
    TypeId::of::<B>() == TypeId::of::<burn::backend::Flex>() && dtype == DType::F32
}

/// `softmax(q·kᵀ/√d)·v` per head for `[B, S, H·D]` inputs with `heads` heads; the caller has
/// checked [`applies`].
pub fn attention<B: Backend>(
    q: Tensor<B, 3>,
    k: Tensor<B, 3>,
    v: Tensor<B, 3>,
    heads: usize,
) -> Tensor<B, 3> {
    let device = q.device();
    let [batch, seq_q, inner] = q.dims();
    let dims = Dims {
        seq_q,
        seq_kv: k.dims()[1],
        inner,
        head_dim: inner / heads,
    };
    let out = compute(&host(q), &host(k), &host(v), dims);
    Tensor::from_data(TensorData::new(out, [batch, seq_q, inner]), &device)
}

/// A Flex f32 tensor's values, row-major (contiguous after `into_data`).
fn host<B: Backend>(t: Tensor<B, 3>) -> Vec<f32> {
    t.into_data()
        .into_vec::<f32>()
        .expect("applies() checked the dtype is f32")
}

#[derive(Clone, Copy)]
struct Dims {
    seq_q: usize,
    seq_kv: usize,
    /// Heads × head dimension: the length of one row.
    inner: usize,
    head_dim: usize,
}

/// The attention of every query row, rows in parallel; each row handles all its heads so its
/// output is one contiguous slice. Keys and values are first transposed per (batch, head) to
/// `[head_dim][seq_kv]`, so a query's scores are `head_dim` AXPYs and its output `head_dim` dot
/// products, all over contiguous `seq_kv`-long rows (SD heads are 4–160 wide; walking keys
/// one short head at a time left the loops scalar).
fn compute(q: &[f32], k: &[f32], v: &[f32], d: Dims) -> Vec<f32> {
    let mut out = vec![0.0f32; q.len()];
    let (kt, vt) = (by_head(k, d), by_head(v, d));
    let wide = Wide::detect();
    out.par_chunks_mut(d.inner)
        .zip(q.par_chunks(d.inner))
        .enumerate()
        .for_each_init(
            || vec![0.0f32; d.seq_kv],
            |scores, (row, (out_row, q_row))| {
                let at = Row {
                    batch: row / d.seq_q,
                    q: q_row,
                    kt: &kt,
                    vt: &vt,
                };
                wide.attend(at, scores, out_row, d);
            },
        );
    out
}

/// One query row and the transposed keys and values it reads.
#[derive(Clone, Copy)]
struct Row<'a> {
    batch: usize,
    q: &'a [f32],
    kt: &'a [f32],
    vt: &'a [f32],
}

/// Which build of the row kernel this CPU runs. The binary targets baseline x86-64 (SSE2,
/// 4 lanes); where the CPU has AVX2 and FMA the same code compiled for them runs 8 lanes wide
/// with fused multiply-adds (the attention was 57 % of a tiny-sd1 UNet forward in SSE code).
#[derive(Clone, Copy)]
enum Wide {
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

impl Wide {
    fn detect() -> Wide {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Wide::Avx2Fma;
        }
        Wide::Baseline
    }

    fn attend(self, row: Row<'_>, scores: &mut [f32], out: &mut [f32], d: Dims) {
        match self {
            Wide::Baseline => attend_row::<false>(row, scores, out, d),
            // SAFETY: `detect` found AVX2 and FMA on this CPU.
            #[cfg(target_arch = "x86_64")]
            Wide::Avx2Fma => unsafe { attend_row_avx2_fma(row, scores, out, d) },
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn attend_row_avx2_fma(row: Row<'_>, scores: &mut [f32], out: &mut [f32], d: Dims) {
    attend_row::<true>(row, scores, out, d);
}

/// `a·b + c`, fused where the kernel was built with FMA (`mul_add` without it is a libm call).
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Every head of one query row (inlined into each build of the kernel).
#[inline(always)]
fn attend_row<const FMA: bool>(row: Row<'_>, scores: &mut [f32], out: &mut [f32], d: Dims) {
    let scale = 1.0 / (d.head_dim as f32).sqrt();
    let heads = d.inner / d.head_dim;
    let per_batch = heads * d.head_dim * d.seq_kv;
    for h in 0..heads {
        let head_base = row.batch * per_batch + h * d.head_dim * d.seq_kv;
        let column = |c: usize| {
            let at = head_base + c * d.seq_kv;
            at..at + d.seq_kv
        };
        scores.iter_mut().for_each(|s| *s = 0.0);
        for c in 0..d.head_dim {
            let qc = row.q[h * d.head_dim + c] * scale;
            for (s, &kx) in scores.iter_mut().zip(&row.kt[column(c)]) {
                *s = madd::<FMA>(qc, kx, *s);
            }
        }
        let inv = 1.0 / softmax_numerators(scores);
        for c in 0..d.head_dim {
            out[h * d.head_dim + c] = dot::<FMA>(scores, &row.vt[column(c)]) * inv;
        }
    }
}

/// `[B, S, H·D]` rows to `[B][H][D][S]`: each (batch, head, channel) a contiguous run over S.
fn by_head(t: &[f32], d: Dims) -> Vec<f32> {
    let mut out = vec![0.0f32; t.len()];
    out.par_chunks_mut(d.seq_kv)
        .enumerate()
        .for_each(|(i, run)| {
            // Run i is (batch i / inner, channel i % inner), channel = head · D + c.
            let (b, hc) = (i / d.inner, i % d.inner);
            let rows = &t[b * d.seq_kv * d.inner..(b + 1) * d.seq_kv * d.inner];
            for (j, x) in run.iter_mut().enumerate() {
                *x = rows[j * d.inner + hc];
            }
        });
    out
}

/// Dot product with 32 partial sums: the loop vectorises despite float ordering rules, and
/// four independent vector accumulators hide the multiply-add latency (one was a serial chain).
#[inline(always)]
fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 32;
    let mut acc = [0.0f32; LANES];
    let (a8, a_rest) = a.split_at(a.len() / LANES * LANES);
    let (b8, b_rest) = b.split_at(a8.len());
    for (x, y) in a8.chunks_exact(LANES).zip(b8.chunks_exact(LANES)) {
        for i in 0..LANES {
            acc[i] = madd::<FMA>(x[i], y[i], acc[i]);
        }
    }
    let tail: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Replaces each score by `exp(score - max)` and returns their sum.
#[inline(always)]
fn softmax_numerators(scores: &mut [f32]) -> f32 {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    // Eight running sums (lanes), so the pass vectorises; a single `sum()` is a scalar chain.
    let mut lanes = [0.0f32; 8];
    let mut chunks = scores.chunks_exact_mut(8);
    for chunk in &mut chunks {
        for (s, lane) in chunk.iter_mut().zip(&mut lanes) {
            *s = exp(*s - max);
            *lane += *s;
        }
    }
    let mut tail = 0.0;
    for s in chunks.into_remainder() {
        *s = exp(*s - max);
        tail += *s;
    }
    lanes.iter().sum::<f32>() + tail
}

/// `e^x` for `x ≤ 0` (softmax numerators) to about 2 ulp, without branches: `x = n·ln2 + r`,
/// a degree-6 polynomial for `e^r` on `|r| ≤ ln2/2`, `2^n` put into the exponent bits.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so `n·ln2` is exact in its high part (Cody–Waite).
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2²³ rounds to the nearest integer in the low mantissa bits (no `roundf`
    // call, which kept the loop scalar: 7 % of a tiny-sd1 render); |x·log2 e| < 126 here.
    const SHIFTER: f32 = 12_582_912.0;
    let x = x.max(-87.0);
    let shifted = x * LOG2_E + SHIFTER;
    let n = shifted - SHIFTER;
    let n_bits = (shifted.to_bits() as i32).wrapping_sub(SHIFTER.to_bits() as i32);
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    f32::from_bits((n_bits.wrapping_add(127) as u32) << 23) * p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference attention in f64, heads laid out as in `compute`.
    fn reference(q: &[f32], k: &[f32], v: &[f32], d: Dims) -> Vec<f64> {
        let mut out = vec![0.0; q.len()];
        let rows = q.len() / d.inner;
        for row in 0..rows {
            let b = row / d.seq_q;
            for h in 0..d.inner / d.head_dim {
                let at = |t: &[f32], j: usize, c: usize| {
                    t[(b * d.seq_kv + j) * d.inner + h * d.head_dim + c] as f64
                };
                let s: Vec<f64> = (0..d.seq_kv)
                    .map(|j| {
                        (0..d.head_dim)
                            .map(|c| q[row * d.inner + h * d.head_dim + c] as f64 * at(k, j, c))
                            .sum::<f64>()
                            / (d.head_dim as f64).sqrt()
                    })
                    .collect();
                let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for c in 0..d.head_dim {
                    out[row * d.inner + h * d.head_dim + c] =
                        (0..d.seq_kv).map(|j| e[j] * at(v, j, c)).sum::<f64>() / z;
                }
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let x = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed);
                (x >> 8) as f32 / (1u32 << 24) as f32 * 6.0 - 3.0
            })
            .collect()
    }

    #[test]
    fn matches_f64_reference_for_self_and_cross_attention_shapes() {
        // (batch, seq_q, seq_kv, heads, head_dim): odd head dims, cross-attention of 77 tokens.
        for (batch, seq_q, seq_kv, heads, head_dim) in [
            (2, 16, 16, 2, 5),
            (1, 64, 77, 4, 8),
            (3, 9, 9, 1, 40),
            (2, 4, 1, 3, 4),
        ] {
            let inner = heads * head_dim;
            let d = Dims {
                seq_q,
                seq_kv,
                inner,
                head_dim,
            };
            let q = values(batch * seq_q * inner, 1);
            let k = values(batch * seq_kv * inner, 2);
            let v = values(batch * seq_kv * inner, 3);
            let got = compute(&q, &k, &v, d);
            let want = reference(&q, &k, &v, d);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (*g as f64 - w).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 2e-5,
                "{batch}×{seq_q}×{seq_kv}×{heads}×{head_dim}: {worst}"
            );
        }
    }

    #[test]
    fn exp_is_accurate_over_the_softmax_range() {
        let worst = (0..=87_000)
            .map(|i| -(i as f32) / 1000.0)
            .map(|x| ((exp(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1e-37);
    }
}
