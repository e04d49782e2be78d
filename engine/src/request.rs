//! What a caller asks the engine for and what it gets back. Plain data, no burn types: the
//! runner snapshots these, the engine validates them before touching a tensor.

use crate::image::RgbImage;
use crate::schedulers::SchedulerKind;
use crate::steering_offset::OffsetMode;

/// Largest number of candidates rendered in one batch.
pub const MAX_CANDIDATES: usize = 16;
/// Largest number of denoising steps.
pub const MAX_STEPS: usize = 150;
/// Largest image side in pixels.
pub const MAX_SIDE: usize = 2048;

/// One render: a prompt, its settings, and the candidates of a round.
#[derive(Debug, Clone)]
pub struct RenderRequest {
    /// The positive prompt.
    pub prompt: String,
    /// The negative prompt (empty = unconditional).
    pub negative_prompt: String,
    /// The sampler, built from the model's own scheduler config.
    pub scheduler: SchedulerKind,
    /// Denoising steps.
    pub steps: usize,
    /// Classifier-free guidance scale; at most 1 disables guidance.
    pub guidance_scale: f64,
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Layers skipped at the end of the text encoder (0 = none).
    pub clip_skip: usize,
    /// The candidates, all rendered in one batch.
    pub candidates: Vec<Candidate>,
    /// img2img: start from this image instead of pure noise.
    pub init_image: Option<InitImage>,
}

/// One image of the batch.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Seed of its noise.
    pub seed: u64,
    /// Explicit starting latents `[C, h, w]` instead of the seed's (txt2img only).
    pub init_latents: Option<Vec<f32>>,
    /// How its prompt embeddings are moved.
    pub steering: Option<Steering>,
}

/// A candidate's move in embedding space, added to the positive prompt embeddings.
#[derive(Debug, Clone)]
pub enum Steering {
    /// The steering vector and mode; the offset is computed from the tokenized prompt.
    Vector {
        /// Steering mode.
        mode: OffsetMode,
        /// Steering vector `z`.
        z: Vec<f64>,
        /// The offset multiplier `a`.
        anchor_strength: f64,
    },
    /// A precomputed offset `[seq_len, hidden]`.
    Offset(Vec<f32>),
}

/// img2img input.
#[derive(Debug, Clone)]
pub struct InitImage {
    /// The image; it must have the request's width and height.
    pub image: RgbImage,
    /// How much of the schedule is re-run, in (0, 1].
    pub strength: f64,
}

/// Where a render is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Tokenizing and running the text encoder.
    EncodingPrompt,
    /// Drawing or encoding the starting latents.
    PreparingLatents,
    /// The denoising loop.
    Denoising,
    /// The VAE decoder, one candidate at a time.
    Decoding,
}

impl Phase {
    /// Milestone text for progress displays.
    pub fn label(self) -> &'static str {
        match self {
            Self::EncodingPrompt => "encoding prompt",
            Self::PreparingLatents => "preparing latents",
            Self::Denoising => "denoising",
            Self::Decoding => "decoding images",
        }
    }
}

/// A progress report, sent after every denoising step and every decoded candidate.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    /// Phase.
    pub phase: Phase,
    /// Denoising steps done.
    pub step: usize,
    /// Denoising steps in all (after img2img strength).
    pub total_steps: usize,
    /// Candidates decoded.
    pub candidate: usize,
    /// Candidates in all.
    pub total_candidates: usize,
    /// Latent previews, one per candidate, during denoising.
    pub previews: &'a [RgbImage],
}

/// Timings of one render, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RenderTimings {
    /// Tokenizer and text encoder.
    pub encode_ms: f64,
    /// The denoising loop.
    pub denoise_ms: f64,
    /// The VAE decoder.
    pub decode_ms: f64,
}

/// What a render produced.
#[derive(Debug, Clone)]
pub struct RenderOutput {
    /// One image per candidate, in request order.
    pub images: Vec<RgbImage>,
    /// The final latents per candidate (before the VAE).
    pub latents: Vec<Vec<f32>>,
    /// The timesteps the scheduler used.
    pub timesteps: Vec<f64>,
    /// Where the time went.
    pub timings: RenderTimings,
}
