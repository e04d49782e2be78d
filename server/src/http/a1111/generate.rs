//! `POST /sdapi/v1/txt2img` and `POST /sdapi/v1/img2img`: an A1111 request becomes a sealed
//! settings snapshot, queued as a `txt2img` / `img2img` job and rendered by the runner like
//! every other image of the product (so it lands in the event log, history and exports), then
//! answered in A1111's shape once the job ends.
//!
//! An interrupted or skipped job answers 200 with no images (A1111 would return the partly
//! denoised picture; our runner stops between steps and keeps nothing). `save_images` has no
//! effect: every image is stored as an artifact anyway.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use engine::image::RgbImage;
use engine::parameters::a1111_sampler;
use serde_json::{json, Map, Value};

use super::clients::{self, ActiveJob, Client};
use super::errors::{A1111Error, A1111Result};
use super::init_image::{decode_base64, encode_base64, resize};
use super::model::ModelIdentity;
use super::request::GenerationRequest;
use super::samplers;
use crate::runner::{InitImageRef, RenderKind, Snapshot, SnapshotCandidate};
use crate::services::{JobKind, JobRecord, Services};
use crate::state::AppState;

/// Longest a request waits for its job.
pub const WAIT: Duration = Duration::from_secs(6 * 3600);

/// `POST /sdapi/v1/txt2img`.
pub async fn txt2img(
    State(state): State<AppState>,
    client: Client,
    body: Bytes,
) -> A1111Result<Json<Value>> {
    generate(state, client, &body, false).await.map(Json)
}

/// `POST /sdapi/v1/img2img`.
pub async fn img2img(
    State(state): State<AppState>,
    client: Client,
    body: Bytes,
) -> A1111Result<Json<Value>> {
    generate(state, client, &body, true).await.map(Json)
}

/// Removes the job from the caller's registry however the request ends (also when the client
/// hangs up and the handler future is dropped; the job itself runs on).
struct Registered(Client, uuid::Uuid);

impl Drop for Registered {
    fn drop(&mut self) {
        clients::unregister(self.0, self.1);
    }
}

