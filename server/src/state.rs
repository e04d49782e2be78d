//! Shared state handed to every HTTP handler.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::store::LogStore;

/// Everything handlers need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Leptos' site configuration (output name, site root).
    pub leptos_options: LeptosOptions,
    /// The event store.
    pub store: LogStore,
    /// Facts fixed at start-up.
    pub runtime: Arc<RuntimeInfo>,
    /// The commands of the product; they own the runner, the only holder of the engine.
    pub services: Arc<crate::services::Services>,
}

/// Facts fixed at start-up.
#[derive(Debug)]
pub struct RuntimeInfo {
    /// Absolute data directory.
    pub data_dir: PathBuf,
    /// The device the engine resolved at start-up.
    pub device: engine::ResolvedDevice,
    /// What model is loaded.
    pub model: engine::runtime::ModelInfo,
    /// Set when the bundled demo model is in use: what to tell the person.
    pub model_notice: Option<String>,
    /// Which hosts and browser origins are served (`crate::http::guard`).
    pub access: crate::http::guard::AccessPolicy,
    /// The per-client request rate limit (`None`: off).
    pub rate_limiter: Option<crate::http::rate_limit::RateLimiter>,
    /// `Idempotency-Key`s whose first request is still running.
    pub idempotency: crate::http::idempotency::InFlight,
    /// Who may use the server (`--auth`, `--api-auth`).
    pub auth: crate::http::auth::AuthPolicy,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
