//! The home page (dashboard): for now the live server health, loaded after hydration.

use leptos::prelude::*;

use crate::api::HealthReport;
use crate::components::health_panel::HealthPanel;

/// Where the health panel stands.
#[derive(Debug, Clone, PartialEq)]
pub enum HealthState {
    /// Not asked yet (this is what SSR renders).
    Loading,
    /// The server answered.
    Loaded(Box<HealthReport>),
    /// The request failed; the message says why.
    Failed(String),
}

/// The dashboard.
#[component]
pub fn HomePage() -> impl IntoView {
    let health = RwSignal::new(HealthState::Loading);
    load_health(health);

    view! {
        <section class="hero card">
            <h1>"StableSteering"</h1>
            <p>
                "Type a prompt, rate a round of images, and a low-dimensional steering vector moves "
                "the next round toward what you prefer."
            </p>
        </section>
        {move || match health.get() {
            HealthState::Loading => view! {
                <section id="health-loading" class="card health" aria-busy="true">
                    <h2>"Server health"</h2>
                    <p>"Checking the server…"</p>
                </section>
            }.into_any(),
            HealthState::Loaded(report) => view! { <HealthPanel report=*report/> }.into_any(),
            HealthState::Failed(message) => view! {
                <section id="health-error" class="card health error" role="alert">
                    <h2>"Server health"</h2>
                    <p>{message}</p>
                </section>
            }.into_any(),
        }}
    }
}

/// Fetches `/api/health` once the page is hydrated (effects do not run during SSR).
fn load_health(target: RwSignal<HealthState>) {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let state = match crate::client::get_json::<HealthReport>("/api/health").await {
                Ok(report) => HealthState::Loaded(Box::new(report)),
                Err(e) => HealthState::Failed(format!("The server did not answer: {e}")),
            };
            target.set(state);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = target;
    });
}
