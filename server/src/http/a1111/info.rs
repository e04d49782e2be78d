//! The read-mostly endpoints clients call to discover the server: options (GET/POST),
//! samplers, schedulers, sd-models (many tools' health check), scripts (webuiapi's
//! constructor), and the empty-but-well-formed lists for features this server does not have
//! (VAEs, upscalers, LoRAs, embeddings).

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};

use super::errors::{object_body, A1111Error, A1111Result};
use super::model::ModelIdentity;
use super::options;
use super::samplers;
use crate::state::AppState;

/// `GET /sdapi/v1/options`.
pub async fn get_options(State(state): State<AppState>) -> Json<Value> {
    let identity = ModelIdentity::of(&state);
    let mut out: Map<String, Value> = options::remembered(&state);
    let fixed = json!({
        "sd_model_checkpoint": identity.title,
        "sd_checkpoint_hash": identity.hash,
        "samples_format": "png",
        "grid_format": "png",
        "CLIP_stop_at_last_layers": options::clip_stop(&state),
        "sd_vae": "Automatic",
        "eta_noise_seed_delta": 0,
        "samples_save": true,
        "enable_pnginfo": true,
        "live_previews_enable": true,
        "show_progress_every_n_steps": 1,
    });
    if let Value::Object(fixed) = fixed {
        out.extend(fixed);
    }
    Json(Value::Object(out))
}

/// `POST /sdapi/v1/options`: a dict, recorded in the log for every later request; answers `null`.
pub async fn set_options(State(state): State<AppState>, body: Bytes) -> A1111Result<Json<Value>> {
    let options = object_body(&body)?;
    let identity = ModelIdentity::of(&state);
    match options.get("sd_model_checkpoint") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) if identity.matches(name) => {}
        Some(Value::String(name)) => {
            return Err(A1111Error::bad_request(format!(
                "model {name:?} not found (this server runs {})",
                identity.title
            )))
        }
        Some(_) => {
            return Err(A1111Error::invalid(
                "sd_model_checkpoint",
                "value is not a valid str",
            ))
        }
    }
    match options.get("CLIP_stop_at_last_layers") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_u64().is_some_and(|n| (1..=12).contains(&n)) => {}
        Some(_) => {
            return Err(A1111Error::invalid(
                "CLIP_stop_at_last_layers",
                "must be an integer from 1 to 12",
            ))
        }
    }
    let mut keep = options.clone();
    keep.retain(|k, v| !v.is_null() && k != "sd_model_checkpoint");
    options::remember(&state, keep).await?;
    Ok(Json(Value::Null))
}

/// `GET /sdapi/v1/cmd-flags`.
pub async fn cmd_flags(State(state): State<AppState>) -> Json<Value> {
    let info = state.services.runner.model();
    Json(json!({
        "api": true,
        "nowebui": false,
        "listen": false,
        "ckpt": ModelIdentity::of(&state).filename,
        "device": info.device.to_string(),
        "precision": info.unet_dtype,
        "no_half": info.unet_dtype == "f32",
        "data_dir": state.runtime.data_dir.display().to_string(),
    }))
}

/// `GET /sdapi/v1/samplers`.
pub async fn get_samplers() -> Json<Value> {
    Json(samplers::sampler_list())
}

/// `GET /sdapi/v1/schedulers`.
pub async fn get_schedulers() -> Json<Value> {
    Json(samplers::scheduler_list())
}

/// `GET /sdapi/v1/sd-models`.
pub async fn sd_models(State(state): State<AppState>) -> Json<Value> {
    Json(json!([ModelIdentity::of(&state).sd_model_entry()]))
}

/// `POST /sdapi/v1/refresh-checkpoints` (nothing to rescan: one model per process).
pub async fn refresh() -> Json<Value> {
    Json(Value::Null)
}

/// `GET /sdapi/v1/scripts`.
pub async fn scripts() -> Json<Value> {
    Json(json!({"txt2img": [], "img2img": []}))
}

/// `GET /sdapi/v1/embeddings`.
pub async fn embeddings() -> Json<Value> {
    Json(json!({"loaded": {}, "skipped": {}}))
}

/// `GET /sdapi/v1/sd-vae`, `/upscalers`, `/loras`, ...: nothing of the kind here.
pub async fn empty_list() -> Json<Value> {
    Json(json!([]))
}

/// `GET /sdapi/v1/memory`: this process's resident memory (Linux) and the system total.
pub async fn memory() -> Json<Value> {
    let field = |text: &str, key: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kib| kib * 1024.0)
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let used = field(&status, "VmRSS:").unwrap_or(0.0);
    let total = field(&meminfo, "MemTotal:").unwrap_or(0.0);
    let free = field(&meminfo, "MemAvailable:").unwrap_or(0.0);
    Json(json!({
        "ram": {"free": free, "used": used, "total": total},
        "cuda": {"error": "not reported by this server"},
    }))
}
