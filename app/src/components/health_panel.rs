//! The health panel: server, store and engine status at a glance.

use leptos::prelude::*;

use crate::api::HealthReport;

/// Renders a [`HealthReport`] as a definition list with stable ids for tests.
#[component]
pub fn HealthPanel(report: HealthReport) -> impl IntoView {
    let cuda = if report.engine.cuda_available {
        "available".to_string()
    } else {
        format!(
            "not available ({})",
            report.engine.cuda_reason.clone().unwrap_or_default()
        )
    };
    view! {
        <section id="health-panel" class="card health" aria-labelledby="health-title">
            <h2 id="health-title">"Server health"</h2>
            <dl>
                <dt>"Status"</dt>
                <dd id="health-status" class=format!("status-{}", report.status)>{report.status.clone()}</dd>
                <dt>"Version"</dt>
                <dd id="health-version">{report.version.clone()}</dd>
                <dt>"Data directory"</dt>
                <dd id="health-data-dir"><code>{report.data_dir.clone()}</code></dd>
                <dt>"Event store"</dt>
                <dd id="health-store">
                    {format!("{} · {} events · {}", report.store.status, report.store.event_count, report.store.backend)}
                </dd>
                <dt>"Engine device"</dt>
                <dd id="health-device">{report.engine.device.clone()}</dd>
                <dt>"CUDA"</dt>
                <dd id="health-cuda">{cuda}</dd>
                <dt>"Model"</dt>
                <dd id="health-model">
                    {format!("{} · {} · {} px", report.engine.model.name, report.engine.model.unet_dtype, report.engine.model.default_size)}
                </dd>
            </dl>
            {report.engine.model.notice.clone().map(|notice| view! {
                <p id="health-model-notice" class="notice" role="note">{notice}</p>
            })}
        </section>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::api::{EngineHealth, StoreHealth};

    #[test]
    fn renders_every_field_on_the_server() {
        let report = HealthReport {
            status: "ok".into(),
            version: "1.2.3".into(),
            data_dir: "/srv/data".into(),
            store: StoreHealth {
                status: "open".into(),
                event_count: 7,
                backend: "sled 0.34.7".into(),
            },
            engine: EngineHealth {
                requested_device: "auto".into(),
                device: "cpu".into(),
                cuda_available: false,
                cuda_reason: Some("no driver".into()),
                engine_version: "0.1.0".into(),
                burn_version: "0.21.0".into(),
                model: crate::api::ModelHealth {
                    name: "tiny-sd1".into(),
                    dir: "/models/tiny-sd1".into(),
                    demo: true,
                    notice: Some("demo model in use".into()),
                    unet_dtype: "f32".into(),
                    default_size: 64,
                },
            },
        };
        let owner = Owner::new();
        let html = owner.with(|| view! { <HealthPanel report/> }.to_html());
        assert!(html.contains("/srv/data"), "{html}");
        assert!(html.contains("7 events"), "{html}");
        assert!(html.contains("not available (no driver)"), "{html}");
        assert!(html.contains("tiny-sd1"), "{html}");
        assert!(html.contains("demo model in use"), "{html}");
    }
}
