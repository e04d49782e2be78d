//! `/diagnostics/view`: engine device, model, versions, store status and size, and the job queue, as
//! the server reports them (`/api/diagnostics`).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::Diagnostics;
use crate::components::error_card::ErrorCard;
use crate::net::Api;

/// The page.
#[component]
pub fn DiagnosticsPage() -> impl IntoView {
    let api = Api::from_context();
    let data = Resource::new(
        || (),
        move |_| {
            let api = api.clone();
            async move { api.get::<Diagnostics>("/api/diagnostics").await }
        },
    );
    view! {
        <Title text="Diagnostics · StableSteering"/>
        <header class="page-head"><h1>"Runtime diagnostics"</h1></header>
        <Suspense fallback=|| view! { <p class="muted">"Asking the server…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <DiagnosticsView d/> }.into_any(),
                    Err(failure) => view! { <ErrorCard failure/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[component]
fn DiagnosticsView(d: Diagnostics) -> impl IntoView {
    let cuda = if d.cuda_available {
        "available".to_string()
    } else {
        format!(
            "not available ({})",
            d.cuda_reason.clone().unwrap_or_default()
        )
    };
    view! {
        {d.model_notice.clone().map(|n| view! { <p class="banner notice" role="note">{n}</p> })}
        <section id="diagnostics" class="card">
            <h2>"Engine"</h2>
            <dl>
                <dt>"Backend"</dt><dd id="diag-backend">{d.backend.clone()}</dd>
                <dt>"Device"</dt><dd id="diag-device">{format!("{} (configured {})", d.active_device, d.configured_device)}</dd>
                <dt>"CUDA"</dt><dd id="diag-cuda">{cuda}</dd>
                <dt>"Model"</dt><dd id="diag-model">{format!("{} · {} · {} px", d.model_name, d.unet_dtype, d.default_size)}</dd>
                <dt>"Model folder"</dt><dd><code>{d.model_source.clone().unwrap_or_default()}</code></dd>
                <dt>"Versions"</dt><dd id="diag-versions">{format!("server {} · engine {} · burn {}", d.versions.server, d.versions.engine, d.versions.burn)}</dd>
            </dl>
            <h2>"Event store"</h2>
            <dl>
                <dt>"Status"</dt><dd id="diag-store-status">{d.store.status.clone()}</dd>
                <dt>"Events"</dt><dd id="diag-events">{d.store.event_count}</dd>
                <dt>"Images"</dt><dd>{mib(d.store.artifact_bytes)}</dd>
                <dt>"Data directory"</dt><dd><code>{d.store.data_dir.clone()}</code></dd>
            </dl>
            <h2>"Queue"</h2>
            <dl id="diag-queue">
                <dt>"Queued / running"</dt><dd>{format!("{} / {}", d.queue.queued, d.queue.running)}</dd>
                <dt>"Succeeded / failed / cancelled"</dt><dd>{format!("{} / {} / {}", d.queue.succeeded, d.queue.failed, d.queue.cancelled)}</dd>
                <dt>"Render concurrency"</dt><dd>{d.queue.render_concurrency}</dd>
                <dt>"Runner invocations"</dt><dd>{d.queue.runner_invocations}</dd>
            </dl>
        </section>
    }
}
