//! The rating panel of the round awaiting feedback: the candidate grid with the controls of the
//! session's feedback mode on every card, dimension ratings and their priority order (star
//! mode), the critique text, validation before sending (the server's checks, [`Draft`]), the
//! server's refusals shown inline, and the keyboard: arrows choose, 1–9 pick or rate, Enter
//! submits, Escape clears.

use leptos::prelude::*;

use super::candidate::CandidateFigure;
use crate::api::{CandidateInfo, RoundInfo};
use crate::feedback::{is_positive_tag, Draft, Mode, CRITIQUE_TAGS};

/// An error shown under the form: the field it concerns and whether the server said it.
#[derive(Debug, Clone, PartialEq)]
pub struct FormError {
    pub field: Option<String>,
    pub message: String,
    pub from_server: bool,
}

/// Class names of a card for the current draft.
pub fn card_classes(draft: &Draft, mode: Mode, id: &str, focused: bool) -> String {
    let mut classes = Vec::new();
    if focused {
        classes.push("focused");
    }
    if draft.winner.as_deref() == Some(id) {
        classes.push("picked-winner");
    }
    if draft.loser.as_deref() == Some(id) {
        classes.push("picked-loser");
    }
    if mode == Mode::ApproveReject && draft.approved.contains(id) {
        classes.push("approved");
    }
    if draft.ranks.contains_key(id) {
        classes.push("ranked");
    }
    classes.join(" ")
}

/// The feedback form for `round`; `on_submitted` runs after the server accepted the feedback.
#[component]
pub fn FeedbackForm(
    round: RoundInfo,
    mode: Mode,
    dimensions: Vec<String>,
    session_id: String,
    #[prop(into)] on_submitted: Callback<()>,
    /// Id of the candidate the preference model recommends (marked "model's pick").
    #[prop(default = None)]
    recommended: Option<String>,
) -> impl IntoView {
    let ids: Vec<String> = round.candidates.iter().map(|c| c.id.clone()).collect();
    let draft = RwSignal::new(Draft::new(&dimensions));
    let focus = RwSignal::new(0usize);
    let error = RwSignal::new(None::<FormError>);
    let busy = RwSignal::new(false);
    let round_id = round.id.clone();

    let submit = {
        let ids = ids.clone();
        let round_id = round_id.clone();
        let session_id = session_id.clone();
        Callback::new(move |_: ()| {
            if busy.get_untracked() {
                return;
            }
            let body = match draft.get_untracked().to_request(mode, &ids) {
                Ok(body) => body,
                Err(e) => {
                    error.set(Some(FormError {
                        field: Some(e.field),
                        message: e.message,
                        from_server: false,
                    }));
                    return;
                }
            };
            error.set(None);
            busy.set(true);
            crate::trace::emit(
                "feedback.submit.clicked",
                Some(&session_id),
                Some(&round_id),
                serde_json::json!({"feedback_type": mode.as_str()}),
            );
            let path = format!("/rounds/{round_id}/feedback");
            let (session_id, round_id) = (session_id.clone(), round_id.clone());
            leptos::task::spawn_local(async move {
                match crate::net::post_json::<_, serde::de::IgnoredAny>(&path, &body).await {
                    Ok(_) => {
                        crate::trace::emit(
                            "feedback.submit.completed",
                            Some(&session_id),
                            Some(&round_id),
                            serde_json::json!({}),
                        );
                        on_submitted.run(());
                    }
                    Err(f) => {
                        error.set(Some(FormError {
                            field: f.field.clone(),
                            message: f.describe(),
                            from_server: true,
                        }));
                        busy.set(false);
                    }
                }
            });
        })
    };

    keyboard(ids.clone(), dimensions.clone(), mode, draft, focus, submit);

    let count = round.candidates.len();
    let cards = round
        .candidates
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, c)| {
            let id = c.id.clone();
            let classes = Signal::derive(move || {
                let mut class = card_classes(&draft.get(), mode, &id, focus.get() == i);
                let invalid = error.get().and_then(|e| e.field).is_some_and(|f| f.ends_with(&id));
                if invalid {
                    class.push_str(" invalid");
                }
                class
            });
            let controls = card_controls(&c, i + 1, count, mode, &dimensions, draft, focus);
            let recommended = recommended.as_deref() == Some(c.id.as_str());
            view! { <CandidateFigure candidate=c position=i + 1 extra_class=classes recommended>{controls}</CandidateFigure> }
        })
        .collect_view();

    let show_dimensions = mode == Mode::ScalarRating && !dimensions.is_empty();
    view! {
        <form id="feedback-form" class="feedback-form" data-mode=mode.as_str() data-round-id=round_id.clone()
            on:submit=move |ev| { ev.prevent_default(); submit.run(()); }>
            <p class="hint" id="keyboard-hint"><kbd>"⌨"</kbd>" " {mode.keyboard_hint()}</p>
            <div class="candidate-grid rating" role="group" aria-label="candidates of this round">{cards}</div>
            {show_dimensions.then(|| view! { <PriorityList draft/> })}
            <label class="block" for="critique-text">"Critique (optional, sent with the feedback)"</label>
            <textarea id="critique-text" rows="2" maxlength="4000"
                placeholder="What should change? e.g. warmer light, less clutter"
                prop:value=move || draft.get().critique_text
                on:input=move |ev| draft.update(|d| d.critique_text = event_target_value(&ev))></textarea>
            {move || error.get().map(|e| view! {
                <p id="feedback-error" class="error" role="alert"
                    data-field=e.field.clone().unwrap_or_default()
                    data-source=if e.from_server { "server" } else { "client" }>
                    {e.message.clone()}
                    {e.field.clone().filter(|_| !e.from_server).map(|f| format!(" (field `{f}`)"))}
                </p>
            })}
            <div class="actions">
                <button id="submit-feedback" type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Submitting…" } else { "Submit feedback" }}
                </button>
                <button id="clear-feedback" type="button" class="secondary"
                    on:click={
                        let dims = dimensions.clone();
                        move |_| { draft.set(Draft::new(&dims)); error.set(None); }
                    }>"Clear"</button>
            </div>
        </form>
     }
    .into_any()
}

