//! The UNet's and VAE's blocks: `Downsample2D`, `Upsample2D`, `DownBlock2D` /
//! `CrossAttnDownBlock2D`, `UNetMidBlock2DCrossAttn`, `UpBlock2D` / `CrossAttnUpBlock2D`, and
//! the VAE's `DownEncoderBlock2D`, `UNetMidBlock2D`, `UpDecoderBlock2D`. A block with
//! attention is the same struct with `attentions` present, as diffusers' keys are.

use burn::tensor::backend::Backend;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::Tensor;

use super::attention::{Transformer2DModel, TransformerConfig, VaeAttention};
use super::nn::Conv2d;
use super::resnet::{ResnetBlock2D, ResnetConfig};
use super::weights::VarBuilder;

/// `Downsample2D` with a conv: stride-2 3×3, padded symmetrically (UNet) or only at the end
/// (VAE encoder, `padding=0`).
pub struct Downsample2D<B: Backend> {
    conv: Conv2d<B>,
}

impl<B: Backend> Downsample2D<B> {
    /// `pad_end` selects the VAE encoder's asymmetric padding.
    pub fn load(vb: &VarBuilder<B>, channels: usize, pad_end: bool) -> Self {
        let vb = vb.pp("conv");
        let conv = if pad_end {
            Conv2d::load_pad_end(&vb, channels, 3, 2)
        } else {
            Conv2d::load(&vb, channels, channels, 3, 2, 1)
        };
        Self { conv }
    }

    /// Halves height and width.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.conv.forward(x)
    }
}

/// `Upsample2D`: nearest-neighbour resize then a 3×3 conv.
pub struct Upsample2D<B: Backend> {
    conv: Conv2d<B>,
}

impl<B: Backend> Upsample2D<B> {
    /// Loads `conv`.
    pub fn load(vb: &VarBuilder<B>, channels: usize) -> Self {
        Self {
            conv: Conv2d::load(&vb.pp("conv"), channels, channels, 3, 1, 1),
        }
    }

    /// Resizes to `size` (2× unless a skip connection of odd size dictates otherwise).
    pub fn forward(&self, x: Tensor<B, 4>, size: Option<[usize; 2]>) -> Tensor<B, 4> {
        let [_, _, h, w] = x.dims();
        let size = size.unwrap_or([h * 2, w * 2]);
        let x = interpolate(x, size, InterpolateOptions::new(InterpolateMode::Nearest));
        self.conv.forward(x)
    }
}

/// What every UNet block shares.
#[derive(Debug, Clone, Copy)]
pub struct BlockConfig {
    /// Resnets in the block.
    pub layers: usize,
    /// Time-embedding width (`None` in the VAE).
    pub temb_channels: Option<usize>,
    /// GroupNorm groups.
    pub groups: usize,
    /// GroupNorm epsilon.
    pub eps: f64,
    /// Cross-attention transformer geometry, when the block has attention.
    pub attention: Option<AttentionConfig>,
}

/// Per-block attention geometry.
#[derive(Debug, Clone, Copy)]
pub struct AttentionConfig {
    /// Heads.
    pub heads: usize,
    /// Text context width.
    pub context_dim: usize,
    /// Transformer blocks per attention.
    pub transformer_layers: usize,
    /// Linear projections (SD 2.x).
    pub linear_projection: bool,
}

impl BlockConfig {
    fn resnet(&self, in_channels: usize, out_channels: usize) -> ResnetConfig {
        ResnetConfig {
            in_channels,
            out_channels,
            temb_channels: self.temb_channels,
            groups: self.groups,
            eps: self.eps,
        }
    }

    fn transformer<B2: Backend>(
        &self,
        vb: &VarBuilder<B2>,
        channels: usize,
    ) -> Option<Transformer2DModel<B2>> {
        self.attention.map(|a| {
            Transformer2DModel::load(
                vb,
                TransformerConfig {
                    channels,
                    heads: a.heads,
                    head_dim: channels / a.heads,
                    context_dim: a.context_dim,
                    layers: a.transformer_layers,
                    norm_groups: self.groups,
                    linear_projection: a.linear_projection,
                },
            )
        })
    }
}

