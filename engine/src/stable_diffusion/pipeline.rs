//! The text-to-image and image-to-image loop of diffusers' `StableDiffusionPipeline`, batched
//! over the candidates of a round: the prompt is encoded once, each candidate's steering
//! offset is added to its copy of the positive embeddings, and every UNet call evaluates all
//! candidates (twice as many rows with classifier-free guidance). Scheduler math and the
//! per-step preview run on the CPU; only the networks run on the device.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData};

use super::clip::ClipTextTransformer;
use super::tokenizer::ClipTokenizer;
use super::unet_2d::UNet2DConditionModel;
use super::vae::AutoencoderKL;
use crate::error::EngineError;
use crate::image::{latent_preview, RgbImage};
use crate::noise::{CandidateNoise, NoisePurpose};
use crate::request::{Phase, Progress, RenderOutput, RenderRequest, RenderTimings, Steering};
use crate::schedulers::{self, NoiseSource, SchedulerConfig};
use crate::steering_offset::{content_mask, steering_offset, OffsetInput, TokenInputs};

/// Where a render's random numbers come from. Rendering uses each candidate's seeded streams;
/// parity tests replay the tensors diffusers drew, in the order it drew them.
pub trait BatchNoise {
    /// Standard normal values for the whole batch: `per_candidate` values per candidate,
    /// concatenated in candidate order.
    fn draw(&mut self, purpose: NoisePurpose, per_candidate: usize) -> Vec<f32>;
}

/// The product noise: each candidate's own seeded streams.
pub struct SeededNoise {
    seeds: Vec<u64>,
    ancestral: CandidateNoise,
}

impl SeededNoise {
    /// Streams for these seeds.
    pub fn new(seeds: &[u64]) -> Self {
        Self {
            seeds: seeds.to_vec(),
            ancestral: CandidateNoise::new(seeds),
        }
    }
}

impl BatchNoise for SeededNoise {
    fn draw(&mut self, purpose: NoisePurpose, per_candidate: usize) -> Vec<f32> {
        match purpose {
            NoisePurpose::Ancestral => self
                .ancestral
                .standard_normal(per_candidate * self.seeds.len()),
            _ => self
                .seeds
                .iter()
                .flat_map(|&seed| CandidateNoise::draw(seed, purpose, per_candidate))
                .collect(),
        }
    }
}

/// Adapts [`BatchNoise`] to the schedulers' [`NoiseSource`].
struct AncestralNoise<'a> {
    noise: &'a mut dyn BatchNoise,
    batch: usize,
}

impl NoiseSource for AncestralNoise<'_> {
    fn standard_normal(&mut self, len: usize) -> Vec<f32> {
        self.noise
            .draw(NoisePurpose::Ancestral, len / self.batch.max(1))
    }
}

/// The loaded networks of one model on one device.
pub struct StableDiffusion<B: Backend> {
    /// CLIP tokenizer.
    pub tokenizer: ClipTokenizer,
    /// CLIP text encoder.
    pub text_encoder: ClipTextTransformer<B>,
    /// The noise predictor.
    pub unet: UNet2DConditionModel<B>,
    /// The autoencoder.
    pub vae: AutoencoderKL<B>,
    /// The model's `scheduler_config.json`.
    pub scheduler_config: SchedulerConfig,
    /// Device of every tensor.
    pub device: B::Device,
    /// Dtype of the text encoder and UNet.
    pub unet_dtype: DType,
    /// Dtype of the VAE (f32 on every device: SD's decoder overflows in f16).
    pub vae_dtype: DType,
}

/// Downloads a tensor as f32 values.
pub(crate) fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert_dtype(DType::F32)
        .into_vec::<f32>()
        .expect("converted to f32 just above")
}

