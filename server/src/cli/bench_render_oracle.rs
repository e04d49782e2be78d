//! `stablesteering bench oracle --render`: whole steering sessions through the real server,
//! runner and engine with the demo model, judged on the rendered pictures.
//!
//! Each task is a prompt and a hidden target: the same prompt with one attribute changed
//! ("a red circle …" → "a purple circle …"). The target's look (object colour, size, background
//! colour) is read from a render of the target prompt. A simulated user picks, every round, the
//! candidate whose picture is closest to that look. Three arms spend the same number of new
//! renders: the default strategy (`preference`), random proposals in the same session machinery
//! (`acquisition: random`), and seed best-of-N of the plain prompt through `/sdapi/v1/txt2img`.
//! Reported per arm: the fraction of the plain prompt's distance closed by the best picture seen,
//! with bootstrap 95 % intervals, and the paired difference of the default strategy to each
//! baseline.

use base64::Engine as _;
use serde_json::{json, Value};

use super::bench_api::{call, start_server_with};
use super::Failure;
use crate::demo_scenes::{read_scene, vocabulary, SceneReading};

/// (prompt, hidden target prompt): one attribute differs.
const TASKS: [(&str, &str); 6] = [
    (
        "a red circle on a blue background",
        "a purple circle on a blue background",
    ),
    (
        "a small yellow star on a green background",
        "a large yellow star on a green background",
    ),
    (
        "a white square on a black background",
        "a pink square on a black background",
    ),
    (
        "a green triangle on a white background",
        "a blue triangle on a white background",
    ),
    (
        "an orange heart on a purple background",
        "an orange heart on a yellow background",
    ),
    (
        "a large blue ring on a pink background",
        "a small blue ring on a pink background",
    ),
];

/// Options of the render oracle.
#[derive(Debug, Clone)]
pub struct RenderOracleOptions {
    /// A diffusers folder (default: the built-in demo model).
    pub model: Option<std::path::PathBuf>,
    /// Sessions per task (different seeds).
    pub sessions_per_task: usize,
    /// Rounds per session.
    pub rounds: usize,
    /// Candidates per round.
    pub candidates: usize,
    /// Denoising steps of every render.
    pub steps: usize,
}

impl Default for RenderOracleOptions {
    fn default() -> Self {
        RenderOracleOptions {
            model: None,
            sessions_per_task: 2,
            rounds: 6,
            candidates: 4,
            steps: 25,
        }
    }
}

/// One session's outcome per arm: (distance of the plain prompt, best distance seen, renders).
#[derive(Debug, Clone, serde::Serialize)]
struct SessionResult {
    task: usize,
    seed: u64,
    plain: f64,
    preference: f64,
    random_z: f64,
    best_of_n: f64,
    renders: usize,
    preference_by_round: Vec<f64>,
}

/// What the simulated user compares: object colour, object size and background colour.
#[derive(Debug, Clone, Copy)]
struct Look {
    object_rgb: Option<[f32; 3]>,
    size: f64,
    background_rgb: [f32; 3],
}

impl Look {
    fn of(reading: &SceneReading) -> Look {
        Look {
            object_rgb: reading.object.as_ref().map(|o| o.rgb),
            size: reading
                .object
                .as_ref()
                .map_or(0.0, |o| (o.area as f64).sqrt()),
            background_rgb: reading.background_rgb,
        }
    }

    /// Colour distances in units of 255, size in units of 16 pixels; a missing object costs 2.
    fn distance(&self, target: &Look) -> f64 {
        let rgb = |a: &[f32; 3], b: &[f32; 3]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| ((x - y) as f64).powi(2))
                .sum::<f64>()
                .sqrt()
                / 255.0
        };
        let object = match (&self.object_rgb, &target.object_rgb) {
            (Some(a), Some(b)) => rgb(a, b) + (self.size - target.size).abs() / 16.0,
            _ => 2.0,
        };
        object + rgb(&self.background_rgb, &target.background_rgb)
    }
}

