//! The HTTP surface: the reference's contract routes, our `/api` REST additions, the
//! A1111-compatible `/sdapi/v1`, next to the server-rendered Leptos app. Each route module
//! exposes `routes() -> Router<AppState>`; this file only assembles them and the limits.

pub mod a1111;
pub mod api;
pub mod auth;
pub mod belief;
pub mod contract;
pub mod error;
pub mod exports;
pub mod guard;
pub mod health;
pub mod idempotency;
pub mod login;
pub mod openapi;
pub mod pages;
pub mod rate_limit;
pub mod sse;
pub mod tokens;
pub mod traces;
pub mod views;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::state::AppState;

/// Largest JSON body of the steering routes (feedback for 12 candidates is ~10 KiB).
pub const JSON_BODY_LIMIT: usize = 256 * 1024;
/// Time limit of ordinary API requests.
pub const REQUEST_TIMEOUT_SECS: u64 = 30;

/// Answers 408 in our JSON error shape when an ordinary API request runs past
/// [`REQUEST_TIMEOUT_SECS`] (tower-http's timeout answers with an empty body).
async fn time_limit(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS), next.run(request)).await {
        Ok(response) => response,
        Err(_) => error::ApiError(crate::services::ServiceError::new(
            crate::services::ErrorKind::Timeout,
            format!("the request took longer than {REQUEST_TIMEOUT_SECS} s"),
        ))
        .into_response(),
    }
}

/// Builds the complete router: API routes first, then the Leptos pages and static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let options = state.leptos_options.clone();
    // JSON routes: small bodies and a time limit (the synchronous round and the SSE stream are
    // long by design and sit outside it).
    let limited = Router::new()
        .route("/api/health", get(health::health))
        .merge(api::routes())
        .merge(pages::routes())
        .merge(openapi::routes())
        .merge(tokens::routes())
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn(time_limit));
    let api = Router::new()
        .merge(limited)
        .merge(contract::routes().layer(DefaultBodyLimit::max(JSON_BODY_LIMIT)))
        .merge(sse::routes())
        .merge(traces::routes())
        .merge(exports::routes())
        .merge(a1111::routes())
        .merge(login::routes().layer(DefaultBodyLimit::max(8 * 1024)));
    let request_ids = crate::traces::backend::layer(state.runtime.data_dir.clone());
    let ssr_api = api.clone().with_state(state.clone());
    let auth_on = state.runtime.auth.mode != auth::AuthMode::None;
    // The site's JS/WASM/CSS, served brotli- or gzip-compressed from the files build-site.sh
    // precompresses (the WASM is 1.35 MB raw, ~0.3 MB as brotli).
    let pkg_dir = std::path::Path::new(state.leptos_options.site_root.as_ref())
        .join(state.leptos_options.site_pkg_dir.as_ref());
    let pkg = tower_http::services::ServeDir::new(pkg_dir)
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .merge(api)
        .nest_service("/pkg", pkg)
        .leptos_routes_with_context(
            &state,
            routes,
            // Page renders read the API as the page's requester (the auth layer's principal);
            // with auth on and no principal in sight, they read nothing rather than everything.
            move || {
                let principal = crate::services::principal::current();
                let blind = auth_on && principal.is_none();
                leptos::prelude::provide_context(server_fetch(ssr_api.clone(), principal, blind))
            },
            move || app::shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotent,
        ))
        // Before idempotency: a recorded answer is replayed only to an authenticated caller.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ))
        .layer(request_ids)
        .with_state(state)
}

/// Largest API answer a page render reads in-process.
const SSR_FETCH_LIMIT: usize = 64 * 1024 * 1024;

/// What server-side rendering reads the API with: the same routes, called in-process, so the
/// first paint and the browser's later reads come from one code path.
fn server_fetch(
    api: Router,
    principal: Option<crate::services::principal::Principal>,
    blind: bool,
) -> app::net::ServerFetch {
    use tower::ServiceExt;
    app::net::ServerFetch(std::sync::Arc::new(move |path: String| {
        let api = api.clone();
        let principal = principal.clone();
        Box::pin(async move {
            if blind {
                return (401, "{\"message\":\"not logged in\"}".to_string());
            }
            let request =
                match axum::http::Request::get(path.as_str()).body(axum::body::Body::empty()) {
                    Ok(request) => request,
                    Err(e) => return (400, format!("{{\"message\":\"bad path: {e}\"}}")),
                };
            let answer = crate::services::principal::acting_as(principal, api.oneshot(request));
            let response = match answer.await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let status = response.status().as_u16();
            match axum::body::to_bytes(response.into_body(), SSR_FETCH_LIMIT).await {
                Ok(bytes) => (status, String::from_utf8_lossy(&bytes).into_owned()),
                Err(e) => (500, format!("{{\"message\":\"unreadable answer: {e}\"}}")),
            }
        })
    }))
}
