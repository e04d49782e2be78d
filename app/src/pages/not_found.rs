//! The router fallback: a real 404 status with a way back.

use leptos::prelude::*;

/// Rendered for any path no route matches; sets HTTP 404 during SSR.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the dashboard"</a></p>
        </section>
    }
}
