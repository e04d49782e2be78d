//! `AutoencoderKL`: the decoder turns latents into images, the encoder (for img2img) turns
//! images into the mean and standard deviation of their latent distribution.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::config::JsonConfig;
use super::nn::{Conv2d, GroupNorm};
use super::unet_2d_blocks::{BlockConfig, DownBlock, MidBlock, UpBlock, UpChannels};
use super::weights::VarBuilder;
use crate::error::EngineError;

/// `vae/config.json`.
#[derive(Debug, Clone)]
pub struct AutoencoderKLConfig {
    /// Image channels (3).
    pub in_channels: usize,
    /// Image channels out (3).
    pub out_channels: usize,
    /// Channels per level.
    pub block_out_channels: Vec<usize>,
    /// Resnets per encoder block (decoder blocks have one more).
    pub layers_per_block: usize,
    /// Latent channels (4).
    pub latent_channels: usize,
    /// GroupNorm groups.
    pub norm_num_groups: usize,
    /// Latents are multiplied by this after encoding and divided before decoding.
    pub scaling_factor: f64,
    /// Whether the mid blocks have attention.
    pub mid_block_add_attention: bool,
    /// Whether `quant_conv` / `post_quant_conv` exist.
    pub use_quant_conv: bool,
    /// Whether `post_quant_conv` exists.
    pub use_post_quant_conv: bool,
}