/// Runs the render oracle and prints its report (and JSON when asked).
pub fn run(options: &RenderOracleOptions, print_json: bool) -> Result<(), Failure> {
    let (base, data) = start_server_with("oracle-render", options.model.clone())?;
    let result = run_sessions(&base, options);
    let _ = std::fs::remove_dir_all(&data);
    let results = result.map_err(|e| format!("bench oracle --render: {e}"))?;
    report(options, &results, print_json);
    Ok(())
}

fn run_sessions(base: &str, options: &RenderOracleOptions) -> Result<Vec<SessionResult>, String> {
    let mut results = Vec::new();
    for (task, (prompt, target_prompt)) in TASKS.iter().enumerate() {
        for s in 0..options.sessions_per_task {
            let seed = 7000 + (task * 100 + s) as u64;
            let target = Look::of(&txt2img(base, target_prompt, seed, 1, options.steps)?[0]);
            let plain_pictures = txt2img(base, prompt, seed, 1, options.steps)?;
            let plain = Look::of(&plain_pictures[0]).distance(&target);
            let (preference_by_round, renders) = steer(base, prompt, &target, options, "")?;
            let (random_by_round, _) =
                steer(base, prompt, &target, options, "acquisition: random\n")?;
            let best_of_n = txt2img(base, prompt, seed + 1, renders, options.steps)?
                .iter()
                .map(|r| Look::of(r).distance(&target))
                .fold(f64::INFINITY, f64::min);
            let last = |v: &[f64]| v.last().copied().unwrap_or(f64::NAN);
            let result = SessionResult {
                task,
                seed,
                plain,
                preference: last(&preference_by_round),
                random_z: last(&random_by_round),
                best_of_n,
                renders,
                preference_by_round,
            };
            eprintln!(
                "task {task} seed {seed}: plain {:.3}, preference {:.3}, random z {:.3}, best-of-{renders} {:.3}",
                result.plain, result.preference, result.random_z, result.best_of_n
            );
            results.push(result);
        }
    }
    Ok(results)
}

/// One session of the default strategy (plus `extra_yaml`): the user picks the closest picture
/// every round. Answers the best distance seen after each round and the number of new renders.
fn steer(
    base: &str,
    prompt: &str,
    target: &Look,
    options: &RenderOracleOptions,
    extra_yaml: &str,
) -> Result<(Vec<f64>, usize), String> {
    let config = format!(
        "feedback_mode: winner_only\nimage_size: 64x64\nnum_inference_steps: {}\ncandidate_count: {}\n{extra_yaml}",
        options.steps, options.candidates
    );
    let (created, _) = call(
        "POST",
        &format!("{base}/setup/session"),
        Some(json!({"experiment_name": "render oracle", "prompt": prompt, "config_yaml": config})),
    )?;
    let sid = created["session"]["id"]
        .as_str()
        .ok_or("no session id")?
        .to_string();
    let (mut best, mut by_round, mut seen) = (f64::INFINITY, Vec::new(), Vec::<String>::new());
    for _ in 0..options.rounds {
        let (round, _) = call("POST", &format!("{base}/sessions/{sid}/rounds/next"), None)?;
        let rid = round["round_id"].as_str().ok_or("no round id")?;
        let candidates = round["candidate_metadata"]
            .as_array()
            .ok_or("no candidates")?;
        let mut winner: Option<(f64, Value)> = None;
        for c in candidates {
            let hash = c["artifact_hash"]
                .as_str()
                .ok_or("a candidate without a picture")?;
            if !seen.iter().any(|h| h == hash) {
                seen.push(hash.to_string());
            }
            let png = get_bytes(&format!("{base}/api/artifacts/{hash}"))?;
            let d = Look::of(&read_png(&png)?).distance(target);
            best = best.min(d);
            if winner.as_ref().is_none_or(|(w, _)| d < *w) {
                winner = Some((d, c["id"].clone()));
            }
        }
        by_round.push(best);
        let (_, winner_id) = winner.ok_or("an empty round")?;
        call(
            "POST",
            &format!("{base}/rounds/{rid}/feedback"),
            Some(
                json!({"feedback_type": "winner_only", "payload": {"winner_candidate_id": winner_id}}),
            ),
        )?;
    }
    Ok((by_round, seen.len()))
}