/// `DownBlock2D` / `CrossAttnDownBlock2D` / the VAE's `DownEncoderBlock2D`.
pub struct DownBlock<B: Backend> {
    resnets: Vec<ResnetBlock2D<B>>,
    attentions: Vec<Transformer2DModel<B>>,
    downsampler: Option<Downsample2D<B>>,
}

impl<B: Backend> DownBlock<B> {
    /// `downsample` is false for the last block; `pad_end` for the VAE encoder.
    pub fn load(
        vb: &VarBuilder<B>,
        c: BlockConfig,
        in_channels: usize,
        out_channels: usize,
        downsample: bool,
        pad_end: bool,
    ) -> Self {
        let resnets_vb = vb.pp("resnets");
        let attn_vb = vb.pp("attentions");
        let mut resnets = Vec::new();
        let mut attentions = Vec::new();
        for i in 0..c.layers {
            let input = if i == 0 { in_channels } else { out_channels };
            resnets.push(ResnetBlock2D::load(
                &resnets_vb.pp(i),
                c.resnet(input, out_channels),
            ));
            if let Some(t) = c.transformer(&attn_vb.pp(i), out_channels) {
                attentions.push(t);
            }
        }
        Self {
            resnets,
            attentions,
            downsampler: downsample
                .then(|| Downsample2D::load(&vb.pp("downsamplers").pp(0), out_channels, pad_end)),
        }
    }

    /// Returns the output and the skip connections it contributes.
    pub fn forward(
        &self,
        mut x: Tensor<B, 4>,
        temb: Option<&Tensor<B, 2>>,
        context: Option<&Tensor<B, 3>>,
    ) -> (Tensor<B, 4>, Vec<Tensor<B, 4>>) {
        let mut skips = Vec::with_capacity(self.resnets.len() + 1);
        for (i, resnet) in self.resnets.iter().enumerate() {
            x = resnet.forward(x, temb);
            if let (Some(attn), Some(ctx)) = (self.attentions.get(i), context) {
                x = attn.forward(x, ctx.clone());
            }
            skips.push(x.clone());
        }
        if let Some(down) = &self.downsampler {
            x = down.forward(x);
            skips.push(x.clone());
        }
        (x, skips)
    }
}

/// `UNetMidBlock2DCrossAttn` (UNet) and `UNetMidBlock2D` (VAE, with [`VaeAttention`]).
pub struct MidBlock<B: Backend> {
    resnets: Vec<ResnetBlock2D<B>>,
    attentions: Vec<Transformer2DModel<B>>,
    vae_attentions: Vec<VaeAttention<B>>,
}

impl<B: Backend> MidBlock<B> {
    /// The UNet's mid block: resnet, transformer, resnet.
    pub fn load_unet(vb: &VarBuilder<B>, c: BlockConfig, channels: usize) -> Self {
        let resnets = vb.pp("resnets");
        Self {
            resnets: (0..2)
                .map(|i| ResnetBlock2D::load(&resnets.pp(i), c.resnet(channels, channels)))
                .collect(),
            attentions: c
                .transformer(&vb.pp("attentions").pp(0), channels)
                .into_iter()
                .collect(),
            vae_attentions: Vec::new(),
        }
    }

    /// The VAE's mid block: resnet, (single-head attention), resnet.
    pub fn load_vae(vb: &VarBuilder<B>, c: BlockConfig, channels: usize, attention: bool) -> Self {
        let resnets = vb.pp("resnets");
        Self {
            resnets: (0..2)
                .map(|i| ResnetBlock2D::load(&resnets.pp(i), c.resnet(channels, channels)))
                .collect(),
            attentions: Vec::new(),
            vae_attentions: if attention {
                vec![VaeAttention::load(
                    &vb.pp("attentions").pp(0),
                    channels,
                    c.groups,
                )]
            } else {
                Vec::new()
            },
        }
    }

