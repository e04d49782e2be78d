//! `/sessions/{id}/replay-view?round=r`: time travel. A slider over the rounds; for round r the page
//! shows the server's projection of the log as of the end of r (`/api/sessions/{id}/rounds/{r}`):
//! that round's candidates, the feedback given, the update summary, the z trajectory up to r
//! and, for `preference` sessions, the model's belief after r and how it moved up to r.
//! "Fork from here" branches a new session at r and opens it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::{SessionInfo, SessionState};
use crate::components::belief_panel::{recommended_in, BeliefPanel, BeliefPlot};
use crate::components::candidate::CandidateGrid;
use crate::components::error_card::ErrorCard;
use crate::components::session_cards::{ConvergenceBanner, ExportLinks, LineageNote};
use crate::components::trajectory_plot::TrajectoryPlot;
use crate::net::{Api, ApiFailure};

/// The session now (for the range of rounds) and as of round `round`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReplayData {
    pub now: SessionState,
    pub round: Option<u32>,
    pub at: Option<SessionState>,
}

/// Round indexes a person can travel to, in order.
pub fn round_indexes(state: &SessionState) -> Vec<u32> {
    let mut out: Vec<u32> = state.rounds.iter().map(|r| r.round_index).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The page.
#[component]
pub fn ReplayPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let api = Api::from_context();
    let data = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                query
                    .read()
                    .get("round")
                    .and_then(|r| r.parse::<u32>().ok()),
            )
        },
        move |(id, wanted)| {
            let api = api.clone();
            async move {
                let now = api
                    .get::<SessionState>(&format!("/api/sessions/{id}"))
                    .await?;
                let indexes = round_indexes(&now);
                let round = match wanted {
                    Some(r) if indexes.contains(&r) => Some(r),
                    Some(r) => {
                        return Err(ApiFailure {
                            status: 404,
                            field: Some("round".into()),
                            message: format!("session {id} has no round {r}"),
                            ..ApiFailure::default()
                        })
                    }
                    None => indexes.last().copied(),
                };
                let at = match round {
                    Some(r) => Some(
                        api.get::<SessionState>(&format!("/api/sessions/{id}/rounds/{r}"))
                            .await?,
                    ),
                    None => None,
                };
                Ok::<_, ApiFailure>(ReplayData { now, round, at })
            }
        },
    );
    view! {
        <Title text="Replay · StableSteering"/>
        <Transition fallback=|| view! { <p class="muted">"Loading the replay…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(replay) => view! { <ReplayView replay/> }.into_any(),
                    Err(failure) => view! { <ErrorCard failure/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ReplayView(replay: ReplayData) -> impl IntoView {
    let session: SessionInfo = replay.now.session.clone();
    let id = session.id.clone();
    let indexes = round_indexes(&replay.now);
    let navigate = use_navigate();
    let go = {
        let (id, navigate) = (id.clone(), navigate.clone());
        move |r: u32| {
            navigate(
                &format!("/sessions/{id}/replay-view?round={r}"),
                Default::default(),
            )
        }
    };
    let head = view! {
        <header class="page-head">
            <h1>"Replay: " {session.prompt.clone()}</h1>
            <LineageNote lineage=session.lineage.clone()/>
            <nav class="actions">
                <a id="back-to-session" class="button secondary" href=format!("/sessions/{id}/view")>"Back to the session"</a>
            </nav>
            <ExportLinks session_id=id.clone()/>
        </header>
    };
    let (Some(round), Some(at)) = (replay.round, replay.at) else {
        return view! { {head} <p id="replay-empty" class="card muted">"No rounds yet: nothing to replay."</p> }.into_any();
    };
    let min = indexes.first().copied().unwrap_or(0);
    let max = indexes.last().copied().unwrap_or(0);
    let this = at.rounds.iter().find(|r| r.round_index == round).cloned();
    let fork_error = RwSignal::new(None::<String>);
    let fork = {
        let id = id.clone();
        move |_| {
            let (id, navigate) = (id.clone(), navigate.clone());
            leptos::task::spawn_local(async move {
                let body = serde_json::json!({"round": round});
                let path = format!("/api/sessions/{id}/fork");
                match crate::net::post_json::<_, SessionInfo>(&path, &body).await {
                    Ok(child) => {
                        navigate(&format!("/sessions/{}/view", child.id), Default::default())
                    }
                    Err(e) => fork_error.set(Some(e.describe())),
                }
            });
        }
    };
    let slider_go = go.clone();
    let (prev_go, next_go) = (go.clone(), go);
    let prev = indexes.iter().rev().find(|r| **r < round).copied();
    let next = indexes.iter().find(|r| **r > round).copied();
    view! {
        {head}
        <section id="replay" class="card" data-round=round>
            <div class="timeline">
                <button id="replay-prev" type="button" class="secondary" disabled=prev.is_none()
                    on:click=move |_| { if let Some(p) = prev { prev_go(p) } }>"← Earlier"</button>
                <label for="replay-slider" class="grow">
                    {format!("Round {round} of {max}")}
                    <input id="replay-slider" type="range" min=min max=max step="1" value=round
                        on:change=move |ev| { if let Ok(r) = event_target_value(&ev).parse::<u32>() { slider_go(r) } }/>
                </label>
                <button id="replay-next" type="button" class="secondary" disabled=next.is_none()
                    on:click=move |_| { if let Some(n) = next { next_go(n) } }>"Later →"</button>
            </div>
            <div class="actions">
                <button id="fork-here" type="button" class="primary" on:click=fork>{format!("Fork from round {round}")}</button>
            </div>
            {move || fork_error.get().map(|e| view! { <p id="fork-error" class="error" role="alert">{e}</p> })}
        </section>
        {this.map(|r| {
            let winner = r.winner_id();
            let recommended = recommended_in(at.belief.as_ref(), &r);
            let feedback = r.feedback_events.first().cloned();
            let title = if r.calibration { "Calibration probes".to_string() } else { format!("Round {} candidates", r.round_index) };
            view! {
                <section id="replay-round" class="card" data-round-id=r.id.clone()>
                    <h2>{title}</h2>
                    <CandidateGrid candidates=r.candidates.clone() winner=winner.clone() recommended/>
                    <h3>"Feedback"</h3>
                    {match feedback {
                        Some(f) => view! {
                            <p id="replay-feedback" data-type=f.feedback_type.clone()>
                                {format!("{} · winner #{}", f.feedback_type,
                                    winner.as_ref().and_then(|w| r.candidates.iter().position(|c| &c.id == w)).map_or_else(|| "–".into(), |p| (p + 1).to_string()))}
                            </p>
                            {f.critique_text.clone().map(|t| view! { <blockquote>{t}</blockquote> })}
                            <details><summary>"Payload"</summary><pre>{f.payload.0.clone()}</pre></details>
                        }.into_any(),
                        None => view! { <p id="replay-feedback" class="muted">"No feedback was given for this round."</p> }.into_any(),
                    }}
                    <h3>"Update"</h3>
                    <details open=true><summary>"Update summary"</summary>
                        <pre id="update-summary">{r.update_summary.0.clone()}</pre>
                    </details>
                </section>
            }
        })}
        {at.belief.clone().map(|belief| {
            let plotted = belief.clone();
            view! {
                <BeliefPanel belief heading=format!("What the model believed after round {round}")/>
                <section id="belief-history" class="card" aria-labelledby="belief-history-title">
                    <h2 id="belief-history-title">{format!("How the estimate moved up to round {round}")}</h2>
                    <BeliefPlot belief=plotted until=round/>
                </section>
            }
        })}
        <section class="card" aria-labelledby="trajectory-title">
            <h2 id="trajectory-title">{format!("Steering trajectory up to round {round}")}</h2>
            {at.convergence.clone().map(|report| view! { <ConvergenceBanner report/> })}
            <TrajectoryPlot points=at.trajectory.clone()/>
        </section>
    }
    .into_any()
}