/// `count` pictures of `prompt` from seeds `seed..seed + count`, through `/sdapi/v1/txt2img`.
fn txt2img(
    base: &str,
    prompt: &str,
    seed: u64,
    count: usize,
    steps: usize,
) -> Result<Vec<SceneReading>, String> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (answer, _) = call(
            "POST",
            &format!("{base}/sdapi/v1/txt2img"),
            Some(json!({
                "prompt": prompt, "seed": seed + i as u64, "steps": steps, "cfg_scale": 7.5,
                "width": 64, "height": 64, "sampler_name": "DPM++ 2M",
            })),
        )?;
        let b64 = answer["images"][0]
            .as_str()
            .ok_or("txt2img answered no image")?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("txt2img image: {e}"))?;
        out.push(read_png(&png)?);
    }
    Ok(out)
}

fn read_png(png: &[u8]) -> Result<SceneReading, String> {
    let (image, _) = engine::image::RgbImage::from_png(png).map_err(|e| e.to_string())?;
    Ok(read_scene(
        vocabulary(),
        &image.pixels,
        image.width,
        image.height,
    ))
}

fn get_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = ureq::get(url)
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes)
        .map_err(|e| format!("GET {url}: {e}"))?;
    Ok(bytes)
}

/// Mean and bootstrap 95 % interval (2,000 resamples, fixed seed) of `xs`.
fn mean_ci(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n.max(1) as f64;
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    let mut means: Vec<f64> = (0..2000)
        .map(|_| (0..n).map(|_| xs[next()]).sum::<f64>() / n.max(1) as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    (mean, means[50], means[1949])
}

fn report(options: &RenderOracleOptions, results: &[SessionResult], print_json: bool) {
    let closed = |f: fn(&SessionResult) -> f64| -> Vec<f64> {
        results
            .iter()
            .map(|r| (r.plain - f(r)) / r.plain.max(1e-9))
            .collect()
    };
    let arms: [(&str, Vec<f64>); 3] = [
        ("preference (default)", closed(|r| r.preference)),
        ("random z (acquisition: random)", closed(|r| r.random_z)),
        ("seed best-of-N", closed(|r| r.best_of_n)),
    ];
    println!(
        "render oracle: {} tasks x {} sessions, {} rounds x {} candidates, {} steps; fraction of the plain prompt's distance to the target closed by the best picture seen (equal new renders per arm)",
        TASKS.len(), options.sessions_per_task, options.rounds, options.candidates, options.steps
    );
    let mut json_arms = serde_json::Map::new();
    for (name, xs) in &arms {
        let (m, lo, hi) = mean_ci(xs);
        println!("  {name:<32} {m:+.3}  [{lo:+.3}, {hi:+.3}]");
        json_arms.insert(name.to_string(), json!({"mean": m, "ci95": [lo, hi]}));
    }
    for (name, xs) in &arms[1..] {
        let diff: Vec<f64> = arms[0].1.iter().zip(xs).map(|(a, b)| a - b).collect();
        let (m, lo, hi) = mean_ci(&diff);
        println!("  preference − {name:<19} {m:+.3}  [{lo:+.3}, {hi:+.3}] (paired)");
        json_arms.insert(
            format!("preference minus {name}"),
            json!({"mean": m, "ci95": [lo, hi]}),
        );
    }
    for (t, (prompt, target)) in TASKS.iter().enumerate() {
        let of: Vec<&SessionResult> = results.iter().filter(|r| r.task == t).collect();
        let mean = |f: fn(&SessionResult) -> f64| {
            of.iter().map(|r| f(r)).sum::<f64>() / of.len().max(1) as f64
        };
        println!(
            "    {prompt} → {target}: distance plain {:.3}, preference {:.3}, random z {:.3}, best-of-N {:.3}",
            mean(|r| r.plain), mean(|r| r.preference), mean(|r| r.random_z), mean(|r| r.best_of_n)
        );
    }
    if print_json {
        println!("{}", json!({"arms": json_arms, "sessions": results}));
    }
}