/// The mode's controls on one card.
fn card_controls(
    c: &CandidateInfo,
    position: usize,
    count: usize,
    mode: Mode,
    dimensions: &[String],
    draft: RwSignal<Draft>,
    focus: RwSignal<usize>,
) -> AnyView {
    let id = c.id.clone();
    let choose = move || focus.set(position - 1);
    match mode {
        Mode::ScalarRating | Mode::CritiqueRating => {
            let stars = star_row(
                id.clone(),
                format!("rating of image {position}"),
                draft,
                move |d: &Draft, id: &str| d.ratings.get(id).copied(),
                move |d: &mut Draft, id: &str, n| d.rate(id, n),
            );
            let weighted = {
                let id = id.clone();
                move || {
                    let d = draft.get();
                    (!d.ratings.contains_key(&id))
                        .then(|| d.weighted_stars(&id))
                        .flatten()
                        .map(|s| view! { <span class="muted weighted">{format!("from dimensions: {s}★")}</span> })
                }
            };
            let extra = if mode == Mode::CritiqueRating {
                tag_pills(id.clone(), position, draft).into_any()
            } else if !dimensions.is_empty() {
                dimension_rows(id.clone(), position, dimensions.to_vec(), draft).into_any()
            } else {
                ().into_any()
            };
            view! { <div class="controls" on:focusin=move |_| choose()>{stars}{weighted}{extra}</div> }.into_any()
        }
        Mode::WinnerOnly => {
            let pressed = {
                let id = id.clone();
                move || (draft.get().winner.as_deref() == Some(id.as_str())).to_string()
            };
            view! {
                <div class="controls">
                    <button type="button" class="pick winner-button" aria-pressed=pressed
                        on:click=move |_| { choose(); draft.update(|d| d.pick(Mode::WinnerOnly, &id)); }>
                        "Winner"
                    </button>
                </div>
            }
            .into_any()
        }
        Mode::Pairwise => {
            let (w_id, l_id) = (id.clone(), id.clone());
            let (w_set, l_set) = (id.clone(), id);
            view! {
                <div class="controls pair">
                    <button type="button" class="pick winner-button"
                        aria-pressed=move || (draft.get().winner.as_deref() == Some(w_id.as_str())).to_string()
                        on:click=move |_| { choose(); draft.update(|d| { if d.loser.as_deref() == Some(w_set.as_str()) { d.loser = None; } d.winner = Some(w_set.clone()); }); }>
                        "Winner"
                    </button>
                    <button type="button" class="pick loser-button"
                        aria-pressed=move || (draft.get().loser.as_deref() == Some(l_id.as_str())).to_string()
                        on:click=move |_| { choose(); draft.update(|d| { if d.winner.as_deref() == Some(l_set.as_str()) { d.winner = None; } d.loser = Some(l_set.clone()); }); }>
                        "Loser"
                    </button>
                </div>
            }
            .into_any()
        }
        Mode::ApproveReject => {
            let (a_id, a_set, w_id, w_set) = (id.clone(), id.clone(), id.clone(), id);
            view! {
                <div class="controls">
                    <label class="check">
                        <input type="checkbox" class="approve"
                            prop:checked=move || draft.get().approved.contains(&a_id)
                            on:change=move |_| { choose(); draft.update(|d| d.pick(Mode::ApproveReject, &a_set)); }/>
                        "Approved"
                    </label>
                    <button type="button" class="pick preferred-button"
                        aria-pressed=move || (draft.get().winner.as_deref() == Some(w_id.as_str())).to_string()
                        on:click=move |_| { choose(); draft.update(|d| { d.approved.insert(w_set.clone()); d.winner = Some(w_set.clone()); }); }>
                        "Preferred"
                    </button>
                </div>
            }
            .into_any()
        }
        Mode::TopK => {
            let (r_id, r_set) = (id.clone(), id);
            view! {
                <div class="controls">
                    <label class="rank">
                        "Rank "
                        <select class="rank-select" aria-label=format!("rank of image {position}")
                            prop:value=move || draft.get().ranks.get(&r_id).map(|r| r.to_string()).unwrap_or_default()
                            on:change=move |ev| {
                                choose();
                                let value = event_target_value(&ev);
                                draft.update(|d| match value.parse::<u32>() {
                                    Ok(rank) => { d.ranks.insert(r_set.clone(), rank); }
                                    Err(_) => { d.ranks.remove(&r_set); }
                                });
                            }>
                            <option value="">"–"</option>
                            {(1..=count).map(|r| view! { <option value=r.to_string()>{r}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
            }
            .into_any()
        }
    }
}

/// Five toggle buttons; `get` reads the current value, `set` applies a click.
fn star_row(
    id: String,
    label: String,
    draft: RwSignal<Draft>,
    get: impl Fn(&Draft, &str) -> Option<u8> + Clone + Send + Sync + 'static,
    set: impl Fn(&mut Draft, &str, u8) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <div class="stars" role="group" aria-label=label.clone()>
            {(1..=5u8).map(|n| {
                let (id_read, id_write) = (id.clone(), id.clone());
                let (get, set) = (get.clone(), set.clone());
                view! {
                    <button type="button" class="star" data-stars=n
                        aria-label=format!("{label}: {n} of 5")
                        aria-pressed=move || (get(&draft.get(), &id_read).is_some_and(|v| v >= n)).to_string()
                        on:click=move |_| draft.update(|d| set(d, &id_write, n))>
                        "★"
                    </button>
                }
            }).collect_view()}
        </div>
    }
}

fn tag_pills(id: String, position: usize, draft: RwSignal<Draft>) -> impl IntoView {
    view! {
        <div class="tags" role="group" aria-label=format!("critique tags of image {position}")>
            {CRITIQUE_TAGS.into_iter().map(|tag| {
                let (id_read, id_write) = (id.clone(), id.clone());
                let class = if is_positive_tag(tag) { "tag positive" } else { "tag negative" };
                view! {
                    <button type="button" class=class data-tag=tag
                        aria-pressed=move || draft.get().tags.get(&id_read).is_some_and(|s| s.contains(tag)).to_string()
                        on:click=move |_| draft.update(|d| d.toggle_tag(&id_write, tag))>
                        {tag.replace('_', " ")}
                    </button>
                }
            }).collect_view()}
        </div>
    }
}

fn dimension_rows(
    id: String,
    position: usize,
    dimensions: Vec<String>,
    draft: RwSignal<Draft>,
) -> impl IntoView {
    view! {
        <details class="dimension-ratings">
            <summary>{format!("Rate dimensions of image {position}")}</summary>
            {dimensions.into_iter().map(|dim| {
                let label = format!("{dim} of image {position}");
                let (dim_get, dim_set) = (dim.clone(), dim.clone());
                view! {
                    <div class="dimension-row">
                        <span class="dimension-name">{dim}</span>
                        {star_row(id.clone(), label, draft,
                            move |d: &Draft, id: &str| d.dimension_ratings.get(id).and_then(|m| m.get(&dim_get)).copied(),
                            move |d: &mut Draft, id: &str, n| d.rate_dimension(id, &dim_set, n))}
                    </div>
                }
            }).collect_view()}
        </details>
    }
}

/// The global priority order of the dimensions (1 = most important), moved with buttons so it
/// works from the keyboard.
#[component]
fn PriorityList(draft: RwSignal<Draft>) -> impl IntoView {
    view! {
        <section class="priorities" aria-labelledby="priorities-title">
            <h3 id="priorities-title">"Dimension priorities"</h3>
            <p class="muted">"Dimension ratings become the overall stars of an image you did not star yourself, weighted by this order."</p>
            <ol id="priority-list">
                {move || draft.get().priorities.into_iter().map(|dim| {
                    let (up, down) = (dim.clone(), dim.clone());
                    view! {
                        <li data-dimension=dim.clone()>
                            <span>{dim.clone()}</span>
                            <button type="button" class="icon" aria-label=format!("move {dim} up")
                                on:click=move |_| draft.update(|d| d.move_priority(&up, true))>"↑"</button>
                            <button type="button" class="icon" aria-label=format!("move {dim} down")
                                on:click=move |_| draft.update(|d| d.move_priority(&down, false))>"↓"</button>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}

/// Keyboard shortcuts while the form is on the page (browser only).
#[cfg(feature = "hydrate")]
fn keyboard(
    ids: Vec<String>,
    dimensions: Vec<String>,
    mode: Mode,
    draft: RwSignal<Draft>,
    focus: RwSignal<usize>,
    submit: Callback<()>,
) {
    use leptos::leptos_dom::helpers::{document, window_event_listener};
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        if ids.is_empty() || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let active = document().active_element();
        let tag = active.as_ref().map(|e| e.tag_name()).unwrap_or_default();
        let kind = active
            .as_ref()
            .and_then(|e| e.get_attribute("type"))
            .unwrap_or_default();
        let typing = tag == "TEXTAREA"
            || tag == "SELECT"
            || (tag == "INPUT" && !matches!(kind.as_str(), "checkbox" | "radio" | "range"));
        if typing {
            return;
        }
        let n = ids.len();
        let key = ev.key();
        match key.as_str() {
            "ArrowRight" | "ArrowDown" => {
                ev.prevent_default();
                focus.update(|f| *f = (*f + 1) % n);
            }
            "ArrowLeft" | "ArrowUp" => {
                ev.prevent_default();
                focus.update(|f| *f = (*f + n - 1) % n);
            }
            "Enter" => {
                // A focused button or link does its own thing with Enter.
                if matches!(tag.as_str(), "BUTTON" | "A" | "SUMMARY") {
                    return;
                }
                ev.prevent_default();
                submit.run(());
            }
            "Escape" => draft.set(Draft::new(&dimensions)),
            "w" | "W" if mode == Mode::ApproveReject => {
                let id = ids[focus.get_untracked().min(n - 1)].clone();
                draft.update(|d| {
                    d.approved.insert(id.clone());
                    d.winner = Some(id);
                });
            }
            _ => {
                let Some(digit) = key.parse::<usize>().ok().filter(|d| (1..=9).contains(d)) else {
                    return;
                };
                if mode.uses_stars() {
                    if digit <= 5 {
                        let id = ids[focus.get_untracked().min(n - 1)].clone();
                        draft.update(|d| {
                            d.ratings.insert(id, digit as u8);
                        });
                    }
                } else if digit <= n {
                    focus.set(digit - 1);
                    draft.update(|d| d.pick(mode, &ids[digit - 1]));
                }
            }
        }
    });
    on_cleanup(move || handle.remove());
}

#[cfg(not(feature = "hydrate"))]
fn keyboard(
    _ids: Vec<String>,
    _dimensions: Vec<String>,
    _mode: Mode,
    _draft: RwSignal<Draft>,
    _focus: RwSignal<usize>,
    _submit: Callback<()>,
) {
}
