//! `UNet2DConditionModel`: the noise predictor, built from `unet/config.json` alone.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::config::JsonConfig;
use super::embeddings::{timestep_embedding, TimestepEmbedding};
use super::nn::{Conv2d, GroupNorm};
use super::unet_2d_blocks::{
    AttentionConfig, BlockConfig, DownBlock, MidBlock, UpBlock, UpChannels,
};
use super::weights::VarBuilder;
use crate::error::EngineError;

/// The parts of `unet/config.json` Stable Diffusion 1.x/2.x use.
#[derive(Debug, Clone)]
pub struct UNet2DConditionConfig {
    /// Latent channels in (4).
    pub in_channels: usize,
    /// Latent channels out (4).
    pub out_channels: usize,
    /// Channels per resolution level.
    pub block_out_channels: Vec<usize>,
    /// Whether each down block has cross-attention (`CrossAttnDownBlock2D`).
    pub down_attention: Vec<bool>,
    /// Whether each up block has cross-attention (`CrossAttnUpBlock2D`).
    pub up_attention: Vec<bool>,
    /// Resnets per down block (up blocks have one more).
    pub layers_per_block: usize,
    /// Attention heads per block (resolving diffusers' legacy `attention_head_dim`).
    pub heads: Vec<usize>,
    /// Text context width.
    pub cross_attention_dim: usize,
    /// Transformer blocks per attention, per block.
    pub transformer_layers_per_block: Vec<usize>,
    /// Linear (SD 2.x) instead of conv projections.
    pub use_linear_projection: bool,
    /// GroupNorm groups.
    pub norm_num_groups: usize,
    /// GroupNorm epsilon.
    pub norm_eps: f64,
    /// `flip_sin_to_cos` of the timestep projection.
    pub flip_sin_to_cos: bool,
    /// `freq_shift` of the timestep projection.
    pub freq_shift: f64,
    /// Latent size the model was trained at (height = width).
    pub sample_size: usize,
}