async fn generate(
    state: AppState,
    client: Client,
    bytes: &[u8],
    img2img: bool,
) -> A1111Result<Value> {
    let body = super::errors::object_body(bytes)?;
    let req = GenerationRequest::parse(&body, img2img)?;
    let identity = ModelIdentity::of(&state);
    let clip_stop = check_overrides(&req.override_settings, &identity, &state)?;
    let scheduler = samplers::resolve(&req.sampler_name, req.scheduler.as_deref())
        .map_err(A1111Error::bad_request)?;
    let services = Arc::clone(&state.services);

    let kind = if img2img {
        RenderKind::Img2img
    } else {
        RenderKind::Txt2img
    };
    let mut s = services.runner.base_settings(kind);
    s.prompt = req.prompt.clone();
    s.negative_prompt = req.negative_prompt.clone();
    s.scheduler = scheduler.name().to_string();
    s.steps = req.steps as usize;
    s.guidance_scale = req.cfg_scale;
    s.clip_skip = clip_stop.saturating_sub(1) as usize;
    // Left out, the size is the model's own (base_settings), as everywhere else in the server:
    // A1111's 512 is SD 1.5's native size, not a size every model can draw.
    s.width = req.width.map_or(s.width, |w| w as usize);
    s.height = req.height.map_or(s.height, |h| h as usize);
    if img2img {
        let (hash, width, height) = store_init_image(&services, &req).await?;
        s.width = width;
        s.height = height;
        s.init_image = Some(InitImageRef {
            artifact_hash: hash,
            strength: req.denoising_strength,
        });
    }
    let seeds = req.seeds();
    s.candidates = seeds
        .iter()
        .map(|&seed| SnapshotCandidate {
            candidate_id: None,
            seed,
            z: None,
            init_latents: None,
        })
        .collect();
    let parameters = req.echo(&body, img2img, (s.width, s.height));
    s.context.insert("source".into(), json!("a1111"));
    s.context
        .insert("a1111_request".into(), Value::Object(parameters.clone()));
    s.context.insert("client".into(), json!(client.label()));
    let snapshot = Snapshot::seal(s);

    let job_kind = if img2img {
        JobKind::Img2img
    } else {
        JobKind::Txt2img
    };
    let job_id = services
        .queue_generation(job_kind, &snapshot)
        .await
        .map_err(|e| A1111Error::from(rename_fields(e)))?;
    let timestamp = chrono_like_now();
    clients::register(
        client,
        ActiveJob {
            job_id,
            kind: job_kind.as_str(),
            timestamp: timestamp.clone(),
            skipped: false,
            interrupted: false,
        },
    );
    let _registered = Registered(client, job_id);
    let record = services.wait_terminal(job_id, WAIT).await.ok_or_else(|| {
        A1111Error::http(
            StatusCode::GATEWAY_TIMEOUT,
            format!("job {job_id} did not finish in time"),
        )
    })?;
    let images = match record.state.as_str() {
        "succeeded" => load_images(&services, &record)?,
        "cancelled" => Vec::new(),
        _ => {
            return Err(A1111Error::http(
                StatusCode::INTERNAL_SERVER_ERROR,
                record
                    .error
                    .clone()
                    .unwrap_or_else(|| "the render failed".into()),
            ))
        }
    };
    let settings = snapshot.settings();
    let (sampler_label, schedule_label) = a1111_sampler(scheduler);
    let info = json!({
        "prompt": req.prompt,
        "all_prompts": vec![req.prompt.clone(); seeds.len()],
        "negative_prompt": req.negative_prompt,
        "all_negative_prompts": vec![req.negative_prompt.clone(); seeds.len()],
        "seed": seeds.first(),
        "all_seeds": seeds,
        "subseed": req.subseed,
        "all_subseeds": vec![req.subseed; seeds.len()],
        "subseed_strength": req.subseed_strength,
        "width": settings.width,
        "height": settings.height,
        "sampler_name": sampler_label,
        "scheduler": schedule_label,
        "cfg_scale": req.cfg_scale,
        "steps": req.steps,
        "batch_size": req.batch_size,
        "n_iter": req.n_iter,
        "restore_faces": false,
        "sd_model_name": identity.name,
        "sd_model_hash": identity.short_hash,
        "sd_vae_name": null,
        "sd_vae_hash": null,
        "seed_resize_from_w": -1,
        "seed_resize_from_h": -1,
        "denoising_strength": if img2img { json!(req.denoising_strength) } else { Value::Null },
        "extra_generation_params": {},
        "index_of_first_image": 0,
        "infotexts": images.iter().map(|(_, text)| text.clone()).collect::<Vec<_>>(),
        "styles": [],
        "job_timestamp": timestamp,
        "clip_skip": clip_stop,
        "is_using_inpainting_conditioning": false,
        "version": format!("stablesteering {}", crate::VERSION),
        "job_id": job_id,
        "settings_hash": snapshot.hash(),
        "interrupted": record.state == "cancelled",
    });
    let images: Vec<String> = if req.send_images {
        images.iter().map(|(png, _)| encode_base64(png)).collect()
    } else {
        Vec::new()
    };
    let mut parameters = parameters;
    if img2img && super::request::includes_init_images(&body) {
        let sent = body.get("init_images").cloned().unwrap_or(Value::Null);
        parameters.insert("init_images".into(), sent);
    }
    Ok(json!({
        "images": images,
        "parameters": parameters,
        "info": info.to_string(),
    }))
}