    /// resnet → attention → resnet.
    pub fn forward(
        &self,
        x: Tensor<B, 4>,
        temb: Option<&Tensor<B, 2>>,
        context: Option<&Tensor<B, 3>>,
    ) -> Tensor<B, 4> {
        let mut x = self.resnets[0].forward(x, temb);
        if let (Some(attn), Some(ctx)) = (self.attentions.first(), context) {
            x = attn.forward(x, ctx.clone());
        }
        if let Some(attn) = self.vae_attentions.first() {
            x = attn.forward(x);
        }
        self.resnets[1].forward(x, temb)
    }
}

/// `UpBlock2D` / `CrossAttnUpBlock2D` / the VAE's `UpDecoderBlock2D` (no skips).
pub struct UpBlock<B: Backend> {
    resnets: Vec<ResnetBlock2D<B>>,
    attentions: Vec<Transformer2DModel<B>>,
    upsampler: Option<Upsample2D<B>>,
}

/// Channel bookkeeping of one UNet up block.
#[derive(Debug, Clone, Copy)]
pub struct UpChannels {
    /// Channels of the deepest skip this block consumes (`in_channels` in diffusers).
    pub in_channels: usize,
    /// Channels coming from the block below.
    pub prev_output_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Whether skips are concatenated (UNet) or not (VAE decoder).
    pub with_skips: bool,
}

impl<B: Backend> UpBlock<B> {
    /// `upsample` is false for the last block.
    pub fn load(vb: &VarBuilder<B>, c: BlockConfig, ch: UpChannels, upsample: bool) -> Self {
        let resnets_vb = vb.pp("resnets");
        let attn_vb = vb.pp("attentions");
        let mut resnets = Vec::new();
        let mut attentions = Vec::new();
        for i in 0..c.layers {
            let resnet_in = if i == 0 {
                ch.prev_output_channels
            } else {
                ch.out_channels
            };
            let skip = match (ch.with_skips, i + 1 == c.layers) {
                (false, _) => 0,
                (true, true) => ch.in_channels,
                (true, false) => ch.out_channels,
            };
            resnets.push(ResnetBlock2D::load(
                &resnets_vb.pp(i),
                c.resnet(resnet_in + skip, ch.out_channels),
            ));
            if let Some(t) = c.transformer(&attn_vb.pp(i), ch.out_channels) {
                attentions.push(t);
            }
        }
        Self {
            resnets,
            attentions,
            upsampler: upsample
                .then(|| Upsample2D::load(&vb.pp("upsamplers").pp(0), ch.out_channels)),
        }
    }

    /// Number of skip connections this block consumes.
    pub fn skips_needed(&self) -> usize {
        self.resnets.len()
    }

    /// Consumes skips from the end of `skips` (UNet) or none (VAE); `upsample_size` is the
    /// spatial size of the next skip, so odd sizes round-trip.
    pub fn forward(
        &self,
        mut x: Tensor<B, 4>,
        skips: &mut Vec<Tensor<B, 4>>,
        temb: Option<&Tensor<B, 2>>,
        context: Option<&Tensor<B, 3>>,
        upsample_size: Option<[usize; 2]>,
    ) -> Tensor<B, 4> {
        for (i, resnet) in self.resnets.iter().enumerate() {
            if let Some(skip) = skips.pop() {
                x = Tensor::cat(vec![x, skip], 1);
            }
            x = resnet.forward(x, temb);
            if let (Some(attn), Some(ctx)) = (self.attentions.get(i), context) {
                x = attn.forward(x, ctx.clone());
            }
        }
        match &self.upsampler {
            Some(up) => up.forward(x, upsample_size),
            None => x,
        }
    }
}
