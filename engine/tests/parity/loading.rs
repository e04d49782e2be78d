//! Loading errors: wrong folders, missing tensors and bad configs are one clear error each.

use std::path::{Path, PathBuf};

use engine::runtime::{Engine, Precision};
use engine::{DeviceRequest, EngineError};

use crate::fixtures::model_dir;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ss-load-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&model_dir("tiny-sd1"), &dir);
    dir
}

fn load(dir: &Path) -> Result<Engine, EngineError> {
    Engine::load(dir, DeviceRequest::Cpu, Precision::F32)
}

#[test]
fn a_folder_that_is_not_a_model_says_what_was_expected() {
    let err = load(Path::new("/nonexistent/model"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("not a Stable Diffusion model folder"), "{err}");
    let err = load(&model_dir("tiny-sd1").join("unet"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("model_index.json"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn a_missing_tensor_is_named_and_refused() {
    let dir = scratch("missing");
    // Rewrite the VAE without one norm tensor.
    let path = dir.join("vae/diffusion_pytorch_model.safetensors");
    let tensors = engine::stable_diffusion::weights::read_f32_tensors(&path).unwrap();
    let kept: Vec<(&String, &engine::stable_diffusion::weights::F32Tensor)> = tensors
        .iter()
        .filter(|(k, _)| k.as_str() != "decoder.conv_norm_out.weight")
        .collect();
    std::fs::write(
        &path,
        engine::stable_diffusion::weights::write_f32_safetensors(&kept),
    )
    .unwrap();
    let err = load(&dir).err().unwrap();
    match &err {
        EngineError::MissingWeights {
            component,
            keys,
            count,
            ..
        } => {
            assert_eq!(component, "vae");
            assert_eq!(*count, 1);
            assert_eq!(keys, &vec!["decoder.conv_norm_out.weight".to_string()]);
        }
        other => panic!("expected MissingWeights, got {other}"),
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_config_that_disagrees_with_the_weights_is_a_shape_error() {
    let dir = scratch("shape");
    let path = dir.join("unet/config.json");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"cross_attention_dim\": 32", "\"cross_attention_dim\": 48");
    std::fs::write(&path, text).unwrap();
    let err = load(&dir).err().unwrap().to_string();
    assert!(err.contains("cross_attention_dim"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unsupported_architectures_are_named() {
    let dir = scratch("arch");
    let path = dir.join("model_index.json");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("StableDiffusionPipeline", "StableDiffusionXLPipeline");
    std::fs::write(&path, text).unwrap();
    let err = load(&dir).err().unwrap().to_string();
    assert!(err.contains("StableDiffusionXLPipeline"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