/// Checks `override_settings`: the checkpoint must be the loaded model; returns the
/// `CLIP_stop_at_last_layers` to use (the override, else the remembered option).
fn check_overrides(
    overrides: &Map<String, Value>,
    identity: &ModelIdentity,
    state: &AppState,
) -> A1111Result<u32> {
    match overrides.get("sd_model_checkpoint") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) if identity.matches(name) => {}
        Some(Value::String(name)) => {
            return Err(A1111Error::bad_request(format!(
            "Model not found: {name} (this server runs {}; it cannot switch models per request)",
            identity.title
        )))
        }
        Some(_) => {
            return Err(A1111Error::invalid(
                "override_settings",
                "sd_model_checkpoint must be a string",
            ))
        }
    }
    match overrides.get("CLIP_stop_at_last_layers") {
        None | Some(Value::Null) => Ok(super::options::clip_stop(state)),
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=12).contains(n))
            .map(|n| n as u32)
            .ok_or_else(|| {
                A1111Error::invalid(
                    "override_settings",
                    "CLIP_stop_at_last_layers must be an integer from 1 to 12",
                )
            }),
    }
}

/// Decodes, fits and stores the first init image; returns its artifact hash and size.
async fn store_init_image(
    services: &Arc<Services>,
    req: &GenerationRequest,
) -> A1111Result<(String, usize, usize)> {
    let Some(first) = req.init_images.as_ref().and_then(|list| list.first()) else {
        return Err(A1111Error::http(
            StatusCode::NOT_FOUND,
            "Init image not found",
        ));
    };
    let bytes = decode_base64(first).map_err(|e| A1111Error::invalid("init_images", e))?;
    let (width, height) = (req.width, req.height);
    let services = Arc::clone(services);
    tokio::task::spawn_blocking(move || {
        let (image, _) = RgbImage::from_png(&bytes)
            .map_err(|e| A1111Error::invalid("init_images", format!("{e} (PNG images only)")))?;
        let w = width.map_or(image.width, |w| w as usize);
        let h = height.map_or(image.height, |h| h as usize);
        let png = if (w, h) == (image.width, image.height) {
            bytes
        } else {
            if w == 0 || h == 0 || w > 8192 || h > 8192 {
                return Err(A1111Error::invalid("width", "size must be within 1..=8192"));
            }
            resize(&image, w, h)
                .to_png(&[])
                .map_err(|e| A1111Error::http(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        };
        let hash = services.runner.artifacts().put(&png).map_err(|e| {
            A1111Error::http(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot store the init image: {e}"),
            )
        })?;
        Ok((hash, w, h))
    })
    .await
    .map_err(|e| A1111Error::http(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// The PNG bytes and `parameters` text of every image of a finished job.
fn load_images(services: &Services, record: &JobRecord) -> A1111Result<Vec<(Vec<u8>, String)>> {
    let hashes: Vec<String> = record
        .result
        .as_ref()
        .and_then(|r| r.get("artifact_hashes"))
        .and_then(|h| serde_json::from_value(h.clone()).ok())
        .unwrap_or_default();
    hashes
        .iter()
        .map(|hash| {
            let png = services.runner.artifacts().get(hash).ok_or_else(|| {
                A1111Error::http(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("image artifact {hash} is missing"),
                )
            })?;
            let text = RgbImage::from_png(&png)
                .ok()
                .and_then(|(_, chunks)| {
                    chunks
                        .into_iter()
                        .find(|(k, _)| k == "parameters")
                        .map(|(_, v)| v)
                })
                .unwrap_or_default();
            Ok((png, text))
        })
        .collect()
}

/// Our field names → A1111's, so a 422 from the runner's checks names what the client sent.
fn rename_fields(mut e: crate::services::ServiceError) -> crate::services::ServiceError {
    if let Some(field) = &e.field {
        let renamed = match field.as_str() {
            "guidance_scale" => "cfg_scale",
            "clip_skip" => "override_settings",
            "candidates" => "batch_size",
            "scheduler" => "sampler_name",
            "init_image" | "image" => "init_images",
            other => other,
        };
        e.field = Some(renamed.to_string());
    }
    e
}

/// A1111's `job_timestamp` (`YYYYMMDDhhmmss`, UTC here).
pub fn chrono_like_now() -> String {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    crate::services::history::iso(us)
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect()
}
