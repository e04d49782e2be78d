//! Stable Diffusion 1.x/2.x, one file per diffusers concept (in the style of candle's
//! `stable_diffusion` module): configs are read from the model folder, weights are looked up
//! by their checkpoint keys, and the pipeline batches a round of candidates.

pub mod attention;
pub mod clip;
pub mod config;
pub mod embeddings;
pub mod folder;
pub mod host_attention;
pub mod host_norm;
pub mod nn;
pub mod pipeline;
pub mod resnet;
pub mod tokenizer;
pub mod unet_2d;
pub mod unet_2d_blocks;
pub mod vae;
pub mod weights;
