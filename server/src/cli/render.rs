//! `stablesteering render`: one image from the command line, with the settings written into
//! the PNG as A1111's `parameters` chunk.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::Args;
use engine::request::Phase;
use engine::runtime::{Engine, Precision};
use engine::schedulers::SchedulerKind;
use engine::stable_diffusion::weights::read_f32_tensors;

use super::Failure;
use crate::artifacts::ArtifactStore;
use crate::runner::{latents_hash, LatentsRef, RenderKind, Runner, Snapshot, SnapshotCandidate};

/// Options of `stablesteering render`.
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// A diffusers Stable Diffusion 1.x/2.x folder (default: the tiny demo model built into the
    /// binary, whose images are not meaningful).
    #[arg(long, env = "STABLESTEERING_MODEL")]
    pub model: Option<PathBuf>,
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

/// Runs the command: the settings are sealed into a snapshot and rendered by the runner, the
/// same execution boundary as every server route.
pub fn run(args: RenderArgs) -> Result<(), Failure> {
    let model = match &args.model {
        Some(dir) => dir.clone(),
        None => {
            tracing::warn!("{}", crate::serve::DEMO_MODEL_NOTICE);
            engine::demo_model::materialize().map_err(|e| e.to_string())?
        }
    };
    let engine = Engine::load(&model, args.device, args.precision).map_err(|e| e.to_string())?;
    let scratch =
        std::env::temp_dir().join(format!("stablesteering-render-{}", uuid::Uuid::now_v7()));
    let runner = Runner::new(engine, ArtifactStore::new(&scratch));
    let result = render_with(&runner, &args);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn render_with(runner: &Runner, args: &RenderArgs) -> Result<(), Failure> {
    let info = runner.model().clone();
    let seed = args.seed.unwrap_or_else(random_seed);
    let mut settings = runner.base_settings(RenderKind::Cli);
    settings.prompt = args.prompt.clone();
    settings.negative_prompt = args.negative_prompt.clone();
    settings.scheduler = args.scheduler.name().to_string();
    settings.steps = args.steps;
    settings.guidance_scale = args.guidance;
    settings.width = args.width.unwrap_or(info.default_size);
    settings.height = args.height.unwrap_or(info.default_size);
    settings.candidates = vec![SnapshotCandidate {
        candidate_id: None,
        seed,
        z: None,
        init_latents: match &args.init_latents {
            None => None,
            Some(spec) => Some(latents_ref(spec)?),
        },
    }];
    let snapshot = Snapshot::seal(settings);
    runner.check(&snapshot).map_err(|e| e.to_string())?;
    let job_id = uuid::Uuid::now_v7();
    let cancel = AtomicBool::new(false);
    let mut last_step = 0;
    // Step counter only for a person watching a terminal; scripts get one result line.
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let output = runner
        .run(
            job_id,
            &snapshot,
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
    let hash = &output.images[0].artifact_hash;
    let png = runner
        .artifacts()
        .get(hash)
        .ok_or_else(|| "the rendered image is missing from the scratch store".to_string())?;
    std::fs::write(&args.out, png)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    let denoise = output
        .timings
        .iter()
        .find(|(n, _)| n == "denoise")
        .map_or(0.0, |(_, ms)| *ms);
    println!(
        "wrote {} ({}x{}, seed {seed}, {} on {}, {:.0} ms denoising; settings {}, runner runs {})",
        args.out.display(),
        snapshot.settings().width,
        snapshot.settings().height,
        info.name,
        info.device,
        denoise,
        &snapshot.hash()[..16],
        runner.invocations(job_id),
    );
    Ok(())
}

/// `FILE.safetensors:TENSOR` → a reference pinned by the hash of the tensor's values.
fn latents_ref(spec: &str) -> Result<LatentsRef, Failure> {
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
    let file =
        std::fs::canonicalize(file).map_or_else(|_| file.to_string(), |p| p.display().to_string());
    Ok(LatentsRef {
        file,
        tensor: name.to_string(),
        values_hash: latents_hash(&tensor.values),
    })
}

fn random_seed() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (nanos as u64) ^ (u64::from(std::process::id()) << 32)
}
