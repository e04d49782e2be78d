//! Live progress of a render job: milestone text, denoising step i/N, candidate k/K, ETA and
//! the step previews filling in, from the job's Server-Sent-Events stream (no polling). The
//! server renders the job's state at the time of the request, so a reload mid-job paints the
//! right progress at once; the browser then opens `/api/jobs/{id}/events` and follows.

use leptos::prelude::*;

use crate::api::ProgressUpdate;

/// "Step 3/15 · image 2/5 · about 4 s left".
pub fn progress_line(u: &ProgressUpdate) -> String {
    let mut parts = Vec::new();
    if u.total_steps > 0 {
        parts.push(format!(
            "step {}/{}",
            u.step.min(u.total_steps),
            u.total_steps
        ));
    }
    if u.total_candidates > 0 {
        parts.push(format!(
            "image {}/{}",
            u.candidate.min(u.total_candidates),
            u.total_candidates
        ));
    }
    if let Some(eta) = u.eta_seconds.filter(|e| e.is_finite() && *e >= 0.0) {
        parts.push(if eta < 1.0 {
            "under a second left".to_string()
        } else {
            format!("about {} s left", eta.round() as u64)
        });
    }
    parts.join(" · ")
}

/// Merges an update into what is shown: previews persist between preview ticks.
pub fn merge_update(current: &ProgressUpdate, next: ProgressUpdate) -> ProgressUpdate {
    let previews = if next.previews.is_empty() {
        current.previews.clone()
    } else {
        next.previews.clone()
    };
    ProgressUpdate { previews, ..next }
}

/// The progress panel of job `initial.job_id`. `slots` placeholders keep the layout still while
/// previews arrive. `on_done` runs once with the terminal update.
#[component]
pub fn JobProgress(
    initial: ProgressUpdate,
    #[prop(default = 0)] slots: usize,
    #[prop(into)] on_done: Callback<ProgressUpdate>,
    /// Whether to follow the SSE stream (off in component tests).
    #[prop(default = true)]
    live: bool,
) -> impl IntoView {
    let job_id = initial.job_id.clone();
    let state = RwSignal::new(initial);
    let cancel_error = RwSignal::new(None::<String>);
    if live {
        follow(job_id.clone(), state, on_done);
    }
    let slot_count = move || {
        let u = state.get();
        u.total_candidates.max(slots).max(u.previews.len())
    };
    let cancel_id = job_id.clone();
    let cancel = move |_| {
        let id = cancel_id.clone();
        leptos::task::spawn_local(async move {
            let path = format!("/api/jobs/{id}/cancel");
            if let Err(e) = crate::net::post_json::<_, serde::de::IgnoredAny>(&path, &()).await {
                cancel_error.set(Some(e.describe()));
            }
        });
    };
    view! {
        <section id="job-progress" class="card job-progress" aria-live="polite"
            data-job-id=job_id
            data-state=move || state.get().state
            data-step=move || state.get().step
            data-progress=move || state.get().progress>
            <div class="job-head">
                <h2 id="job-message">{move || {
                    let u = state.get();
                    if u.message.is_empty() { format!("Job {}", u.state) } else { u.message }
                }}</h2>
                <button id="job-cancel" type="button" class="secondary"
                    disabled=move || state.get().terminal
                    on:click=cancel>"Cancel"</button>
            </div>
            <progress id="job-bar" max="100" value=move || state.get().progress
                aria-label="job progress"></progress>
            <p id="job-steps" class="muted">{move || progress_line(&state.get())}</p>
            {move || state.get().error.map(|e| view! { <p id="job-error" class="error" role="alert">{e}</p> })}
            {move || cancel_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="preview-grid">
                {move || {
                    let previews = state.get().previews;
                    (0..slot_count()).map(|i| {
                        let src = previews.get(i).cloned();
                        let filled = src.is_some();
                        view! {
                            <div class="preview-slot" data-filled=filled.to_string()>
                                {src.map(|s| view! { <img src=s alt=format!("step preview of image {}", i + 1)/> })}
                            </div>
                        }
                    }).collect_view()
                }}
            </div>
        </section>
    }
}

/// Subscribes to the job's SSE stream and closes it when the job ends or the panel goes away.
#[cfg(feature = "hydrate")]
fn follow(job_id: String, state: RwSignal<ProgressUpdate>, on_done: Callback<ProgressUpdate>) {
    use send_wrapper::SendWrapper;
    use wasm_bindgen::prelude::Closure;
    use wasm_bindgen::JsCast;

    let Ok(source) = web_sys::EventSource::new(&format!("/api/jobs/{job_id}/events")) else {
        return;
    };
    let finished = std::rc::Rc::new(std::cell::Cell::new(false));
    let make = |terminal: bool| {
        let source = source.clone();
        let finished = finished.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let Some(text) = ev.data().as_string() else {
                return;
            };
            let Ok(update) = serde_json::from_str::<ProgressUpdate>(&text) else {
                return;
            };
            let merged = merge_update(&state.get_untracked(), update);
            state.set(merged.clone());
            if terminal || merged.terminal {
                source.close();
                if !finished.replace(true) {
                    on_done.run(merged);
                }
            }
        })
    };
    let on_progress = make(false);
    let on_finish = make(true);
    let _ =
        source.add_event_listener_with_callback("progress", on_progress.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("done", on_finish.as_ref().unchecked_ref());
    let held = SendWrapper::new((source, on_progress, on_finish));
    on_cleanup(move || held.0.close());
}

#[cfg(not(feature = "hydrate"))]
fn follow(_job_id: String, _state: RwSignal<ProgressUpdate>, _on_done: Callback<ProgressUpdate>) {}
