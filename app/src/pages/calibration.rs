//! `/sessions/{id}/style-calibration`: style calibration before the first round. Generate 15 style
//! probes (a job with live progress), choose exactly 5, confirm: z starts at their mean. Or skip
//! straight to the first round. Either way the first round is queued and the session opens.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::session::session_resource;
use crate::api::{JobHandle, ProgressUpdate, SessionState};
use crate::components::candidate::CandidateFigure;
use crate::components::error_card::ErrorCard;
use crate::components::progress::JobProgress;

/// Probes a person chooses.
pub const CHOOSE: usize = 5;

/// The page.
#[component]
pub fn CalibrationPage() -> impl IntoView {
    let params = use_params_map();
    let version = RwSignal::new(0u32);
    let data = session_resource(move || params.read().get("id").unwrap_or_default(), version);
    let refresh = Callback::new(move |_: ()| version.update(|v| *v += 1));
    let error = RwSignal::new(None::<String>);
    view! {
        <Title text="Style calibration · StableSteering"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(state) => view! { <CalibrationView state refresh error/> }.into_any(),
                    Err(failure) => view! { <ErrorCard failure/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Queues the first round and opens the session page.
fn open_first_round(
    session_id: String,
    error: RwSignal<Option<String>>,
    navigate: impl Fn(&str, leptos_router::NavigateOptions) + 'static,
) {
    leptos::task::spawn_local(async move {
        let path = format!("/sessions/{session_id}/rounds/next/async");
        match crate::net::post_json::<_, JobHandle>(&path, &()).await {
            Ok(_) => navigate(&format!("/sessions/{session_id}/view"), Default::default()),
            Err(e) => error.set(Some(e.describe())),
        }
    });
}

#[component]
fn CalibrationView(
    state: SessionState,
    refresh: Callback<()>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let id = state.session.id.clone();
    let started = state.latest_round().is_some();
    let probes = state.calibration_round().cloned();
    let submitted = probes
        .as_ref()
        .is_some_and(|r| !r.selected_candidate_ids.is_empty());
    let chosen = RwSignal::new(BTreeSet::<String>::new());
    let busy = RwSignal::new(false);
    let navigate = use_navigate();

    let skip = {
        let id = id.clone();
        let navigate = navigate.clone();
        move |_| {
            busy.set(true);
            open_first_round(id.clone(), error, navigate.clone());
        }
    };
    let body = if let Some(job) = &state.active_job {
        let on_done = Callback::new(move |_: ProgressUpdate| refresh.run(()));
        view! { <JobProgress initial=ProgressUpdate::from(job) slots=15 on_done/> }.into_any()
    } else if started || submitted {
        view! {
            <p id="calibration-done">"Calibration is over for this session. "
                <a href=format!("/sessions/{id}/view")>"Open the session"</a></p>
        }
        .into_any()
    } else if let Some(round) = probes {
        let confirm_id = id.clone();
        let confirm = move |_| {
            let selected: Vec<String> = chosen.get_untracked().into_iter().collect();
            if selected.len() != CHOOSE {
                error.set(Some(format!(
                    "Choose exactly {CHOOSE} images ({} chosen).",
                    selected.len()
                )));
                return;
            }
            busy.set(true);
            let id = confirm_id.clone();
            let navigate = navigate.clone();
            leptos::task::spawn_local(async move {
                let path = format!("/sessions/{id}/style-calibration/submit");
                let body = serde_json::json!({"selected_ids": selected});
                match crate::net::post_json::<_, serde::de::IgnoredAny>(&path, &body).await {
                    Ok(_) => open_first_round(id, error, navigate),
                    Err(e) => {
                        error.set(Some(e.describe()));
                        busy.set(false);
                    }
                }
            });
        };
        view! {
            <p id="chosen-count" role="status">{move || format!("{} of {CHOOSE} chosen", chosen.get().len())}</p>
            <div class="candidate-grid probes" role="group" aria-label="style probes">
                {round.candidates.into_iter().enumerate().map(|(i, c)| {
                    let (read_id, toggle_id) = (c.id.clone(), c.id.clone());
                    let class = Signal::derive({ let id = c.id.clone(); move || if chosen.get().contains(&id) { "chosen".to_string() } else { String::new() } });
                    view! {
                        <CandidateFigure candidate=c position=i + 1 extra_class=class>
                            <button type="button" class="pick probe-toggle"
                                aria-pressed=move || chosen.get().contains(&read_id).to_string()
                                on:click=move |_| chosen.update(|set| {
                                    if !set.remove(&toggle_id) && set.len() < CHOOSE {
                                        set.insert(toggle_id.clone());
                                    }
                                })>
                                "Choose"
                            </button>
                        </CandidateFigure>
                    }
                }).collect_view()}
            </div>
            <div class="actions">
                <button id="confirm-calibration" type="button" class="primary"
                    disabled=move || busy.get() || chosen.get().len() != CHOOSE on:click=confirm>
                    "Confirm and start"
                </button>
            </div>
        }
        .into_any()
    } else {
        let generate_id = id.clone();
        let generate = move |_| {
            busy.set(true);
            let id = generate_id.clone();
            leptos::task::spawn_local(async move {
                let path = format!("/sessions/{id}/style-calibration/generate/async");
                match crate::net::post_json::<_, JobHandle>(&path, &()).await {
                    Ok(_) => refresh.run(()),
                    Err(e) => {
                        error.set(Some(e.describe()));
                        busy.set(false);
                    }
                }
            });
        };
        view! {
            <div class="actions">
                <button id="generate-probes" type="button" class="primary" disabled=move || busy.get() on:click=generate>
                    "Generate 15 style images"
                </button>
            </div>
        }
        .into_any()
    };
    view! {
        <header class="page-head">
            <h1>"Style calibration"</h1>
            <p class="muted">{format!("“{}”: choose the {CHOOSE} images whose style you like; the first round starts from their mean.", state.session.prompt)}</p>
        </header>
        <section id="calibration" class="card">
            {body}
            {move || error.get().map(|e| view! { <p id="calibration-error" class="error" role="alert">{e}</p> })}
            {(!started).then(|| view! {
                <button id="skip-calibration" type="button" class="secondary" disabled=move || busy.get() on:click=skip>
                    "Skip calibration"
                </button>
            })}
        </section>
    }
}
