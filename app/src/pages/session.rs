//! `/sessions/{id}/view`: where a person steers. The round awaiting feedback with the mode's
//! controls, or the job rendering the next one (live, from SSE), or the button that starts it;
//! the convergence banner, the preference model's belief (with "new seed"), the taste profile
//! and the round history. Everything shown is the server's projection
//! (`GET /api/sessions/{id}`), re-read after each action.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{JobHandle, ProgressUpdate, RoundInfo, SessionState};
use crate::components::belief_panel::{recommended_in, BeliefPanel};
use crate::components::candidate::CandidateGrid;
use crate::components::error_card::ErrorCard;
use crate::components::feedback_form::FeedbackForm;
use crate::components::progress::JobProgress;
use crate::components::session_cards::{
    human_status, ConvergenceBanner, ExportLinks, LineageNote, TasteProfileCard,
};
use crate::feedback::Mode;
use crate::net::Api;

/// Reads a session's state, keyed on its id and a version bumped by every action.
pub fn session_resource(
    id: impl Fn() -> String + Send + Sync + 'static,
    version: RwSignal<u32>,
) -> Resource<Result<SessionState, crate::net::ApiFailure>> {
    let api = Api::from_context();
    Resource::new(
        move || (id(), version.get()),
        move |(id, _)| {
            let api = api.clone();
            async move {
                api.get::<SessionState>(&format!("/api/sessions/{id}"))
                    .await
            }
        },
    )
}

/// Queues the next round of `session_id`; `then` runs on success.
pub fn start_round(session_id: String, error: RwSignal<Option<String>>, then: Callback<()>) {
    crate::trace::emit(
        "round.generate.clicked",
        Some(&session_id),
        None,
        serde_json::json!({}),
    );
    leptos::task::spawn_local(async move {
        let path = format!("/sessions/{session_id}/rounds/next/async");
        let answer = crate::net::post_json::<_, JobHandle>(&path, &()).await;
        match answer {
            Ok(_) => error.set(None),
            Err(e) => error.set(Some(e.describe())),
        }
        // Either way the page shows the server's state again.
        then.run(());
    });
}

/// Asks for a new shared seed for later rounds; refusals go to the page's action error.
#[component]
fn NewSeedButton(
    session_id: String,
    action_error: RwSignal<Option<String>>,
    refresh: Callback<()>,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let renew = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let path = format!("/api/sessions/{session_id}/seed");
        leptos::task::spawn_local(async move {
            match crate::net::post_json::<_, serde::de::IgnoredAny>(&path, &()).await {
                Ok(_) => action_error.set(None),
                Err(e) => action_error.set(Some(e.describe())),
            }
            busy.set(false);
            refresh.run(());
        });
    };
    view! {
        <button id="new-seed" type="button" class="secondary" disabled=move || busy.get() on:click=renew
            title="Later rounds render with a fresh seed shared by all their images">
            "New seed"
        </button>
    }
}

