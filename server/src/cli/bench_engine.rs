//! `stablesteering bench engine`: seconds per image, UNet steps per second and peak memory of
//! the real pipeline, on a model folder or on SD 1.5's architecture with random weights.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use clap::Args;
use engine::request::{Candidate, RenderRequest};
use engine::runtime::{Engine, Precision};
use engine::schedulers::SchedulerKind;

use super::Failure;

/// Options of `bench engine`.
#[derive(Debug, Clone, Args)]
pub struct EngineBenchArgs {
    /// A diffusers Stable Diffusion folder.
    #[arg(
        long,
        conflicts_with = "random_weights",
        required_unless_present = "random_weights"
    )]
    pub model: Option<PathBuf>,
    /// Build a full-size architecture with random weights instead (only `sd15`).
    #[arg(long, value_parser = ["sd15"])]
    pub random_weights: Option<String>,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: engine::DeviceRequest,
    /// UNet and text-encoder precision on CUDA.
    #[arg(long, default_value = "f16")]
    pub precision: Precision,
    /// Image side in pixels (default: the model's native size).
    #[arg(long)]
    pub size: Option<usize>,
    /// Denoising steps per render.
    #[arg(long, default_value_t = 25)]
    pub steps: usize,
    /// Candidates per batch.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Timed renders.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Untimed warm-up renders first (0 for one slow full-size CPU render).
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Scheduler.
    #[arg(long, default_value = "dpmpp-2m")]
    pub scheduler: SchedulerKind,
    /// Also time bare UNet forwards (batch 2, the model's sample size) — the figure compared
    /// with PyTorch's on the same machine.
    #[arg(long)]
    pub unet_forward: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs the benchmark.
pub fn run(args: EngineBenchArgs) -> Result<(), Failure> {
    let load_started = Instant::now();
    let engine = match &args.model {
        Some(dir) => Engine::load(dir, args.device, args.precision),
        // The random-weight architecture borrows the demo model's tokenizer.
        None => engine::demo_model::materialize().and_then(|demo| {
            Engine::random_sd15(&demo.join("tokenizer"), args.device, args.precision)
        }),
    }
    .map_err(|e| e.to_string())?;
    let load_s = load_started.elapsed().as_secs_f64();
    let info = engine.info().clone();
    let size = args.size.unwrap_or(info.default_size);
    let request = RenderRequest {
        prompt: "a photograph of an astronaut riding a horse".into(),
        negative_prompt: "blurry, low quality".into(),
        scheduler: args.scheduler,
        steps: args.steps,
        guidance_scale: 7.5,
        width: size,
        height: size,
        clip_skip: 0,
        candidates: (0..args.batch as u64)
            .map(|seed| Candidate {
                seed,
                init_latents: None,
                steering: None,
            })
            .collect(),
        init_image: None,
    };
    engine.validate(&request).map_err(|e| e.to_string())?;
    let cancel = AtomicBool::new(false);
    let mut render_s = Vec::new();
    let mut denoise_s = Vec::new();
    for run in 0..=args.runs.max(1) {
        let started = Instant::now();
        let out = engine
            .render(&request, &mut |_| {}, &cancel)
            .map_err(|e| e.to_string())?;
        if run > 0 {
            render_s.push(started.elapsed().as_secs_f64());
            denoise_s.push(out.timings.denoise_ms / 1e3);
        }
    }
    let render = median(&mut render_s);
    let denoise = median(&mut denoise_s);
    let unet_forward_ms = if args.unet_forward {
        Some(time_unet_forward(&engine)?)
    } else {
        None
    };
    let report = serde_json::json!({
        "model": info.name,
        "device": info.device.to_string(),
        "unet_dtype": info.unet_dtype,
        "size": size,
        "steps": args.steps,
        "batch": args.batch,
        "scheduler": args.scheduler.to_string(),
        "load_s": load_s,
        "render_s": render,
        "seconds_per_image": render / args.batch as f64,
        "unet_steps_per_s": args.steps as f64 / denoise,
        "images_per_s": args.batch as f64 / render,
        "unet_forward_ms": unet_forward_ms,
        "peak_rss_mib": peak_rss_mib(),
        "runs": render_s.len(),
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "model {} on {} ({}), {size}x{size}, {} steps, batch {}",
            info.name, info.device, info.unet_dtype, args.steps, args.batch
        );
        println!("  load                 {load_s:.2} s");
        println!(
            "  render (median)      {render:.3} s  ({:.3} s per image)",
            render / args.batch as f64
        );
        println!(
            "  UNet steps/s         {:.2} (guided, whole batch)",
            args.steps as f64 / denoise
        );
        if let Some(ms) = unet_forward_ms {
            println!("  UNet forward (b=2)   {ms:.3} ms (median of 20)");
        }
        match peak_rss_mib() {
            Some(mib) => println!("  peak host memory     {mib:.0} MiB"),
            None => println!("  peak host memory     unavailable"),
        }
    }
    Ok(())
}

/// Median of 20 bare UNet forwards with batch 2 at the model's native latent size.
fn time_unet_forward(engine: &Engine) -> Result<f64, Failure> {
    let info = engine.info();
    let side = info.default_size / info.vae_scale_factor;
    let shape = [2, info.latent_channels, side, side];
    let sample: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|i| ((i % 17) as f32 - 8.0) / 8.0)
        .collect();
    let context: Vec<f32> = (0..2 * info.seq_len * info.hidden_size)
        .map(|i| ((i % 13) as f32 - 6.0) / 6.0)
        .collect();
    let timesteps = [999.0, 421.0];
    engine
        .unet_forward(&sample, shape, &timesteps, &context)
        .map_err(|e| e.to_string())?;
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        engine
            .unet_forward(&sample, shape, &timesteps, &context)
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(&mut times))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Peak resident memory of this process (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
