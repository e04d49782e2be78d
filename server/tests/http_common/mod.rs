//! An in-process server for HTTP tests: a fresh data dir, the store, the tiny test model on
//! the CPU behind the runner, the services with their workers, and the full router.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use serde_json::Value;
use stablesteering::artifacts::ArtifactStore;
use stablesteering::runner::Runner;
use stablesteering::services::{ServiceOptions, Services};
use stablesteering::state::{AppState, RuntimeInfo};
use stablesteering::store::{HostedPg, LogStore, SledStore, StoreOptions};
use tower::ServiceExt;

/// A running in-process server.
pub struct TestServer {
    pub state: AppState,
    pub router: Router,
    pub dir: tempfile::TempDir,
}

/// Small, fast session config for the tiny model.
pub fn tiny_config_yaml(mode: &str) -> String {
    format!(
        "feedback_mode: {mode}\nimage_size: 64x64\nnum_inference_steps: 2\ncandidate_count: 4\nsteering_dimension: 4\n"
    )
}

impl TestServer {
    /// Starts one.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts one whose start-up facts `configure` adjusts (access policy, rate limit).
    pub async fn start_with(configure: impl FnOnce(&mut RuntimeInfo)) -> TestServer {
        Self::start_on(None, configure).await
    }

    /// Starts one whose log is the PostgreSQL database `url` (`serve --store`).
    pub async fn start_on_postgres(url: &str) -> TestServer {
        Self::start_on(Some(url.to_string()), |_| {}).await
    }

    async fn start_on(
        postgres: Option<String>,
        configure: impl FnOnce(&mut RuntimeInfo),
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir).expect("data dir");
        stablesteering::store::sled::manifest::write(&data_dir, 0).expect("manifest");
        let store: LogStore = match postgres {
            None => SledStore::open(&data_dir, StoreOptions::default())
                .expect("store")
                .into(),
            Some(url) => {
                let at = data_dir.clone();
                tokio::task::spawn_blocking(move || HostedPg::open_blocking(&url, &at))
                    .await
                    .expect("open task")
                    .expect("PostgreSQL store")
                    .into()
            }
        };
        let engine = engine::runtime::Engine::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/models/tiny-sd1"),
            engine::DeviceRequest::Cpu,
            Default::default(),
        )
        .expect("tiny model");
        let model = engine.info().clone();
        let runner = Runner::new(engine, ArtifactStore::new(&data_dir));
        let services = Services::new(store.clone(), runner, ServiceOptions::default(), None);
        services.start().await;
        let device = engine::resolve_device(engine::DeviceRequest::Cpu).expect("cpu");
        let mut runtime = RuntimeInfo {
            data_dir,
            device,
            model,
            model_notice: None,
            access: Default::default(),
            rate_limiter: None,
            idempotency: Default::default(),
            auth: Default::default(),
        };
        configure(&mut runtime);
        let state = AppState {
            leptos_options: LeptosOptions::builder()
                .output_name("stablesteering")
                .build(),
            store,
            runtime: Arc::new(runtime),
            services,
        };
        let router = stablesteering::http::router(state.clone());
        TestServer { state, router, dir }
    }

    /// Sends a request; returns status and the body parsed as JSON (Null when empty/not JSON).
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, bytes) = self
            .send_raw(
                method,
                path,
                body.map(|b| b.to_string()),
                "application/json",
            )
            .await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Sends raw bytes with a content type.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        content_type: &str,
    ) -> (StatusCode, Vec<u8>) {
        let mut builder = Request::builder().method(method).uri(path);
        if body.is_some() {
            builder = builder.header("content-type", content_type);
        }
        let request = builder
            .body(body.map_or_else(Body::empty, Body::from))
            .expect("request");
        self.exchange(request).await
    }

    /// Runs one request through the router; returns its status and body bytes.
    async fn exchange(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let (status, _, bytes) = self.exchange_full(request).await;
        (status, bytes)
    }

    /// Runs one request through the router; returns its status, headers and body bytes.
    async fn exchange_full(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        (status, headers, bytes)
    }

    /// Sends a request with `headers`; returns status, response headers and body bytes.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut builder = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(body.map_or_else(Body::empty, Body::from))
            .expect("request");
        self.exchange_full(request).await
    }

    /// Sends a request with extra headers; returns status and the body as JSON (Null when
    /// empty or not JSON).
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let (status, _, bytes) = self.request(method, path, body, headers).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A GET from client address `from` (as a connection's peer address); returns the status
    /// and the `Retry-After` header.
    pub async fn get_from(
        &self,
        from: std::net::SocketAddr,
        path: &str,
    ) -> (StatusCode, Option<String>) {
        let mut request = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request");
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(from));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("response");
        let retry = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (response.status(), retry)
    }

    /// Number of events in the log.
    pub fn event_count(&self) -> u64 {
        self.state.store.head_seq()
    }

    /// Waits for a job to end and returns its record.
    pub async fn wait_job(&self, job_id: &str) -> Value {
        let id: uuid::Uuid = job_id.parse().expect("job id");
        let record = self
            .state
            .services
            .wait_terminal(id, std::time::Duration::from_secs(300))
            .await
            .expect("job ended");
        serde_json::to_value(record).expect("json")
    }

    /// Creates a session through `/setup/session`; returns its id.
    pub async fn create_session(&self, mode: &str, prompt: &str) -> String {
        let (status, body) = self
            .send(
                "POST",
                "/setup/session",
                Some(serde_json::json!({
                    "experiment_name": format!("test {mode}"),
                    "prompt": prompt,
                    "negative_prompt": "blurry",
                    "config_yaml": tiny_config_yaml(mode),
                })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["session"]["id"]
            .as_str()
            .expect("session id")
            .to_string()
    }
}