impl<B: Backend> StableDiffusion<B> {
    /// Uploads f32 values in `dtype` to this model's device.
    pub(crate) fn upload<const D: usize>(
        &self,
        values: Vec<f32>,
        shape: [usize; D],
        dtype: DType,
    ) -> Tensor<B, D> {
        let data = TensorData::new(values, shape).convert_dtype(dtype);
        Tensor::from_data(data, (&self.device, dtype))
    }

    /// Checks a request against this model before any work is done.
    pub fn validate(&self, req: &RenderRequest) -> Result<(), EngineError> {
        let scale = self.vae.config.scale_factor();
        crate::validate::request(req, scale, self.unet.config().in_channels)
    }

    /// Encodes `[negative, prompt]` once; returns (uncond, cond) `[1, S, D]` each, plus the
    /// token inputs for the steering mask.
    fn encode_prompts(&self, req: &RenderRequest) -> (Tensor<B, 3>, Tensor<B, 3>, Vec<i64>, usize) {
        let cond_ids = self.tokenizer.encode(&req.prompt);
        let uncond_ids = self.tokenizer.encode(&req.negative_prompt);
        let real_tokens = self
            .tokenizer
            .encode_unpadded(&req.prompt)
            .len()
            .min(cond_ids.len());
        let both = self
            .text_encoder
            .forward(&[uncond_ids, cond_ids.clone()], req.clip_skip);
        let mut halves = both.chunk(2, 0);
        let cond = halves.pop().expect("two rows");
        let uncond = halves.pop().expect("two rows");
        let ids = cond_ids.iter().map(|&i| i64::from(i)).collect();
        (uncond, cond, ids, real_tokens)
    }

    /// The positive conditioning of each prompt exactly as [`Self::render`] builds it (same
    /// tokenizer and padding, same text encoder and clip skip, in the model's dtype),
    /// downloaded as f32 `[S × D]` per prompt. At most `chunk` prompts go through the text
    /// encoder at once, which bounds its memory.
    pub fn encode_positive(
        &self,
        prompts: &[String],
        clip_skip: usize,
        chunk: usize,
    ) -> Vec<Vec<f32>> {
        let mut out = Vec::with_capacity(prompts.len());
        for group in prompts.chunks(chunk.max(1)) {
            let ids: Vec<Vec<u32>> = group.iter().map(|p| self.tokenizer.encode(p)).collect();
            let values = to_vec(self.text_encoder.forward(&ids, clip_skip));
            let per = values.len() / group.len();
            out.extend(values.chunks(per.max(1)).map(<[f32]>::to_vec));
        }
        out
    }

    /// The per-candidate offsets `[B, S, D]`, zero for candidates without steering.
    fn steering_offsets(
        &self,
        req: &RenderRequest,
        token_ids: &[i64],
        real_tokens: usize,
        seq: usize,
        hidden: usize,
    ) -> Result<Option<Vec<f32>>, EngineError> {
        if req.candidates.iter().all(|c| c.steering.is_none()) {
            return Ok(None);
        }
        let attention: Vec<f64> = (0..seq)
            .map(|i| f64::from(u8::from(i < real_tokens)))
            .collect();
        let tokens = TokenInputs {
            token_ids,
            attention_mask: &attention,
            bos_token_id: Some(i64::from(self.tokenizer.bos_id())),
            eos_token_id: Some(i64::from(self.tokenizer.eos_id())),
            pad_token_id: Some(i64::from(self.tokenizer.pad_id())),
        };
        let mask =
            content_mask(&tokens).map_err(|e| EngineError::invalid("steering", e.to_string()))?;
        let mut all = Vec::with_capacity(req.candidates.len() * seq * hidden);
        for (k, candidate) in req.candidates.iter().enumerate() {
            let offset = match &candidate.steering {
                None => vec![0.0; seq * hidden],
                Some(Steering::Offset(offset)) => {
                    if offset.len() != seq * hidden {
                        return Err(EngineError::invalid(
                            &format!("candidates[{k}].steering"),
                            format!(
                                "offset has {} values, the model needs {seq}×{hidden}",
                                offset.len()
                            ),
                        ));
                    }
                    offset.clone()
                }
                Some(Steering::Vector {
                    mode,
                    z,
                    anchor_strength,
                }) => steering_offset(&OffsetInput {
                    mode: *mode,
                    z,
                    anchor_strength: *anchor_strength,
                    seq_len: seq,
                    hidden,
                    content_mask: Some(&mask),
                })
                .map_err(|e| {
                    EngineError::invalid(&format!("candidates[{k}].steering"), e.to_string())
                })?,
            };
            all.extend(offset);
        }
        Ok(Some(all))
    }

