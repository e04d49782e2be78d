//! Full pipeline runs equal diffusers' for every scheduler, both tiny models, with guidance,
//! a negative prompt and two candidates in one batch: intermediate latents to ~1e-3 and final
//! images within 2/255 per pixel. Also img2img and per-candidate steering offsets.

use std::collections::VecDeque;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;

use engine::image::RgbImage;
use engine::noise::NoisePurpose;
use engine::request::{Candidate, InitImage, Phase, RenderRequest, Steering};
use engine::schedulers::SchedulerKind;
use engine::stable_diffusion::pipeline::BatchNoise;

use crate::fixtures::{assert_close, engine, get, json, reference, to_bytes};

/// Replays diffusers' `randn_tensor` draws in call order.
struct Replay(VecDeque<Vec<f32>>);

impl BatchNoise for Replay {
    fn draw(&mut self, _purpose: NoisePurpose, per_candidate: usize) -> Vec<f32> {
        let v = self.0.pop_front().expect("diffusers drew noise here too");
        assert_eq!(v.len() % per_candidate, 0);
        v
    }
}

fn request(model: &str, scheduler: SchedulerKind, candidates: Vec<Candidate>) -> RenderRequest {
    let size = engine(model).info().default_size;
    RenderRequest {
        prompt: "a photograph of an astronaut riding a horse".into(),
        negative_prompt: "blurry, low quality".into(),
        scheduler,
        steps: 6,
        guidance_scale: 7.5,
        width: size,
        height: size,
        clip_skip: 0,
        candidates,
        init_image: None,
    }
}

fn explicit(latents: &[f32], count: usize, steering: Option<&[f32]>) -> Vec<Candidate> {
    let per = latents.len() / count;
    (0..count)
        .map(|k| Candidate {
            seed: k as u64,
            init_latents: Some(latents[k * per..(k + 1) * per].to_vec()),
            steering: steering.map(|s| {
                let n = s.len() / count;
                Steering::Offset(s[k * n..(k + 1) * n].to_vec())
            }),
        })
        .collect()
}

fn assert_image(what: &str, images: &[RgbImage], reference_nhwc: &[f32]) {
    let expected = to_bytes(reference_nhwc);
    let actual: Vec<u8> = images
        .iter()
        .flat_map(|i| i.pixels.iter().copied())
        .collect();
    assert_eq!(actual.len(), expected.len(), "{what}: image size");
    let worst = actual
        .iter()
        .zip(&expected)
        .map(|(a, e)| a.abs_diff(*e))
        .max()
        .unwrap();
    let mean = actual
        .iter()
        .zip(&expected)
        .map(|(a, e)| f64::from(a.abs_diff(*e)))
        .sum::<f64>()
        / actual.len() as f64;
    eprintln!("{what}: max pixel diff {worst}/255, mean {mean:.4}");
    assert!(worst <= 2, "{what}: a pixel differs by {worst}/255");
}