impl AutoencoderKLConfig {
    /// Parses `vae/config.json`.
    pub fn read(path: &Path) -> Result<Self, EngineError> {
        let c = JsonConfig::read(path)?;
        let block_out_channels: Vec<usize> = c.get_or("block_out_channels", vec![64])?;
        if block_out_channels.is_empty() {
            return Err(c.error("block_out_channels is empty"));
        }
        for key in ["down_block_types", "up_block_types"] {
            let types: Vec<String> = c.get_or(key, vec![])?;
            let expected = if key == "down_block_types" {
                "DownEncoderBlock2D"
            } else {
                "UpDecoderBlock2D"
            };
            if types.len() != block_out_channels.len() || types.iter().any(|t| t != expected) {
                return Err(c.error(format!(
                    "`{key}` must list `{expected}` once per block_out_channels entry"
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
        Ok(Self {
            in_channels: c.get_or("in_channels", 3)?,
            out_channels: c.get_or("out_channels", 3)?,
            layers_per_block: c.get_or("layers_per_block", 1)?,
            latent_channels: c.get_or("latent_channels", 4)?,
            norm_num_groups,
            scaling_factor: c.get_or("scaling_factor", 0.18215)?,
            mid_block_add_attention: c.get_or("mid_block_add_attention", true)?,
            use_quant_conv: c.get_or("use_quant_conv", true)?,
            use_post_quant_conv: c.get_or("use_post_quant_conv", true)?,
            block_out_channels,
        })
    }

    /// SD 1.5's VAE, for random-weight benchmarks.
    pub fn sd15() -> Self {
        Self {
            in_channels: 3,
            out_channels: 3,
            block_out_channels: vec![128, 256, 512, 512],
            layers_per_block: 2,
            latent_channels: 4,
            norm_num_groups: 32,
            scaling_factor: 0.18215,
            mid_block_add_attention: true,
            use_quant_conv: true,
            use_post_quant_conv: true,
        }
    }

    /// Pixels per latent cell along each side (8 for SD).
    pub fn scale_factor(&self) -> usize {
        1 << (self.block_out_channels.len() - 1)
    }

    fn block(&self, layers: usize) -> BlockConfig {
        BlockConfig {
            layers,
            temb_channels: None,
            groups: self.norm_num_groups,
            eps: 1e-6,
            attention: None,
        }
    }
}

/// The VAE encoder (image → latent moments).
pub struct Encoder<B: Backend> {
    conv_in: Conv2d<B>,
    down_blocks: Vec<DownBlock<B>>,
    mid_block: MidBlock<B>,
    conv_norm_out: GroupNorm<B>,
    conv_out: Conv2d<B>,
    quant_conv: Option<Conv2d<B>>,
}

/// The VAE decoder (latent → image).
pub struct Decoder<B: Backend> {
    post_quant_conv: Option<Conv2d<B>>,
    conv_in: Conv2d<B>,
    mid_block: MidBlock<B>,
    up_blocks: Vec<UpBlock<B>>,
    conv_norm_out: GroupNorm<B>,
    conv_out: Conv2d<B>,
}

/// Both halves plus the config.
pub struct AutoencoderKL<B: Backend> {
    /// Present when img2img is possible (always for diffusers checkpoints).
    pub encoder: Encoder<B>,
    /// Turns latents into images.
    pub decoder: Decoder<B>,
    /// The config the VAE was built from.
    pub config: AutoencoderKLConfig,
}

impl<B: Backend> AutoencoderKL<B> {
    /// Loads `encoder.*`, `decoder.*`, `quant_conv`, `post_quant_conv`.
    pub fn load(vb: &VarBuilder<B>, config: AutoencoderKLConfig) -> Self {
        let c = &config;
        let boc = &c.block_out_channels;
        let n = boc.len();
        let last = boc[n - 1];
        let l = c.latent_channels;
        let groups = c.norm_num_groups;

        let enc = vb.pp("encoder");
        let down_vb = enc.pp("down_blocks");
        let encoder = Encoder {
            conv_in: Conv2d::load(&enc.pp("conv_in"), c.in_channels, boc[0], 3, 1, 1),
            down_blocks: (0..n)
                .map(|i| {
                    let input = if i == 0 { boc[0] } else { boc[i - 1] };
                    DownBlock::load(
                        &down_vb.pp(i),
                        c.block(c.layers_per_block),
                        input,
                        boc[i],
                        i + 1 < n,
                        true,
                    )
                })
                .collect(),
            mid_block: MidBlock::load_vae(
                &enc.pp("mid_block"),
                c.block(1),
                last,
                c.mid_block_add_attention,
            ),
            conv_norm_out: GroupNorm::load(&enc.pp("conv_norm_out"), groups, last, 1e-6),
            conv_out: Conv2d::load(&enc.pp("conv_out"), last, 2 * l, 3, 1, 1),
            quant_conv: c
                .use_quant_conv
                .then(|| Conv2d::load(&vb.pp("quant_conv"), 2 * l, 2 * l, 1, 1, 0)),
        };

        let dec = vb.pp("decoder");
        let up_vb = dec.pp("up_blocks");
        let reversed: Vec<usize> = boc.iter().rev().copied().collect();
        let mut output = reversed[0];
        let mut up_blocks = Vec::with_capacity(n);
        for (i, &out) in reversed.iter().enumerate() {
            let prev = output;
            output = out;
            let channels = UpChannels {
                in_channels: prev,
                prev_output_channels: prev,
                out_channels: output,
                with_skips: false,
            };
            up_blocks.push(UpBlock::load(
                &up_vb.pp(i),
                c.block(c.layers_per_block + 1),
                channels,
                i + 1 < n,
            ));
        }
        let decoder = Decoder {
            post_quant_conv: c
                .use_post_quant_conv
                .then(|| Conv2d::load(&vb.pp("post_quant_conv"), l, l, 1, 1, 0)),
            conv_in: Conv2d::load(&dec.pp("conv_in"), l, last, 3, 1, 1),
            mid_block: MidBlock::load_vae(
                &dec.pp("mid_block"),
                c.block(1),
                last,
                c.mid_block_add_attention,
            ),
            up_blocks,
            conv_norm_out: GroupNorm::load(&dec.pp("conv_norm_out"), groups, boc[0], 1e-6),
            conv_out: Conv2d::load(&dec.pp("conv_out"), boc[0], c.out_channels, 3, 1, 1),
        };
        Self {
            encoder,
            decoder,
            config,
        }
    }

    /// `vae.decode(latents).sample`: latents `[B, 4, h, w]` (already divided by the scaling
    /// factor) → images `[B, 3, 8h, 8w]` in about [-1, 1].
    pub fn decode(&self, latents: Tensor<B, 4>) -> Tensor<B, 4> {
        let d = &self.decoder;
        let z = match &d.post_quant_conv {
            Some(conv) => conv.forward(latents),
            None => latents,
        };
        let mut x = d.conv_in.forward(z);
        x = d.mid_block.forward(x, None, None);
        let mut no_skips = Vec::new();
        for block in &d.up_blocks {
            x = block.forward(x, &mut no_skips, None, None, None);
        }
        d.conv_out.forward(d.conv_norm_out.forward_silu(x))
    }

    /// `vae.encode(images).latent_dist`: images `[B, 3, H, W]` in [-1, 1] → (mean, std) of
    /// the latent distribution, before the scaling factor.
    pub fn encode(&self, images: Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let e = &self.encoder;
        let mut x = e.conv_in.forward(images);
        for block in &e.down_blocks {
            x = block.forward(x, None, None).0;
        }
        x = e.mid_block.forward(x, None, None);
        x = e.conv_out.forward(e.conv_norm_out.forward_silu(x));
        if let Some(conv) = &e.quant_conv {
            x = conv.forward(x);
        }
        let mut halves = x.chunk(2, 1);
        let logvar = halves.pop().expect("two halves").clamp(-30.0, 20.0);
        let mean = halves.pop().expect("two halves");
        (mean, (logvar * 0.5).exp())
    }
}