    /// Renders every candidate of `req` in one batch.
    pub fn render(
        &self,
        req: &RenderRequest,
        noise: &mut dyn BatchNoise,
        observer: &mut dyn FnMut(Progress<'_>),
        cancel: &AtomicBool,
    ) -> Result<RenderOutput, EngineError> {
        self.validate(req)?;
        let started = Instant::now();
        let report = |observer: &mut dyn FnMut(Progress<'_>),
                      phase,
                      step,
                      total,
                      candidate,
                      previews: &[RgbImage]| {
            observer(Progress {
                phase,
                step,
                total_steps: total,
                candidate,
                total_candidates: req.candidates.len(),
                previews,
            })
        };
        report(observer, Phase::EncodingPrompt, 0, req.steps, 0, &[]);
        let batch = req.candidates.len();
        let (uncond, cond, token_ids, real_tokens) = self.encode_prompts(req);
        let [_, seq, hidden] = cond.dims();
        let mut cond = cond.repeat_dim(0, batch);
        if let Some(offsets) = self.steering_offsets(req, &token_ids, real_tokens, seq, hidden)? {
            cond = cond + self.upload(offsets, [batch, seq, hidden], self.unet_dtype);
        }
        let guided = req.guidance_scale > 1.0;
        let context = if guided {
            Tensor::cat(vec![uncond.repeat_dim(0, batch), cond], 0)
        } else {
            cond
        };
        let encode_ms = started.elapsed().as_secs_f64() * 1e3;

        // Scheduler and starting latents.
        let mut scheduler = schedulers::build(req.scheduler, &self.scheduler_config, req.steps)
            .map_err(|e| EngineError::Scheduler(e.to_string()))?;
        let all_timesteps = scheduler.timesteps().to_vec();
        let scale = self.vae.config.scale_factor();
        let (h, w) = (req.height / scale, req.width / scale);
        let channels = self.unet.config().in_channels;
        let per = channels * h * w;
        report(observer, Phase::PreparingLatents, 0, req.steps, 0, &[]);
        let (mut latents, first_step) = match &req.init_image {
            None => {
                let mut latents = Vec::with_capacity(batch * per);
                let drawn_needed = req.candidates.iter().any(|c| c.init_latents.is_none());
                let drawn = drawn_needed.then(|| noise.draw(NoisePurpose::InitialLatents, per));
                for (k, c) in req.candidates.iter().enumerate() {
                    match (&c.init_latents, &drawn) {
                        (Some(given), _) => latents.extend_from_slice(given),
                        (None, Some(drawn)) => {
                            latents.extend_from_slice(&drawn[k * per..(k + 1) * per])
                        }
                        (None, None) => unreachable!("drawn when any candidate lacks latents"),
                    }
                }
                let sigma = scheduler.init_noise_sigma() as f32;
                latents.iter_mut().for_each(|v| *v *= sigma);
                (latents, 0)
            }
            Some(init) => self.img2img_latents(req, init, &*scheduler, noise, per)?,
        };
        let timesteps = all_timesteps[first_step..].to_vec();
        let total = timesteps.len();

        // Denoising.
        let denoise_started = Instant::now();
        let rows = if guided { 2 * batch } else { batch };
        for (i, &t) in timesteps.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled { step: i, total });
            }
            let step_index = first_step + i;
            let scaled = scheduler.scale_model_input(&latents, step_index);
            let input = if guided {
                [scaled.clone(), scaled].concat()
            } else {
                scaled
            };
            let x = self.upload(input, [rows, channels, h, w], self.unet_dtype);
            let out = to_vec(self.unet.forward(x, &vec![t; rows], context.clone()));
            let noise_pred: Vec<f32> = if guided {
                let (u, c) = out.split_at(batch * per);
                let g = req.guidance_scale as f32;
                u.iter().zip(c).map(|(u, c)| u + g * (c - u)).collect()
            } else {
                out
            };
            let mut ancestral = AncestralNoise { noise, batch };
            latents = scheduler
                .step(&noise_pred, step_index, &latents, &mut ancestral)
                .map_err(|e| EngineError::Scheduler(e.to_string()))?;
            let previews: Vec<RgbImage> = latents
                .chunks(per)
                .map(|l| latent_preview(l, channels, w, h))
                .collect();
            report(observer, Phase::Denoising, i + 1, total, 0, &previews);
        }
        let denoise_ms = denoise_started.elapsed().as_secs_f64() * 1e3;

