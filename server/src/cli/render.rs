//! `stablesteering render`: one image from the command line, with the settings written into
//! the PNG as A1111's `parameters` chunk.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::Args;
use engine::parameters::a1111_parameters;
use engine::request::{Candidate, Phase, RenderRequest};
use engine::runtime::{Engine, Precision};
use engine::schedulers::SchedulerKind;
use engine::stable_diffusion::weights::read_f32_tensors;

use super::Failure;

/// Options of `stablesteering render`.
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// A diffusers Stable Diffusion 1.x/2.x folder.
    #[arg(long, env = "STABLESTEERING_MODEL")]
    pub model: PathBuf,
    /// The prompt.
    #[arg(long)]
    pub prompt: String,
    /// The negative prompt.
    #[arg(long, default_value = "")]
    pub negative_prompt: String,
    /// ddim, pndm, euler, euler-a, dpmpp-2m, dpmpp-2m-karras or lms.
    #[arg(long, default_value = "dpmpp-2m")]
    pub scheduler: SchedulerKind,
    /// Denoising steps.
    #[arg(long, default_value_t = 25)]
    pub steps: usize,
    /// Classifier-free guidance scale.
    #[arg(long, default_value_t = 7.5)]
    pub guidance: f64,
    /// Width in pixels (default: the model's native size).
    #[arg(long)]
    pub width: Option<usize>,
    /// Height in pixels (default: the model's native size).
    #[arg(long)]
    pub height: Option<usize>,
    /// Seed of the starting noise (default: random, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Start from latents in a safetensors file instead of the seed: FILE.safetensors:TENSOR.
    #[arg(long)]
    pub init_latents: Option<String>,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: engine::DeviceRequest,
    /// UNet and text-encoder precision on CUDA: f16, bf16 or f32.
    #[arg(long, default_value = "f16")]
    pub precision: Precision,
    /// Where to write the PNG.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs the command.
pub fn run(args: RenderArgs) -> Result<(), Failure> {
    let engine =
        Engine::load(&args.model, args.device, args.precision).map_err(|e| e.to_string())?;
    let info = engine.info().clone();
    let seed = args.seed.unwrap_or_else(random_seed);
    let width = args.width.unwrap_or(info.default_size);
    let height = args.height.unwrap_or(info.default_size);
    let init_latents = match &args.init_latents {
        None => None,
        Some(spec) => Some(load_latents(spec)?),
    };
    let request = RenderRequest {
        prompt: args.prompt,
        negative_prompt: args.negative_prompt,
        scheduler: args.scheduler,
        steps: args.steps,
        guidance_scale: args.guidance,
        width,
        height,
        clip_skip: 0,
        candidates: vec![Candidate {
            seed,
            init_latents,
            steering: None,
        }],
        init_image: None,
    };
    let cancel = AtomicBool::new(false);
    let mut last_step = 0;
    // Step counter only for a person watching a terminal; scripts get one result line.
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let output = engine
        .render(
            &request,
            &mut |p| {
                if interactive && p.phase == Phase::Denoising && p.step != last_step {
                    last_step = p.step;
                    eprint!("\rstep {}/{}", p.step, p.total_steps);
                }
            },
            &cancel,
        )
        .map_err(|e| e.to_string())?;
    if interactive {
        eprintln!();
    }
    let parameters = a1111_parameters(&request, 0, &info.name);
    let png = output.images[0]
        .to_png(&[("parameters".to_string(), parameters)])
        .map_err(|e| e.to_string())?;
    std::fs::write(&args.out, png)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    println!(
        "wrote {} ({}x{}, seed {seed}, {} on {}, {:.0} ms denoising)",
        args.out.display(),
        width,
        height,
        info.name,
        info.device,
        output.timings.denoise_ms
    );
    Ok(())
}

/// `FILE.safetensors:TENSOR` → the tensor's values (a leading batch dimension of 1 is fine).
fn load_latents(spec: &str) -> Result<Vec<f32>, Failure> {
    let (file, name) = spec
        .rsplit_once(':')
        .ok_or_else(|| format!("--init-latents `{spec}`: expected FILE.safetensors:TENSOR"))?;
    let tensors = read_f32_tensors(std::path::Path::new(file)).map_err(|e| e.to_string())?;
    let tensor = tensors.get(name).ok_or_else(|| {
        let names: Vec<&str> = tensors.keys().map(String::as_str).take(10).collect();
        format!(
            "--init-latents: {file} has no tensor `{name}` (it has: {})",
            names.join(", ")
        )
    })?;
    Ok(tensor.values.clone())
}

fn random_seed() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (nanos as u64) ^ (u64::from(std::process::id()) << 32)
}
