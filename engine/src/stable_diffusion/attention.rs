//! Attention blocks of the UNet and the VAE: diffusers' `Attention`, `FeedForward` with GEGLU,
//! `BasicTransformerBlock`, `Transformer2DModel`, and the VAE's single-head spatial attention.

use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::Tensor;

use super::host_attention;
use super::nn::{Conv2d, GroupNorm, LayerNorm, Linear};
use super::weights::VarBuilder;

/// Scaled dot-product attention of `[B, S, H*D]` inputs with `heads` heads. `scale` is left to
/// the kernel (1/sqrt(D), which is SD's) so CUDA can pick its fused flash kernels. On the
/// Flex CPU backend the engine's own kernel runs instead (see `host_attention`).
fn multi_head<B: Backend>(
    q: Tensor<B, 3>,
    k: Tensor<B, 3>,
    v: Tensor<B, 3>,
    heads: usize,
) -> Tensor<B, 3> {
    if host_attention::applies(&q) {
        return host_attention::attention(q, k, v, heads);
    }
    let [b, sq, inner] = q.dims();
    let sk = k.dims()[1];
    let d = inner / heads;
    let q = q.reshape([b, sq, heads, d]).swap_dims(1, 2);
    let k = k.reshape([b, sk, heads, d]).swap_dims(1, 2);
    let v = v.reshape([b, sk, heads, d]).swap_dims(1, 2);
    let y = attention(q, k, v, None, None, AttentionModuleOptions::default());
    y.swap_dims(1, 2).reshape([b, sq, inner])
}

/// diffusers `Attention` as used in transformer blocks: projections without bias, output
/// projection (`to_out.0`) with bias.
pub struct CrossAttention<B: Backend> {
    to_q: Linear<B>,
    to_k: Linear<B>,
    to_v: Linear<B>,
    to_out: Linear<B>,
    heads: usize,
}

impl<B: Backend> CrossAttention<B> {
    /// `context_dim` is `None` for self-attention.
    pub fn load(
        vb: &VarBuilder<B>,
        query_dim: usize,
        context_dim: Option<usize>,
        heads: usize,
        head_dim: usize,
    ) -> Self {
        let inner = heads * head_dim;
        let context_dim = context_dim.unwrap_or(query_dim);
        Self {
            to_q: Linear::load(&vb.pp("to_q"), query_dim, inner, false),
            to_k: Linear::load(&vb.pp("to_k"), context_dim, inner, false),
            to_v: Linear::load(&vb.pp("to_v"), context_dim, inner, false),
            to_out: Linear::load(&vb.pp("to_out").pp(0), inner, query_dim, true),
            heads,
        }
    }

    /// Attends `x` to `context` (or to itself).
    pub fn forward(&self, x: Tensor<B, 3>, context: Option<Tensor<B, 3>>) -> Tensor<B, 3> {
        let context = context.unwrap_or_else(|| x.clone());
        let q = self.to_q.forward(x);
        let k = self.to_k.forward(context.clone());
        let v = self.to_v.forward(context);
        self.to_out.forward(multi_head(q, k, v, self.heads))
    }
}

/// `FeedForward` with the GEGLU activation (`net.0.proj`, `net.2`).
pub struct FeedForward<B: Backend> {
    proj: Linear<B>,
    out: Linear<B>,
}

impl<B: Backend> FeedForward<B> {
    /// Inner width is 4 × `dim`, as in every SD checkpoint.
    pub fn load(vb: &VarBuilder<B>, dim: usize) -> Self {
        let inner = dim * 4;
        Self {
            proj: Linear::load(&vb.pp("net").pp(0).pp("proj"), dim, inner * 2, true),
            out: Linear::load(&vb.pp("net").pp(2), inner, dim, true),
        }
    }

    /// `out(hidden * gelu(gate))` where `[hidden, gate] = proj(x)`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let mut halves = self.proj.forward(x).chunk(2, 2);
        let gate = halves.pop().expect("two halves");
        let hidden = halves.pop().expect("two halves");
        self.out.forward(hidden * gelu(gate))
    }
}

/// `BasicTransformerBlock`: self-attention, cross-attention, feed-forward, each pre-normed
/// and residual.
pub struct BasicTransformerBlock<B: Backend> {
    norm1: LayerNorm<B>,
    attn1: CrossAttention<B>,
    norm2: LayerNorm<B>,
    attn2: CrossAttention<B>,
    norm3: LayerNorm<B>,
    ff: FeedForward<B>,
}

impl<B: Backend> BasicTransformerBlock<B> {
    fn load(
        vb: &VarBuilder<B>,
        dim: usize,
        context_dim: usize,
        heads: usize,
        head_dim: usize,
    ) -> Self {
        Self {
            norm1: LayerNorm::load(&vb.pp("norm1"), dim, 1e-5),
            attn1: CrossAttention::load(&vb.pp("attn1"), dim, None, heads, head_dim),
            norm2: LayerNorm::load(&vb.pp("norm2"), dim, 1e-5),
            attn2: CrossAttention::load(&vb.pp("attn2"), dim, Some(context_dim), heads, head_dim),
            norm3: LayerNorm::load(&vb.pp("norm3"), dim, 1e-5),
            ff: FeedForward::load(&vb.pp("ff"), dim),
        }
    }

