//! WASM entry point: hydrates the server-rendered document into the reactive app.

// The app's views are deeply nested types, monomorphized here (see app/src/lib.rs).
#![recursion_limit = "512"]

use wasm_bindgen::prelude::wasm_bindgen;

/// Called by the hydration script that the server's `HydrationScripts` emits.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
