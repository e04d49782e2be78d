//! StableSteering's Leptos application: the document shell, the router and every page.
//!
//! Pages live in [`pages`], reusable widgets in [`components`], and [`api`] holds the JSON types
//! the server produces and the browser consumes, so both ends agree at compile time.

pub mod api;
pub mod components;
pub mod pages;

#[cfg(feature = "hydrate")]
pub mod client;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    StaticSegment,
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
            </header>
            <main class="page">
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=StaticSegment("") view=pages::home::HomePage/>
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