impl UNet2DConditionConfig {
    /// Parses `unet/config.json`; block types other than SD's are an error naming them.
    pub fn read(path: &Path) -> Result<Self, EngineError> {
        let c = JsonConfig::read(path)?;
        let block_out_channels: Vec<usize> =
            c.get_or("block_out_channels", vec![320, 640, 1280, 1280])?;
        let n = block_out_channels.len();
        let down_types: Vec<String> = c.require("down_block_types")?;
        let up_types: Vec<String> = c.require("up_block_types")?;
        if down_types.len() != n || up_types.len() != n {
            return Err(c.error(
                "down_block_types and up_block_types need one entry per block_out_channels",
            ));
        }
        let down_attention = down_types
            .iter()
            .map(|t| match t.as_str() {
                "CrossAttnDownBlock2D" => Ok(true),
                "DownBlock2D" => Ok(false),
                other => Err(c.error(format!("unsupported down block type `{other}`"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let up_attention = up_types
            .iter()
            .map(|t| match t.as_str() {
                "CrossAttnUpBlock2D" => Ok(true),
                "UpBlock2D" => Ok(false),
                other => Err(c.error(format!("unsupported up block type `{other}`"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mid: Option<String> =
            c.get_or("mid_block_type", Some("UNetMidBlock2DCrossAttn".into()))?;
        if mid.as_deref() != Some("UNetMidBlock2DCrossAttn") {
            return Err(c.error(format!("unsupported mid_block_type {mid:?}")));
        }
        // diffusers' legacy naming: `attention_head_dim` has always meant the number of heads
        // for SD checkpoints; `num_attention_heads`, when present, wins.
        let heads = match c.per_block("num_attention_heads", n)? {
            Some(h) => h,
            None => c.per_block("attention_head_dim", n)?.unwrap_or(vec![8; n]),
        };
        for (i, (&h, &ch)) in heads.iter().zip(&block_out_channels).enumerate() {
            if h == 0 || ch % h != 0 {
                return Err(c.error(format!(
                    "block {i}: {ch} channels are not divisible by {h} heads"
                )));
            }
        }
        let norm_num_groups: usize = c.get_or("norm_num_groups", 32)?;
        if norm_num_groups == 0
            || block_out_channels
                .iter()
                .any(|ch| ch % norm_num_groups != 0)
        {
            return Err(c.error("norm_num_groups must divide every block_out_channels entry"));
        }
        for key in ["class_embed_type", "addition_embed_type", "encoder_hid_dim"] {
            if c.raw(key).is_some() {
                return Err(c.error(format!(
                    "`{key}` is set: only Stable Diffusion 1.x/2.x UNets are supported"
                )));
            }
        }
        Ok(Self {
            in_channels: c.get_or("in_channels", 4)?,
            out_channels: c.get_or("out_channels", 4)?,
            down_attention,
            up_attention,
            layers_per_block: c.get_or("layers_per_block", 2)?,
            heads,
            cross_attention_dim: c.get_or("cross_attention_dim", 1280)?,
            transformer_layers_per_block: c
                .per_block("transformer_layers_per_block", n)?
                .unwrap_or(vec![1; n]),
            use_linear_projection: c.get_or("use_linear_projection", false)?,
            norm_num_groups,
            norm_eps: c.get_or("norm_eps", 1e-5)?,
            flip_sin_to_cos: c.get_or("flip_sin_to_cos", true)?,
            freq_shift: c.get_or("freq_shift", 0.0)?,
            sample_size: c.get_or("sample_size", 64)?,
            block_out_channels,
        })
    }

    /// Stable Diffusion 1.5's UNet, for random-weight benchmarks.
    pub fn sd15() -> Self {
        Self {
            in_channels: 4,
            out_channels: 4,
            block_out_channels: vec![320, 640, 1280, 1280],
            down_attention: vec![true, true, true, false],
            up_attention: vec![false, true, true, true],
            layers_per_block: 2,
            heads: vec![8; 4],
            cross_attention_dim: 768,
            transformer_layers_per_block: vec![1; 4],
            use_linear_projection: false,
            norm_num_groups: 32,
            norm_eps: 1e-5,
            flip_sin_to_cos: true,
            freq_shift: 0.0,
            sample_size: 64,
        }
    }

    fn block(&self, i: usize, layers: usize, attention: bool) -> BlockConfig {
        BlockConfig {
            layers,
            temb_channels: Some(self.block_out_channels[0] * 4),
            groups: self.norm_num_groups,
            eps: self.norm_eps,
            attention: attention.then(|| AttentionConfig {
                heads: self.heads[i],
                context_dim: self.cross_attention_dim,
                transformer_layers: self.transformer_layers_per_block[i],
                linear_projection: self.use_linear_projection,
            }),
        }
    }
}

/// The UNet.
pub struct UNet2DConditionModel<B: Backend> {
    time_embedding: TimestepEmbedding<B>,
    conv_in: Conv2d<B>,
    down_blocks: Vec<DownBlock<B>>,
    mid_block: MidBlock<B>,
    up_blocks: Vec<UpBlock<B>>,
    conv_norm_out: GroupNorm<B>,
    conv_out: Conv2d<B>,
    config: UNet2DConditionConfig,
}

impl<B: Backend> UNet2DConditionModel<B> {
    /// Loads the UNet with diffusers' keys.
    pub fn load(vb: &VarBuilder<B>, config: UNet2DConditionConfig) -> Self {
        let c = &config;
        let boc = &c.block_out_channels;
        let n = boc.len();
        let down_vb = vb.pp("down_blocks");
        let down_blocks = (0..n)
            .map(|i| {
                let input = if i == 0 { boc[0] } else { boc[i - 1] };
                let block = c.block(i, c.layers_per_block, c.down_attention[i]);
                DownBlock::load(&down_vb.pp(i), block, input, boc[i], i + 1 < n, false)
            })
            .collect();
        let mid_block =
            MidBlock::load_unet(&vb.pp("mid_block"), c.block(n - 1, 1, true), boc[n - 1]);
        let up_vb = vb.pp("up_blocks");
        let reversed: Vec<usize> = boc.iter().rev().copied().collect();
        let mut up_blocks = Vec::with_capacity(n);
        let mut output = reversed[0];
        for i in 0..n {
            let prev_output = output;
            output = reversed[i];
            let input = reversed[(i + 1).min(n - 1)];
            let block = c.block(n - 1 - i, c.layers_per_block + 1, c.up_attention[i]);
            let channels = UpChannels {
                in_channels: input,
                prev_output_channels: prev_output,
                out_channels: output,
                with_skips: true,
            };
            up_blocks.push(UpBlock::load(&up_vb.pp(i), block, channels, i + 1 < n));
        }
        let temb = boc[0] * 4;
        Self {
            time_embedding: TimestepEmbedding::load(&vb.pp("time_embedding"), boc[0], temb),
            conv_in: Conv2d::load(&vb.pp("conv_in"), c.in_channels, boc[0], 3, 1, 1),
            down_blocks,
            mid_block,
            up_blocks,
            conv_norm_out: GroupNorm::load(
                &vb.pp("conv_norm_out"),
                c.norm_num_groups,
                boc[0],
                c.norm_eps,
            ),
            conv_out: Conv2d::load(&vb.pp("conv_out"), boc[0], c.out_channels, 3, 1, 1),
            config,
        }
    }

    /// The config the model was built from.
    pub fn config(&self) -> &UNet2DConditionConfig {
        &self.config
    }

    /// Predicts noise (or v) for `sample` `[B, 4, h, w]` at one timestep per batch item,
    /// conditioned on `context` `[B, S, D]`.
    pub fn forward(
        &self,
        sample: Tensor<B, 4>,
        timesteps: &[f64],
        context: Tensor<B, 3>,
    ) -> Tensor<B, 4> {
        let c = &self.config;
        let t = timestep_embedding::<B>(
            timesteps,
            c.block_out_channels[0],
            c.flip_sin_to_cos,
            c.freq_shift,
            &sample.device(),
            sample.dtype(),
        );
        let temb = self.time_embedding.forward(t);
        let mut x = self.conv_in.forward(sample);
        let mut skips = vec![x.clone()];
        for block in &self.down_blocks {
            let (out, block_skips) = block.forward(x, Some(&temb), Some(&context));
            x = out;
            skips.extend(block_skips);
        }
        x = self.mid_block.forward(x, Some(&temb), Some(&context));
        for block in &self.up_blocks {
            let take = block.skips_needed();
            let mut block_skips = skips.split_off(skips.len() - take);
            let upsample_size = skips.last().map(|s| {
                let [_, _, h, w] = s.dims();
                [h, w]
            });
            x = block.forward(
                x,
                &mut block_skips,
                Some(&temb),
                Some(&context),
                upsample_size,
            );
        }
        self.conv_out.forward(self.conv_norm_out.forward_silu(x))
    }
}