/// The page.
#[component]
pub fn SessionPage() -> impl IntoView {
    let params = use_params_map();
    let version = RwSignal::new(0u32);
    let data = session_resource(move || params.read().get("id").unwrap_or_default(), version);
    let refresh = Callback::new(move |_: ()| version.update(|v| *v += 1));
    // Lives above the view so an error survives the re-render that follows it.
    let action_error = RwSignal::new(None::<String>);
    let auto_advance = RwSignal::new(true);
    // Once per page load (effects never run during SSR).
    Effect::new(move |_| {
        let id = params.read_untracked().get("id").unwrap_or_default();
        crate::trace::emit(
            "page.loaded",
            Some(&id),
            None,
            serde_json::json!({"page": "session"}),
        )
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the session…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(state) => view! { <SessionView state refresh action_error auto_advance/> }.into_any(),
                    Err(failure) => view! { <ErrorCard failure/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SessionView(
    state: SessionState,
    refresh: Callback<()>,
    action_error: RwSignal<Option<String>>,
    auto_advance: RwSignal<bool>,
) -> impl IntoView {
    let session = state.session.clone();
    let id = session.id.clone();
    let mode = Mode::parse(&session.config.feedback_mode).unwrap_or(Mode::ScalarRating);
    let latest = state.latest_round().cloned();
    let rounds_done = state
        .rounds
        .iter()
        .filter(|r| !r.calibration && r.has_feedback())
        .count();

    let main = session_main(
        &state,
        latest.clone(),
        mode,
        auto_advance,
        action_error,
        refresh,
    );
    let belief_panel = state.belief.clone().map(|belief| {
        let seed_button =
            (belief.seed_policy == "shared" && state.active_job.is_none()).then(|| {
                let session_id = id.clone();
                view! { <NewSeedButton session_id action_error refresh/> }
            });
        view! { <BeliefPanel belief>{seed_button}</BeliefPanel> }
    });
    let belief = state.belief.clone();
    let history: Vec<RoundInfo> = state
        .rounds
        .iter()
        .rev()
        .filter(|r| !r.calibration && r.has_feedback())
        .cloned()
        .collect();
    let calibration_link = (!session.has_calibration && latest.is_none()).then(|| {
        view! { <a id="calibration-link" class="button secondary" href=format!("/sessions/{id}/style-calibration")>"Style calibration first"</a> }
    });

    view! {
        <Title text=format!("{} · StableSteering", session.prompt)/>
        <header class="page-head" id="session-head" data-session-id=id.clone() data-status=session.status.clone()>
            <h1 id="session-prompt">{session.prompt.clone()}</h1>
            <p class="meta">
                <span class="pill" id="session-mode" data-mode=mode.as_str()>{mode.label()}</span>
                <span class="pill">{format!("sampler {}", session.config.sampler)}</span>
                <span class="pill">{format!("updater {}", session.config.updater)}</span>
                <span class="pill" id="session-round">{format!("round {}", session.current_round)}</span>
                <span class="pill" id="session-status">{human_status(&session.status)}</span>
            </p>
            {(!session.negative_prompt.is_empty()).then(|| view! { <p class="muted">"Negative prompt: "{session.negative_prompt.clone()}</p> })}
            <LineageNote lineage=session.lineage.clone()/>
            <nav class="actions">
                <a id="replay-link" class="button secondary" href=format!("/sessions/{id}/replay-view")>"Replay / time travel"</a>
                {calibration_link}
            </nav>
            <ExportLinks session_id=id.clone()/>
        </header>
        {state.convergence.clone().filter(|_| rounds_done > 0).map(|report| view! { <ConvergenceBanner report/> })}
        <label class="check" for="auto-advance">
            <input id="auto-advance" type="checkbox" prop:checked=move || auto_advance.get()
                on:change=move |ev| auto_advance.set(event_target_checked(&ev))/>
            "Start the next round as soon as feedback is submitted"
        </label>
        {move || action_error.get().map(|e| view! { <p id="action-error" class="error" role="alert">{e}</p> })}
        {main}
        {belief_panel}
        {state.taste_profile.clone().filter(|t| !t.dimensions.is_empty()).map(|profile| view! { <TasteProfileCard profile/> })}
        <section id="round-history" class="card" aria-labelledby="history-title">
            <h2 id="history-title">{format!("Round history ({rounds_done})")}</h2>
            {history.is_empty().then(|| view! { <p class="muted">"No rated rounds yet."</p> })}
            {history.into_iter().enumerate().map(|(i, r)| {
                let winner = r.winner_id();
                let recommended = recommended_in(belief.as_ref(), &r);
                let winner_pos = winner.as_ref().and_then(|w| r.candidates.iter().position(|c| &c.id == w)).map(|p| p + 1);
                let summary = format!("Round {} · {} · winner #{}", r.round_index,
                    r.feedback_events.first().map(|f| f.feedback_type.clone()).unwrap_or_default(),
                    winner_pos.map_or_else(|| "–".to_string(), |p| p.to_string()));
                view! {
                    <details class="round" data-round=r.round_index open=i == 0>
                        <summary>{summary}</summary>
                        <CandidateGrid candidates=r.candidates.clone() winner recommended/>
                        <a href=format!("/sessions/{}/replay-view?round={}", id, r.round_index)>"Open in replay"</a>
                    </details>
                }
            }).collect_view()}
        </section>
    }
}

/// What the middle of the page shows: progress, the rating form, a failure or a start button.
fn session_main(
    state: &SessionState,
    latest: Option<RoundInfo>,
    mode: Mode,
    auto_advance: RwSignal<bool>,
    action_error: RwSignal<Option<String>>,
    refresh: Callback<()>,
) -> AnyView {
    let id = state.session.id.clone();
    if let Some(job) = &state.active_job {
        let initial = ProgressUpdate::from(job);
        let slots = state.session.config.candidate_count as usize;
        let on_done = Callback::new(move |_: ProgressUpdate| refresh.run(()));
        return view! { <JobProgress initial slots on_done/> }.into_any();
    }
    match latest {
        Some(round) if round.status == "awaiting_feedback" => {
            let next_id = id.clone();
            let on_submitted = Callback::new(move |_: ()| {
                if auto_advance.get_untracked() {
                    start_round(next_id.clone(), action_error, refresh);
                } else {
                    refresh.run(());
                }
            });
            let recommended = recommended_in(state.belief.as_ref(), &round);
            view! {
                <section id="current-round" class="card" data-round=round.round_index data-round-id=round.id.clone()>
                    <h2>{format!("Round {}: your feedback", round.round_index)}</h2>
                    <FeedbackForm round=round.clone() mode dimensions=state.dimensions.clone() session_id=id on_submitted recommended/>
                </section>
            }
            .into_any()
        }
        Some(round) if round.status == "failed" => {
            let job = round.job_id.clone().unwrap_or_default();
            let retry = move |_| {
                let job = job.clone();
                leptos::task::spawn_local(async move {
                    let path = format!("/api/jobs/{job}/retry");
                    match crate::net::post_json::<_, serde::de::IgnoredAny>(&path, &()).await {
                        Ok(_) => refresh.run(()),
                        Err(e) => action_error.set(Some(e.describe())),
                    }
                });
            };
            view! {
                <section id="round-failed" class="card error" role="alert">
                    <h2>{format!("Round {} did not render", round.round_index)}</h2>
                    <p>{round.failure_reason.clone().unwrap_or_default()}</p>
                    <button id="retry-round" type="button" class="primary" on:click=retry>"Retry"</button>
                </section>
            }
            .into_any()
        }
        other => {
            let label = if other.is_some() {
                "Generate next round"
            } else {
                "Generate first round"
            };
            let start = move |_| start_round(id.clone(), action_error, refresh);
            view! {
                <section id="start-round" class="card">
                    <button id="next-round" type="button" class="primary" on:click=start>{label}</button>
                </section>
            }
            .into_any()
        }
    }
}
