//! Component tests in headless Chromium (`wasm-bindgen-test-runner` + Debian's chromedriver).
#![cfg(target_arch = "wasm32")]
#![recursion_limit = "512"]

use leptos::{mount::mount_to, prelude::*, task::tick};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn text_of(id: &str) -> String {
    document()
        .get_element_by_id(id)
        .unwrap_or_else(|| panic!("#{id} is rendered"))
        .unchecked_into::<web_sys::HtmlElement>()
        .inner_text()
}

fn mount_in_section<V: IntoView + 'static>(
    f: impl FnOnce() -> V + 'static,
) -> (web_sys::Element, impl Drop) {
    let wrapper = document().create_element("section").unwrap();
    document().body().unwrap().append_child(&wrapper).unwrap();
    let handle = mount_to(wrapper.clone().unchecked_into(), f);
    (wrapper, handle)
}

fn round_of(ids: &[&str]) -> app::api::RoundInfo {
    app::api::RoundInfo {
        id: "round-1".into(),
        round_index: 1,
        status: "awaiting_feedback".into(),
        candidates: ids
            .iter()
            .enumerate()
            .map(|(i, id)| app::api::CandidateInfo {
                id: id.to_string(),
                sampler_role: if i == 0 { "baseline_prompt" } else { "exploit" }.into(),
                seed: 7 + i as u64,
                image_path: None,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn click(selector: &str) {
    document()
        .query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("{selector} is rendered"))
        .unchecked_into::<web_sys::HtmlElement>()
        .click();
}

fn attr(selector: &str, name: &str) -> Option<String> {
    document()
        .query_selector(selector)
        .unwrap()
        .and_then(|e| e.get_attribute(name))
}

#[wasm_bindgen_test]
async fn pairwise_form_refuses_a_missing_loser_before_sending() {
    use app::components::feedback_form::FeedbackForm;
    use app::feedback::Mode;
    use std::sync::atomic::{AtomicBool, Ordering};
    let submitted = std::sync::Arc::new(AtomicBool::new(false));
    let seen = submitted.clone();
    let (wrapper, _handle) = mount_in_section(move || {
        let on_submitted = Callback::new(move |_: ()| seen.store(true, Ordering::SeqCst));
        view! {
            <FeedbackForm round=round_of(&["a", "b", "c"]) mode=Mode::Pairwise dimensions=vec![]
                session_id="s".to_string() on_submitted/>
        }
    });
    tick().await;
    click("figure[data-candidate-id=a] .winner-button");
    click("#submit-feedback");
    tick().await;
    assert_eq!(
        attr("#feedback-error", "data-source").as_deref(),
        Some("client")
    );
    assert_eq!(
        attr("#feedback-error", "data-field").as_deref(),
        Some("payload.loser_candidate_id")
    );
    assert_eq!(
        attr("figure[data-candidate-id=a] .winner-button", "aria-pressed").as_deref(),
        Some("true")
    );
    // Picking the same image as loser moves it: winner and loser stay different.
    click("figure[data-candidate-id=a] .loser-button");
    tick().await;
    assert_eq!(
        attr("figure[data-candidate-id=a] .winner-button", "aria-pressed").as_deref(),
        Some("false")
    );
    assert!(
        !submitted.load(Ordering::SeqCst),
        "nothing is sent while the draft is invalid"
    );
    wrapper.remove();
}

#[wasm_bindgen_test]
async fn top_k_form_requires_two_ranks() {
    use app::components::feedback_form::FeedbackForm;
    use app::feedback::Mode;
    let (wrapper, _handle) = mount_in_section(move || {
        view! {
            <FeedbackForm round=round_of(&["a", "b", "c"]) mode=Mode::TopK dimensions=vec![]
                session_id="s".to_string() on_submitted=Callback::new(|_: ()| {})/>
        }
    });
    tick().await;
    click("#submit-feedback");
    tick().await;
    assert_eq!(
        attr("#feedback-error", "data-field").as_deref(),
        Some("payload.ranking")
    );
    assert!(text_of("feedback-error").contains("at least two ranked candidates"));
    // Round 1's baseline is marked as such.
    assert_eq!(
        document()
            .query_selector_all(".badge.baseline")
            .unwrap()
            .length(),
        1
    );
    wrapper.remove();
}

#[wasm_bindgen_test]
fn draft_checks_mirror_the_server() {
    use app::feedback::{Draft, Mode};
    let ids: Vec<String> = vec!["a".into(), "b".into()];
    let mut d = Draft::default();
    assert_eq!(
        d.to_request(Mode::ScalarRating, &ids).unwrap_err().field,
        "payload.ratings"
    );
    d.rate("b", 4);
    let body = d.to_request(Mode::ScalarRating, &ids).unwrap();
    assert_eq!(body["payload"]["ratings"]["b"], 4);
    d.pick(Mode::ApproveReject, "a");
    d.winner = Some("b".into());
    assert_eq!(
        d.to_request(Mode::ApproveReject, &ids).unwrap_err().field,
        "payload.winner_candidate_id"
    );
}

#[wasm_bindgen_test]
async fn progress_component_shows_steps_candidates_eta_and_previews() {
    use app::api::ProgressUpdate;
    use app::components::progress::JobProgress;
    // A 1×1 PNG as the first candidate's step preview.
    let png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let initial = ProgressUpdate {
        job_id: "job-1".into(),
        state: "running".into(),
        message: "Denoising".into(),
        progress: 40,
        step: 3,
        total_steps: 10,
        candidate: 1,
        total_candidates: 4,
        eta_seconds: Some(6.4),
        previews: vec![png.into()],
        ..Default::default()
    };
    let (wrapper, _handle) = mount_in_section(move || {
        view! { <JobProgress initial live=false on_done=Callback::new(|_| {})/> }
    });
    tick().await;
    assert_eq!(text_of("job-message"), "Denoising");
    assert_eq!(
        text_of("job-steps"),
        "step 3/10 · image 1/4 · about 6 s left"
    );
    assert_eq!(attr("#job-progress", "data-step").as_deref(), Some("3"));
    assert_eq!(
        document()
            .query_selector_all(".preview-slot")
            .unwrap()
            .length(),
        4,
        "one slot per candidate, reserved before previews arrive"
    );
    assert_eq!(
        document()
            .query_selector_all(".preview-slot[data-filled=true] img")
            .unwrap()
            .length(),
        1
    );
    wrapper.remove();
}

fn belief_of(driver: &str) -> app::api::Belief {
    app::api::Belief {
        axes: vec![
            app::api::BeliefAxis {
                label: "vivid colors".into(),
                mean: 0.12,
                sd: 0.08,
            },
            app::api::BeliefAxis {
                label: "soft light".into(),
                mean: -0.3,
                sd: 0.2,
            },
        ],
        rounds_used: 3,
        recommended_candidate_id: Some("b".into()),
        driver: driver.into(),
        trust_radius: Some(0.5),
        prior_sd: Some(0.18),
        seed_policy: "shared".into(),
        seed_renewals: 2,
        history: vec![app::api::BeliefPoint {
            round: 1,
            mean: vec![0.1, -0.2],
            sd: vec![0.1, 0.15],
        }],
    }
}

#[wasm_bindgen_test]
async fn belief_panel_shows_estimates_as_text_and_the_exploration_notice() {
    use app::components::belief_panel::BeliefPanel;
    let (wrapper, _handle) = mount_in_section(move || {
        view! { <BeliefPanel belief=belief_of("es")><button id="child-control">"x"</button></BeliefPanel> }
    });
    tick().await;
    let values: Vec<String> = {
        let list = document()
            .query_selector_all("#belief-panel .belief-axis .axis-value")
            .unwrap();
        (0..list.length())
            .map(|i| list.item(i).unwrap().text_content().unwrap_or_default())
            .collect()
    };
    assert_eq!(values, vec!["+0.12 ± 0.08", "-0.30 ± 0.20"]);
    assert_eq!(
        attr(".belief-axis[data-label='soft light'] svg", "aria-label").as_deref(),
        Some("soft light: -0.30 ± 0.20")
    );
    assert_eq!(text_of("belief-rounds"), "From 3 rounds of feedback.");
    assert_eq!(attr("#belief-panel", "data-driver").as_deref(), Some("es"));
    assert!(text_of("belief-driver").contains("explores around your latest pick"));
    assert_eq!(text_of("seed-renewals"), "Shared seed, renewed 2 times.");
    assert!(document().get_element_by_id("child-control").is_some());
    // The band spans mean ± sd on a ±2R scale (R = 0.5): 0.12 ± 0.08 → [0.04, 0.20] of 1.0.
    let band = document()
        .query_selector(".belief-axis[data-label='vivid colors'] rect.band")
        .unwrap()
        .unwrap();
    assert_eq!(band.get_attribute("x").as_deref(), Some("103.8"));
    assert_eq!(band.get_attribute("width").as_deref(), Some("15.4"));
    wrapper.remove();
}

#[wasm_bindgen_test]
async fn belief_plot_has_the_prior_and_one_row_per_round() {
    use app::components::belief_panel::BeliefPlot;
    let (wrapper, _handle) = mount_in_section(move || {
        view! { <BeliefPlot belief=belief_of("model") until=1/> }
    });
    tick().await;
    let rows = document()
        .query_selector_all("#belief-table tbody tr")
        .unwrap();
    assert_eq!(rows.length(), 2, "the prior and round 1");
    assert_eq!(
        document()
            .query_selector_all("#belief-plot svg[role=img] polyline")
            .unwrap()
            .length(),
        2,
        "one line per axis"
    );
    wrapper.remove();
}

#[wasm_bindgen_test]
async fn the_models_pick_is_marked_in_a_grid_and_through_its_pinned_copy() {
    use app::components::belief_panel::recommended_in;
    use app::components::candidate::CandidateGrid;
    let belief = belief_of("model");
    let mut next = round_of(&["p", "q"]);
    // A later round pins the pick as its incumbent under a new id.
    next.candidates[0].generation_params.incumbent_candidate_id = Some("b".into());
    assert_eq!(recommended_in(Some(&belief), &next).as_deref(), Some("p"));
    assert_eq!(recommended_in(None, &next), None);
    let round = round_of(&["a", "b", "c"]);
    let recommended = recommended_in(Some(&belief), &round);
    assert_eq!(recommended.as_deref(), Some("b"));
    let (wrapper, _handle) = mount_in_section(move || {
        view! { <CandidateGrid candidates=round.candidates winner=None recommended/> }
    });
    tick().await;
    assert_eq!(
        document()
            .query_selector_all(".badge.recommended")
            .unwrap()
            .length(),
        1
    );
    assert_eq!(
        attr("figure[data-candidate-id=b]", "data-recommended").as_deref(),
        Some("true")
    );
    assert!(document()
        .query_selector("figure[data-candidate-id=b] .badge.recommended")
        .unwrap()
        .is_some());
    wrapper.remove();
}
