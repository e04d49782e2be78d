//! `ResnetBlock2D`: two GroupNorm → SiLU → 3×3 conv stages, an optional time-embedding shift,
//! and a 1×1 shortcut when the channel count changes.

use burn::tensor::activation::silu;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::nn::{Conv2d, GroupNorm, Linear};
use super::weights::VarBuilder;

/// Geometry of one resnet block.
#[derive(Debug, Clone, Copy)]
pub struct ResnetConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Width of the time embedding, `None` in the VAE.
    pub temb_channels: Option<usize>,
    /// GroupNorm groups.
    pub groups: usize,
    /// GroupNorm epsilon (1e-5 in the UNet, 1e-6 in the VAE).
    pub eps: f64,
}

/// diffusers `ResnetBlock2D` (default `time_embedding_norm="default"`, scale factor 1).
pub struct ResnetBlock2D<B: Backend> {
    norm1: GroupNorm<B>,
    conv1: Conv2d<B>,
    time_emb_proj: Option<Linear<B>>,
    norm2: GroupNorm<B>,
    conv2: Conv2d<B>,
    conv_shortcut: Option<Conv2d<B>>,
}

impl<B: Backend> ResnetBlock2D<B> {
    /// Loads the block's tensors under `vb`.
    pub fn load(vb: &VarBuilder<B>, c: ResnetConfig) -> Self {
        let (i, o) = (c.in_channels, c.out_channels);
        Self {
            norm1: GroupNorm::load(&vb.pp("norm1"), c.groups, i, c.eps),
            conv1: Conv2d::load(&vb.pp("conv1"), i, o, 3, 1, 1),
            time_emb_proj: c
                .temb_channels
                .map(|t| Linear::load(&vb.pp("time_emb_proj"), t, o, true)),
            norm2: GroupNorm::load(&vb.pp("norm2"), c.groups, o, c.eps),
            conv2: Conv2d::load(&vb.pp("conv2"), o, o, 3, 1, 1),
            conv_shortcut: (i != o).then(|| Conv2d::load(&vb.pp("conv_shortcut"), i, o, 1, 1, 0)),
        }
    }

    /// `shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))) + proj(silu(temb)))))`.
    pub fn forward(&self, x: Tensor<B, 4>, temb: Option<&Tensor<B, 2>>) -> Tensor<B, 4> {
        let h = self.conv1.forward(self.norm1.forward_silu(x.clone()));
        let h = match (&self.time_emb_proj, temb) {
            (Some(proj), Some(temb)) => {
                let t = proj.forward(silu(temb.clone()));
                let [b, o] = t.dims();
                h + t.reshape([b, o, 1, 1])
            }
            _ => h,
        };
        let h = self.conv2.forward(self.norm2.forward_silu(h));
        let shortcut = match &self.conv_shortcut {
            Some(conv) => conv.forward(x),
            None => x,
        };
        shortcut + h
    }
}
