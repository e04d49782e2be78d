//! `GET /api/health`: version, data dir, store status and the engine device.

use axum::extract::State;
use axum::Json;

use app::api::{EngineHealth, HealthReport, ModelHealth, QueueHealth, StoreHealth};

use crate::state::AppState;

/// Reports whether the server can do its job.
pub async fn health(State(state): State<AppState>) -> Json<HealthReport> {
    let job_queue = match state.store.shared_queue() {
        Some(queue) => queue
            .queue_depth()
            .await
            .ok()
            .map(|(queued, leased)| QueueHealth {
                queued: queued.max(0) as u64,
                leased: leased.max(0) as u64,
            }),
        None => None,
    };
    let device = &state.runtime.device;
    let model = &state.runtime.model;
    Json(HealthReport {
        status: "ok".into(),
        version: crate::VERSION.into(),
        data_dir: state.runtime.data_dir.display().to_string(),
        store: StoreHealth {
            status: match state.store.failure() {
                None => "open".into(),
                Some(reason) => format!("degraded: {reason}"),
            },
            event_count: state.store.head_seq(),
            backend: state.store.describe(),
            job_queue,
        },
        engine: EngineHealth {
            requested_device: device.requested.to_string(),
            device: device.kind.to_string(),
            cuda_available: device.cuda.available,
            cuda_reason: device.cuda.reason.clone(),
            engine_version: engine::ENGINE_VERSION.into(),
            burn_version: engine::BURN_VERSION.into(),
            model: ModelHealth {
                name: model.name.clone(),
                dir: model
                    .dir
                    .as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
                demo: state.runtime.model_notice.is_some(),
                notice: state.runtime.model_notice.clone(),
                unet_dtype: model.unet_dtype.clone(),
                default_size: model.default_size as u32,
            },
        },
    })
}
