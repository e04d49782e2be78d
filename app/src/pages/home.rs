//! `/`: the dashboard. Sessions to resume (prompt, status, round, the incumbent's thumbnail) with
//! replay, fork and delete (confirmed in place); experiments; a notice when the bundled demo
//! model is in use. One request (`/api/dashboard`), rendered on the server.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::{Dashboard, SessionCard, SessionInfo};
use crate::components::error_card::ErrorCard;
use crate::components::session_cards::human_status;
use crate::net::Api;

/// The dashboard.
#[component]
pub fn HomePage() -> impl IntoView {
    let api = Api::from_context();
    let version = RwSignal::new(0u32);
    let data = Resource::new(
        move || version.get(),
        move |_| {
            let api = api.clone();
            async move { api.get::<Dashboard>("/api/dashboard").await }
        },
    );
    let refresh = Callback::new(move |_: ()| version.update(|v| *v += 1));
    view! {
        <section class="hero card">
            <h1>"StableSteering"</h1>
            <p>
                "Type a prompt, rate a round of images, and a low-dimensional steering vector moves "
                "the next round toward what you prefer."
            </p>
            <nav class="actions">
                <a id="new-session" class="button primary" href="/setup">"Start a session"</a>
                <a class="button secondary" href="/diagnostics/view">"Runtime diagnostics"</a>
            </nav>
        </section>
        <Transition fallback=|| view! { <p class="muted">"Loading sessions…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(dashboard) => view! { <DashboardView dashboard refresh/> }.into_any(),
                    Err(failure) => view! { <ErrorCard failure/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DashboardView(dashboard: Dashboard, refresh: Callback<()>) -> impl IntoView {
    let notice = dashboard.model.notice.clone().map(|n| {
        view! { <p id="demo-notice" class="banner notice" role="note">{n}</p> }
    });
    let total = dashboard.session_total;
    view! {
        {notice}
        <section id="sessions" class="card" aria-labelledby="sessions-title">
            <h2 id="sessions-title">{format!("Sessions ({total})")}</h2>
            {dashboard.sessions.is_empty().then(|| view! {
                <p class="muted" id="no-sessions">"No sessions yet. "<a href="/setup">"Start one."</a></p>
            })}
            <ul class="session-list">
                {dashboard.sessions.into_iter().map(|s| view! { <SessionRow session=s refresh/> }).collect_view()}
            </ul>
        </section>
        <section id="experiments" class="card" aria-labelledby="experiments-title">
            <h2 id="experiments-title">"Experiments"</h2>
            {dashboard.experiments.is_empty().then(|| view! { <p class="muted">"No named experiments yet."</p> })}
            <table class="compact">
                <thead><tr><th>"name"</th><th>"sampler"</th><th>"updater"</th><th>"feedback"</th><th>"sessions"</th></tr></thead>
                <tbody>
                    {dashboard.experiments.into_iter().map(|e| view! {
                        <tr class="experiment" title=e.description.clone()>
                            <td>{e.name}</td>
                            <td>{e.sampler.unwrap_or_default()}</td>
                            <td>{e.updater.unwrap_or_default()}</td>
                            <td>{e.feedback_mode.unwrap_or_default()}</td>
                            <td>{e.session_count}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <p class="muted">{format!("Model {} on {}", dashboard.model.name, dashboard.model.device)}</p>
    }
}

#[component]
fn SessionRow(session: SessionCard, refresh: Callback<()>) -> impl IntoView {
    let id = session.id.clone();
    let confirming = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    let delete = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match crate::net::delete(&format!("/sessions/{id}")).await {
                    Ok(()) => refresh.run(()),
                    Err(e) => error.set(Some(e.describe())),
                }
            });
        }
    };
    let fork = {
        let id = id.clone();
        let round = session.current_round;
        move |_| {
            let (id, navigate) = (id.clone(), navigate.clone());
            leptos::task::spawn_local(async move {
                let body = serde_json::json!({"round": round});
                match crate::net::post_json::<_, SessionInfo>(
                    &format!("/api/sessions/{id}/fork"),
                    &body,
                )
                .await
                {
                    Ok(child) => {
                        navigate(&format!("/sessions/{}/view", child.id), Default::default())
                    }
                    Err(e) => error.set(Some(e.describe())),
                }
            });
        }
    };
    let round_text = if session.rounds == 0 {
        "Not started yet".to_string()
    } else {
        format!("round {}", session.current_round)
    };
    let status = if session.active_job_id.is_some() {
        "Rendering"
    } else {
        human_status(&session.status)
    };
    view! {
        <li class="session-row" data-session-id=id.clone()>
            <a class="thumb" href=format!("/sessions/{id}/view") tabindex="-1" aria-hidden="true">
                {match session.thumbnail_url.clone() {
                    Some(url) => view! { <img src=url alt="" width="64" height="64" loading="lazy"/> }.into_any(),
                    None => view! { <span class="thumb-empty"></span> }.into_any(),
                }}
            </a>
            <div class="session-text">
                <a class="session-prompt" href=format!("/sessions/{id}/view")>{session.prompt.clone()}</a>
                <span class="muted">
                    {format!("{status} · {round_text}")}
                    {session.feedback_mode.clone().map(|m| format!(" · {m}"))}
                    {session.converged.then_some(" · converged")}
                    {session.parent.as_ref().map(|p| format!(" · fork of round {}", p.round))}
                </span>
            </div>
            <div class="row-actions">
                <a class="button secondary resume" href=format!("/sessions/{id}/view")>"Resume"</a>
                <a class="button secondary replay" href=format!("/sessions/{id}/replay-view")>"Replay"</a>
                <button type="button" class="secondary fork" disabled=session.rounds == 0 on:click=fork>"Fork"</button>
                <Show when=move || confirming.get()
                    fallback=move || view! {
                        <button type="button" class="danger delete" on:click=move |_| confirming.set(true)>"Delete"</button>
                    }>
                    <span class="confirm" role="group" aria-label="confirm delete">
                        "Delete this session? "
                        <button type="button" class="danger confirm-delete" on:click=delete.clone()>"Delete"</button>
                        <button type="button" class="secondary cancel-delete" on:click=move |_| confirming.set(false)>"Keep"</button>
                    </span>
                </Show>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </li>
    }
}
