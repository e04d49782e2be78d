//! StableSteering's Leptos application: the document shell, the router and every page.
//!
//! Pages live in [`pages`], reusable widgets in [`components`], and [`api`] holds the JSON types
//! the server produces and the browser consumes, so both ends agree at compile time.

// Leptos views are deeply nested types; the hydrate build of the feedback form exceeds 128.
#![recursion_limit = "512"]

pub mod api;
pub mod components;
pub mod feedback;
pub mod net;
pub mod pages;
pub mod trace;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// Name of the generated `/pkg/<name>.{js,wasm,css}` files; also set in `.cargo/config.toml`.
pub const OUTPUT_NAME: &str = "stablesteering";

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The root component: metadata, stylesheet, the hydration marker and the routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_hydrated();

    view! {
        <Stylesheet id="leptos" href=format!("/pkg/{OUTPUT_NAME}.css")/>
        <Title text="StableSteering"/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"StableSteering"</a>
                <span class="tagline">"steer Stable Diffusion by preference"</span>
                <nav class="topnav" aria-label="main">
                    <a href="/">"Sessions"</a>
                    <a href="/setup">"New session"</a>
                    <a href="/diagnostics/view">"Diagnostics"</a>
                </nav>
            </header>
            <main class="page">
                // Page paths are the reference's; `/sessions/{id}` and `/diagnostics` are JSON.
                // Async SSR: the response waits for the page's data, so the first paint is
                // the real state (and the status code can say 404) instead of a fallback.
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=path!("") view=pages::home::HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/setup") view=pages::setup::SetupPage ssr=SsrMode::Async/>
                    <Route path=path!("/diagnostics/view") view=pages::diagnostics::DiagnosticsPage ssr=SsrMode::Async/>
                    <Route path=path!("/sessions/:id/view") view=pages::session::SessionPage ssr=SsrMode::Async/>
                    <Route path=path!("/sessions/:id/style-calibration") view=pages::calibration::CalibrationPage ssr=SsrMode::Async/>
                    <Route path=path!("/sessions/:id/replay-view") view=pages::replay::ReplayPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// Sets `data-hydrated="true"` on `<body>` once the WASM app is live.
///
/// Effects never run during SSR, so the attribute appears only after hydration; end-to-end
/// tests wait for it instead of racing the WASM download.
fn mark_hydrated() {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
