//! The HTTP surface: the reference's contract routes, our `/api` REST additions, the
//! A1111-compatible `/sdapi/v1`, next to the server-rendered Leptos app. Each route module
//! exposes `routes() -> Router<AppState>`; this file only assembles them and the limits.

pub mod error;
pub mod health;

use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::state::AppState;

/// Builds the complete router: API routes first, then the Leptos pages and static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let options = state.leptos_options.clone();
    let api = Router::new().route("/api/health", get(health::health));
    Router::new()
        .merge(api)
        .leptos_routes(&state, routes, move || app::shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .with_state(state)
}
