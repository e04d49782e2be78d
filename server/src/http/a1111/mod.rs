//! The AUTOMATIC1111-compatible API, `/sdapi/v1/*`, served over the same runner as the
//! steering UI so the many tools that speak it (webuiapi, Krita and Photoshop plug-ins, bots)
//! generate through this server, and every image they get lands in the event log, the history
//! and the exports with full metadata (`parameters` + `stablesteering` PNG chunks).
//!
//! Specification: `shared/docs/a1111-api-notes.md` (A1111 v1.9/v1.10 shapes). One idea per
//! file: [`request`] (the body and its defaults), [`generate`] (txt2img/img2img through the
//! job queue), [`progress`] (progress/interrupt/skip for the caller's jobs, tracked in
//! [`clients`]), [`info`] (options, samplers, models and the other discovery endpoints),
//! [`png_info`], with [`samplers`], [`model`], [`init_image`] and [`errors`] underneath.
//! Check with a real client: `scripts/a1111-check.sh` (webuiapi from PyPI).

pub mod clients;
pub mod errors;
pub mod generate;
pub mod info;
pub mod init_image;
pub mod model;
pub mod options;
pub mod png_info;
pub mod progress;
pub mod request;
pub mod samplers;
pub mod unimplemented;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// Body limit of the routes that carry images (base64 PNGs).
pub const IMAGE_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Body limit of the others.
pub const SMALL_BODY_LIMIT: usize = 256 * 1024;

/// The `/sdapi/v1` routes.
pub fn routes() -> Router<AppState> {
    let images = Router::new()
        .route("/sdapi/v1/txt2img", post(generate::txt2img))
        .route("/sdapi/v1/img2img", post(generate::img2img))
        .route("/sdapi/v1/png-info", post(png_info::png_info))
        .layer(DefaultBodyLimit::max(IMAGE_BODY_LIMIT));
    let small = Router::new()
        .route("/sdapi/v1/progress", get(progress::progress))
        .route("/sdapi/v1/interrupt", post(progress::interrupt))
        .route("/sdapi/v1/skip", post(progress::skip))
        .route(
            "/sdapi/v1/options",
            get(info::get_options).post(info::set_options),
        )
        .route("/sdapi/v1/cmd-flags", get(info::cmd_flags))
        .route("/sdapi/v1/samplers", get(info::get_samplers))
        .route("/sdapi/v1/schedulers", get(info::get_schedulers))
        .route("/sdapi/v1/sd-models", get(info::sd_models))
        .route("/sdapi/v1/refresh-checkpoints", post(info::refresh))
        .route("/sdapi/v1/scripts", get(info::scripts))
        .route("/sdapi/v1/embeddings", get(info::embeddings))
        .route("/sdapi/v1/sd-vae", get(info::empty_list))
        .route("/sdapi/v1/upscalers", get(info::empty_list))
        .route("/sdapi/v1/latent-upscale-modes", get(info::empty_list))
        .route("/sdapi/v1/loras", get(info::empty_list))
        .route("/sdapi/v1/hypernetworks", get(info::empty_list))
        .route("/sdapi/v1/face-restorers", get(info::empty_list))
        .route("/sdapi/v1/prompt-styles", get(info::empty_list))
        .route("/sdapi/v1/memory", get(info::memory))
        .layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT));
    images.merge(small)
}