        // Decoding, one candidate at a time to bound the VAE's memory.
        let decode_started = Instant::now();
        let inv = (1.0 / self.vae.config.scaling_factor) as f32;
        let mut images = Vec::with_capacity(batch);
        for (k, l) in latents.chunks(per).enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled { step: total, total });
            }
            let z = self.upload(
                l.iter().map(|v| v * inv).collect(),
                [1, channels, h, w],
                self.vae_dtype,
            );
            let decoded = to_vec(self.vae.decode(z));
            images.push(RgbImage::from_chw(&decoded, req.width, req.height));
            report(observer, Phase::Decoding, total, total, k + 1, &[]);
        }
        Ok(RenderOutput {
            images,
            latents: latents.chunks(per).map(<[f32]>::to_vec).collect(),
            timesteps,
            timings: RenderTimings {
                encode_ms,
                denoise_ms,
                decode_ms: decode_started.elapsed().as_secs_f64() * 1e3,
            },
        })
    }

    /// img2img: encode the image, sample its latent distribution, and noise it to the first
    /// timestep that `strength` keeps (diffusers' `get_timesteps` + `prepare_latents`).
    fn img2img_latents(
        &self,
        req: &RenderRequest,
        init: &crate::request::InitImage,
        scheduler: &dyn schedulers::Scheduler,
        noise: &mut dyn BatchNoise,
        per: usize,
    ) -> Result<(Vec<f32>, usize), EngineError> {
        let n = req.steps;
        let init_steps = ((n as f64 * init.strength) as usize).min(n);
        if init_steps == 0 {
            return Err(EngineError::invalid(
                "strength",
                format!(
                    "strength {} with {n} steps leaves no denoising step",
                    init.strength
                ),
            ));
        }
        let first_step = n - init_steps;
        let batch = req.candidates.len();
        let image = self.upload(
            init.image.to_chw(),
            [1, 3, req.height, req.width],
            self.vae_dtype,
        );
        let (mean, std) = self.vae.encode(image);
        let (mean, std) = (to_vec(mean), to_vec(std));
        let sample = noise.draw(NoisePurpose::PosteriorSample, per);
        let sf = self.vae.config.scaling_factor as f32;
        let mut clean = Vec::with_capacity(batch * per);
        for k in 0..batch {
            let eps = &sample[k * per..(k + 1) * per];
            clean.extend(
                mean.iter()
                    .zip(&std)
                    .zip(eps)
                    .map(|((m, s), e)| (m + s * e) * sf),
            );
        }
        let added = noise.draw(NoisePurpose::InitialLatents, per);
        Ok((scheduler.add_noise(&clean, &added, first_step), first_step))
    }
}
