//! Component tests in headless Chromium (`wasm-bindgen-test-runner` + Debian's chromedriver).
#![cfg(target_arch = "wasm32")]

use app::api::{EngineHealth, HealthReport, StoreHealth};
use app::components::health_panel::HealthPanel;
use leptos::{mount::mount_to, prelude::*, task::tick};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn report(cuda: bool) -> HealthReport {
    HealthReport {
        status: "ok".into(),
        version: "9.9.9".into(),
        data_dir: "/tmp/ss-data".into(),
        store: StoreHealth {
            status: "open".into(),
            event_count: 42,
            backend: "sled 0.34.7".into(),
        },
        engine: EngineHealth {
            requested_device: "auto".into(),
            device: if cuda { "cuda" } else { "cpu" }.into(),
            cuda_available: cuda,
            cuda_reason: (!cuda).then(|| "no driver".into()),
            engine_version: "0.1.0".into(),
            burn_version: "0.21.0".into(),
            model: app::api::ModelHealth {
                name: "tiny-sd1".into(),
                dir: "/models/tiny-sd1".into(),
                demo: !cuda,
                notice: (!cuda).then(|| "demo model in use".into()),
                unet_dtype: "f32".into(),
                default_size: 64,
            },
        },
    }
}

fn text_of(id: &str) -> String {
    document()
        .get_element_by_id(id)
        .unwrap_or_else(|| panic!("#{id} is rendered"))
        .unchecked_into::<web_sys::HtmlElement>()
        .inner_text()
}

#[wasm_bindgen_test]
async fn health_panel_shows_store_and_engine() {
    let wrapper = document().create_element("section").unwrap();
    document().body().unwrap().append_child(&wrapper).unwrap();
    let r = report(false);
    let _handle = mount_to(wrapper.clone().unchecked_into(), move || {
        view! { <HealthPanel report=r.clone()/> }
    });
    tick().await;
    assert_eq!(text_of("health-status"), "ok");
    assert_eq!(text_of("health-device"), "cpu");
    assert!(text_of("health-store").contains("42 events"));
    assert!(text_of("health-cuda").contains("not available (no driver)"));
    wrapper.remove();
}

#[wasm_bindgen_test]
async fn health_panel_reports_cuda_when_available() {
    let wrapper = document().create_element("section").unwrap();
    document().body().unwrap().append_child(&wrapper).unwrap();
    let r = report(true);
    let _handle = mount_to(wrapper.clone().unchecked_into(), move || {
        view! { <HealthPanel report=r.clone()/> }
    });
    tick().await;
    assert_eq!(text_of("health-device"), "cuda");
    assert_eq!(text_of("health-cuda"), "available");
    wrapper.remove();
}
