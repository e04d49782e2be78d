//! Every scheduler case of `schedulers.json` (diffusers' own `set_timesteps`, `step`,
//! `scale_model_input` and `add_noise` on random tensors) is reproduced step by step.

use std::collections::VecDeque;
use std::str::FromStr;

use engine::schedulers::{build, NoiseSource, SchedulerConfig, SchedulerKind};

use crate::fixtures::{assert_close, get, json, tensors};

struct Recorded(VecDeque<Vec<f32>>);

impl NoiseSource for Recorded {
    fn standard_normal(&mut self, len: usize) -> Vec<f32> {
        let v = self.0.pop_front().expect("diffusers drew noise here too");
        assert_eq!(v.len(), len);
        v
    }
}

#[test]
fn schedulers_match_diffusers_step_by_step() {
    let fixture = json("schedulers.json");
    let data = tensors("schedulers.safetensors");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let kind = SchedulerKind::from_str(case["scheduler"].as_str().unwrap()).unwrap();
        let config = SchedulerConfig::from_json_str(&case["config"].to_string()).unwrap();
        let steps = case["num_inference_steps"].as_u64().unwrap() as usize;
        let mut scheduler = build(kind, &config, steps).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected: Vec<f64> = case["timesteps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(
            scheduler.timesteps().len(),
            expected.len(),
            "{name}: timestep count"
        );
        for (a, e) in scheduler.timesteps().iter().zip(&expected) {
            assert!(
                (a - e).abs() < 1e-3,
                "{name}: timesteps {:?} vs {expected:?}",
                scheduler.timesteps()
            );
        }
        let sigma = case["init_noise_sigma"].as_f64().unwrap();
        assert!(
            (scheduler.init_noise_sigma() - sigma).abs() < 1e-4 * sigma.max(1.0),
            "{name}: init_noise_sigma"
        );

        let noise_steps: Vec<usize> = case["noise_steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let mut noise = Recorded(
            noise_steps
                .iter()
                .map(|i| get(&data, &format!("{name}.noise.{i}")).values.clone())
                .collect(),
        );
        let mut sample = get(&data, &format!("{name}.sample0")).values.clone();
        for i in 0..expected.len() {
            let scaled = scheduler.scale_model_input(&sample, i);
            assert_close(
                &format!("{name}: scaled {i}"),
                &scaled,
                &get(&data, &format!("{name}.scaled.{i}")).values,
                2e-5,
            );
            let output = &get(&data, &format!("{name}.model_output.{i}")).values;
            let prev = scheduler.step(output, i, &sample, &mut noise).unwrap();
            let reference = &get(&data, &format!("{name}.prev.{i}")).values;
            let scale = reference.iter().fold(1f32, |m, v| m.max(v.abs()));
            assert_close(&format!("{name}: step {i}"), &prev, reference, 5e-5 * scale);
            // Continue from diffusers' value so one step's rounding cannot compound.
            sample = reference.clone();
        }
        assert!(noise.0.is_empty(), "{name}: diffusers drew more noise");

        let index = case["add_noise_timestep_index"].as_u64().unwrap() as usize;
        let fresh = build(kind, &config, steps).unwrap();
        let noisy = fresh.add_noise(
            &get(&data, &format!("{name}.add_noise.original")).values,
            &get(&data, &format!("{name}.add_noise.noise")).values,
            index,
        );
        assert_close(
            &format!("{name}: add_noise"),
            &noisy,
            &get(&data, &format!("{name}.add_noise.result")).values,
            1e-4,
        );
    }
}

#[test]
fn unsupported_settings_are_errors_naming_the_key() {
    let base = SchedulerConfig::from_json_str(
        r#"{"beta_schedule": "scaled_linear", "skip_prk_steps": true}"#,
    )
    .unwrap();
    let bad = base.clone().with("timestep_spacing", "sideways".into());
    let err = build(SchedulerKind::Euler, &bad, 10)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("timestep_spacing"), "{err}");
    let bad = base.clone().with("beta_schedule", "cubic".into());
    let err = build(SchedulerKind::Ddim, &bad, 10)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("beta_schedule"), "{err}");
    assert!(build(SchedulerKind::Ddim, &base, 0).is_err());
    assert!(build(SchedulerKind::Ddim, &base, 1001).is_err());
    let err = build(
        SchedulerKind::Pndm,
        &base.clone().with("skip_prk_steps", false.into()),
        10,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("skip_prk_steps"), "{err}");
    assert!(SchedulerKind::from_str("heun").is_err());
    for kind in SchedulerKind::ALL {
        assert_eq!(SchedulerKind::from_str(kind.name()).unwrap(), kind);
    }
}