#[test]
fn txt2img_matches_diffusers_for_every_scheduler() {
    for model in ["tiny-sd1", "tiny-sd2"] {
        let meta = json(&format!("{model}/reference.json"));
        let r = reference(model);
        let e = engine(model);
        for case in meta["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["kind"] == "txt2img")
        {
            let name = case["name"].as_str().unwrap();
            let kind = SchedulerKind::from_str(case["scheduler"].as_str().unwrap()).unwrap();
            let prefix = format!("pipe.{name}");
            let noise: VecDeque<Vec<f32>> = (0..case["noise_count"].as_u64().unwrap())
                .map(|k| get(r, &format!("{prefix}.noise.{k}")).values.clone())
                .collect();
            let req = request(
                model,
                kind,
                explicit(&get(r, &format!("{prefix}.latents_init")).values, 2, None),
            );
            let mut steps_seen = Vec::new();
            let out = e
                .render_with_noise(
                    &req,
                    &mut Replay(noise),
                    &mut |p| {
                        if p.phase == Phase::Denoising {
                            assert_eq!(p.previews.len(), 2);
                            steps_seen.push(p.step);
                        }
                    },
                    &AtomicBool::new(false),
                )
                .unwrap_or_else(|err| panic!("{model} {name}: {err}"));
            let expected_steps: Vec<f64> = case["timesteps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(
                out.timesteps.len(),
                expected_steps.len(),
                "{model} {name}: timesteps"
            );
            assert_eq!(
                steps_seen,
                (1..=expected_steps.len()).collect::<Vec<_>>(),
                "{model} {name}: progress"
            );
            let last = expected_steps.len() - 1;
            let final_latents: Vec<f32> = out.latents.concat();
            let reference_latents = &get(r, &format!("{prefix}.latents.{last}")).values;
            let scale = reference_latents.iter().fold(1f32, |m, v| m.max(v.abs()));
            assert_close(
                &format!("{model} {name} final latents"),
                &final_latents,
                reference_latents,
                2e-3 * scale,
            );
            assert_image(
                &format!("{model} {name}"),
                &out.images,
                &get(r, &format!("{prefix}.image")).values,
            );
        }
    }
}

#[test]
fn steering_offsets_move_each_candidates_positive_embeddings() {
    let r = reference("tiny-sd1");
    let e = engine("tiny-sd1");
    let delta = &get(r, "pipe.steer.delta").values;
    let req = request(
        "tiny-sd1",
        SchedulerKind::Ddim,
        explicit(&get(r, "pipe.steer.latents_init").values, 2, Some(delta)),
    );
    let out = e
        .render_with_noise(
            &req,
            &mut Replay(VecDeque::new()),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_image("steered", &out.images, &get(r, "pipe.steer.image").values);
    // Without the offsets the same latents give other images.
    let plain = request(
        "tiny-sd1",
        SchedulerKind::Ddim,
        explicit(&get(r, "pipe.steer.latents_init").values, 2, None),
    );
    let unsteered = e
        .render_with_noise(
            &plain,
            &mut Replay(VecDeque::new()),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_ne!(unsteered.images, out.images);
}

#[test]
fn img2img_matches_diffusers() {
    let meta = json("tiny-sd1/reference.json");
    let r = reference("tiny-sd1");
    let e = engine("tiny-sd1");
    let image = RgbImage::from_chw(
        &get(r, "img2img.image")
            .values
            .iter()
            .map(|v| v * 2.0 - 1.0)
            .collect::<Vec<_>>(),
        64,
        64,
    );
    let cases = meta["img2img"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let kind = SchedulerKind::from_str(case["scheduler"].as_str().unwrap()).unwrap();
        let prefix = format!("img2img.{name}");
        let noise: VecDeque<Vec<f32>> = (0..case["noise_count"].as_u64().unwrap())
            .map(|k| get(r, &format!("{prefix}.noise.{k}")).values.clone())
            .collect();
        let mut req = request(
            "tiny-sd1",
            kind,
            vec![Candidate {
                seed: 0,
                init_latents: None,
                steering: None,
            }],
        );
        req.init_image = Some(InitImage {
            image: image.clone(),
            strength: case["strength"].as_f64().unwrap_or(0.6),
        });
        let out = e
            .render_with_noise(
                &req,
                &mut Replay(noise),
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .unwrap();
        let used: Vec<f32> = case["used_timesteps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(
            out.timesteps.iter().map(|&t| t as f32).collect::<Vec<_>>(),
            used,
            "{name}: timesteps"
        );
        assert_image(
            &format!("img2img {name}"),
            &out.images,
            &get(r, &format!("{prefix}.image")).values,
        );
    }
}

#[test]
fn cancellation_stops_between_steps() {
    let e = engine("tiny-sd1");
    let req = request(
        "tiny-sd1",
        SchedulerKind::Euler,
        vec![Candidate {
            seed: 1,
            init_latents: None,
            steering: None,
        }],
    );
    let cancel = AtomicBool::new(false);
    let err = e
        .render(
            &req,
            &mut |p| {
                if p.phase == Phase::Denoising && p.step == 2 {
                    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            },
            &cancel,
        )
        .unwrap_err();
    assert_eq!(err, engine::EngineError::Cancelled { step: 2, total: 6 });
}

#[test]
fn seeds_are_per_candidate_and_reproducible() {
    let e = engine("tiny-sd1");
    let one = |seeds: &[u64]| {
        let req = request(
            "tiny-sd1",
            SchedulerKind::EulerAncestral,
            seeds
                .iter()
                .map(|&seed| Candidate {
                    seed,
                    init_latents: None,
                    steering: None,
                })
                .collect(),
        );
        e.render(&req, &mut |_| {}, &AtomicBool::new(false))
            .unwrap()
            .images
    };
    let alone = one(&[7]);
    let batched = one(&[3, 7]);
    assert_eq!(alone, one(&[7]), "same seed, same image");
    // A candidate's image does not depend on its batch neighbours (the batch changes float
    // summation order only within rounding).
    let diff = alone[0]
        .pixels
        .iter()
        .zip(&batched[1].pixels)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(diff <= 2, "batching changed a pixel by {diff}");
    assert_ne!(batched[0], batched[1]);
}