    fn forward(&self, x: Tensor<B, 3>, context: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = x.clone() + self.attn1.forward(self.norm1.forward(x), None);
        let x = x.clone() + self.attn2.forward(self.norm2.forward(x), Some(context));
        x.clone() + self.ff.forward(self.norm3.forward(x))
    }
}

/// The input/output projection of a [`Transformer2DModel`]: 1×1 conv (SD 1.x) or linear
/// (SD 2.x, `use_linear_projection`).
enum Projection<B: Backend> {
    Conv(Conv2d<B>),
    Linear(Linear<B>),
}

/// Geometry of one [`Transformer2DModel`].
#[derive(Debug, Clone, Copy)]
pub struct TransformerConfig {
    /// Channels of the feature map.
    pub channels: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of each head.
    pub head_dim: usize,
    /// Width of the text context.
    pub context_dim: usize,
    /// Transformer blocks in the model.
    pub layers: usize,
    /// GroupNorm groups.
    pub norm_groups: usize,
    /// Linear instead of 1×1 conv projections.
    pub linear_projection: bool,
}

/// `Transformer2DModel` in its continuous-input form.
pub struct Transformer2DModel<B: Backend> {
    norm: GroupNorm<B>,
    proj_in: Projection<B>,
    blocks: Vec<BasicTransformerBlock<B>>,
    proj_out: Projection<B>,
}

impl<B: Backend> Transformer2DModel<B> {
    /// Loads `norm`, `proj_in`, `transformer_blocks.*`, `proj_out`.
    pub fn load(vb: &VarBuilder<B>, c: TransformerConfig) -> Self {
        let inner = c.heads * c.head_dim;
        let projection = |name: &str, i: usize, o: usize| {
            if c.linear_projection {
                Projection::Linear(Linear::load(&vb.pp(name), i, o, true))
            } else {
                Projection::Conv(Conv2d::load(&vb.pp(name), i, o, 1, 1, 0))
            }
        };
        let blocks = vb.pp("transformer_blocks");
        Self {
            norm: GroupNorm::load(&vb.pp("norm"), c.norm_groups, c.channels, 1e-6),
            proj_in: projection("proj_in", c.channels, inner),
            blocks: (0..c.layers)
                .map(|i| {
                    BasicTransformerBlock::load(
                        &blocks.pp(i),
                        inner,
                        c.context_dim,
                        c.heads,
                        c.head_dim,
                    )
                })
                .collect(),
            proj_out: projection("proj_out", inner, c.channels),
        }
    }

    /// Runs the blocks over the flattened feature map, residual around the whole model.
    pub fn forward(&self, x: Tensor<B, 4>, context: Tensor<B, 3>) -> Tensor<B, 4> {
        let [b, c, h, w] = x.dims();
        let residual = x.clone();
        let x = self.norm.forward(x);
        let to_tokens = |t: Tensor<B, 4>| {
            let ch = t.dims()[1];
            t.reshape([b, ch, h * w]).swap_dims(1, 2)
        };
        let mut tokens = match &self.proj_in {
            Projection::Conv(conv) => to_tokens(conv.forward(x)),
            Projection::Linear(linear) => linear.forward(to_tokens(x)),
        };
        for block in &self.blocks {
            tokens = block.forward(tokens, context.clone());
        }
        let to_map = |t: Tensor<B, 3>| {
            let ch = t.dims()[2];
            t.swap_dims(1, 2).reshape([b, ch, h, w])
        };
        let out = match &self.proj_out {
            Projection::Conv(conv) => conv.forward(to_map(tokens)),
            Projection::Linear(linear) => to_map(linear.forward(tokens)),
        };
        debug_assert_eq!(out.dims()[1], c);
        out + residual
    }
}

/// The VAE's spatial self-attention: one head over all channels, with biases, residual.
pub struct VaeAttention<B: Backend> {
    group_norm: GroupNorm<B>,
    to_q: Linear<B>,
    to_k: Linear<B>,
    to_v: Linear<B>,
    to_out: Linear<B>,
}

impl<B: Backend> VaeAttention<B> {
    /// Loads `group_norm`, `to_q/k/v`, `to_out.0` (old spellings are renamed in `weights`).
    pub fn load(vb: &VarBuilder<B>, channels: usize, groups: usize) -> Self {
        let c = channels;
        Self {
            group_norm: GroupNorm::load(&vb.pp("group_norm"), groups, c, 1e-6),
            to_q: Linear::load(&vb.pp("to_q"), c, c, true),
            to_k: Linear::load(&vb.pp("to_k"), c, c, true),
            to_v: Linear::load(&vb.pp("to_v"), c, c, true),
            to_out: Linear::load(&vb.pp("to_out").pp(0), c, c, true),
        }
    }

    /// `x + to_out(attention(norm(x)))`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, c, h, w] = x.dims();
        let tokens = self
            .group_norm
            .forward(x.clone())
            .reshape([b, c, h * w])
            .swap_dims(1, 2);
        let q = self.to_q.forward(tokens.clone());
        let k = self.to_k.forward(tokens.clone());
        let v = self.to_v.forward(tokens);
        let y = self.to_out.forward(multi_head(q, k, v, 1));
        y.swap_dims(1, 2).reshape([b, c, h, w]) + x
    }
}
