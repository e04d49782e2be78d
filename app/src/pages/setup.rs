//! `/setup`: a new session. Prompt, negative prompt, experiment name and description, the
//! strategy YAML (prefilled with the server's defaults, reloadable), aesthetic profile tags
//! (appended to the prompt, as the reference did) and whether to calibrate first. The server
//! validates; its error names the key and line, shown next to the editor.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::api::{ConfigTemplate, JobHandle, SetupCreated};
use crate::net::{Api, ApiFailure};

/// The aesthetic profile tags (§6.6).
pub const AESTHETIC_TAGS: [&str; 12] = [
    "photorealistic",
    "cinematic",
    "painterly",
    "warm_tones",
    "cool_tones",
    "minimalist",
    "dramatic_lighting",
    "soft_light",
    "high_detail",
    "wide_angle",
    "moody",
    "vibrant",
];

/// The prompt with the chosen tags appended (`prompt, warm tones, moody`), unless the prompt
/// already carries the first of them.
pub fn prompt_with_tags(prompt: &str, tags: &BTreeSet<String>) -> String {
    let ordered: Vec<String> = AESTHETIC_TAGS
        .into_iter()
        .filter(|t| tags.contains(*t))
        .map(|t| t.replace('_', " "))
        .collect();
    match ordered.first() {
        Some(first) if !prompt.to_lowercase().contains(first.as_str()) => {
            format!("{}, {}", prompt.trim_end(), ordered.join(", "))
        }
        _ => prompt.to_string(),
    }
}

/// The page.
#[component]
pub fn SetupPage() -> impl IntoView {
    let api = Api::from_context();
    let template = Resource::new(
        || (),
        move |_| {
            let api = api.clone();
            async move { api.get::<ConfigTemplate>("/setup/config-template").await }
        },
    );
    view! {
        <Title text="New session · StableSteering"/>
        <header class="page-head"><h1>"New session"</h1></header>
        <Suspense fallback=|| view! { <p class="muted">"Loading the defaults…"</p> }>
            {move || Suspend::new(async move {
                let yaml = template.await.map(|t| t.config_yaml).unwrap_or_default();
                view! { <SetupForm default_yaml=yaml/> }
            })}
        </Suspense>
    }
}

#[component]
fn SetupForm(default_yaml: String) -> impl IntoView {
    let prompt = RwSignal::new("A cinematic mountain road at sunrise".to_string());
    let negative = RwSignal::new("blurry, distorted".to_string());
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let yaml = RwSignal::new(default_yaml);
    let tags = RwSignal::new(BTreeSet::<String>::new());
    let calibrate = RwSignal::new(true);
    let error = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();

    let reload = move |_| {
        crate::trace::emit(
            "setup.config.reload.clicked",
            None,
            None,
            serde_json::json!({}),
        );
        leptos::task::spawn_local(async move {
            match Api::default()
                .get::<ConfigTemplate>("/setup/config-template")
                .await
            {
                Ok(t) => {
                    yaml.set(t.config_yaml);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        if prompt.get_untracked().trim().is_empty() {
            error.set(Some(ApiFailure {
                field: Some("prompt".into()),
                message: "Write a prompt first.".into(),
                ..ApiFailure::default()
            }));
            return;
        }
        busy.set(true);
        error.set(None);
        let body = serde_json::json!({
            "experiment_name": name.get_untracked(),
            "description": description.get_untracked(),
            "prompt": prompt_with_tags(&prompt.get_untracked(), &tags.get_untracked()),
            "negative_prompt": negative.get_untracked(),
            "config_yaml": yaml.get_untracked(),
        });
        crate::trace::emit("setup.submit.clicked", None, None, serde_json::json!({}));
        let navigate = navigate.clone();
        let calibrate = calibrate.get_untracked();
        leptos::task::spawn_local(async move {
            let created =
                match crate::net::post_json::<_, SetupCreated>("/setup/session", &body).await {
                    Ok(created) => created,
                    Err(e) => {
                        error.set(Some(e));
                        busy.set(false);
                        return;
                    }
                };
            let id = created.session.id;
            crate::trace::emit("session.created", Some(&id), None, serde_json::json!({}));
            if calibrate {
                navigate(
                    &format!("/sessions/{id}/style-calibration"),
                    Default::default(),
                );
                return;
            }
            let path = format!("/sessions/{id}/rounds/next/async");
            match crate::net::post_json::<_, JobHandle>(&path, &()).await {
                Ok(_) => navigate(&format!("/sessions/{id}/view"), Default::default()),
                Err(e) => {
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };

    let yaml_error = move || {
        error.get().filter(|e| {
            e.line.is_some()
                || e.field
                    .as_deref()
                    .is_some_and(|f| f != "prompt" && f != "negative_prompt")
        })
    };
    view! {
        <form id="setup-form" class="card setup" on:submit=submit>
            <label for="prompt">"Prompt"</label>
            <textarea id="prompt" rows="2" required=true
                prop:value=move || prompt.get()
                on:input=move |ev| prompt.set(event_target_value(&ev))></textarea>
            <label for="negative-prompt">"Negative prompt"</label>
            <input id="negative-prompt" type="text"
                prop:value=move || negative.get()
                on:input=move |ev| negative.set(event_target_value(&ev))/>
            <fieldset class="tags">
                <legend>"Aesthetic profile (appended to the prompt)"</legend>
                {AESTHETIC_TAGS.into_iter().map(|tag| view! {
                    <button type="button" class="tag" data-tag=tag
                        aria-pressed=move || tags.get().contains(tag).to_string()
                        on:click=move |_| tags.update(|t| { if !t.remove(tag) { t.insert(tag.to_string()); } })>
                        {tag.replace('_', " ")}
                    </button>
                }).collect_view()}
            </fieldset>
            <div class="two-columns">
                <div>
                    <label for="experiment-name">"Experiment name (optional)"</label>
                    <input id="experiment-name" type="text" prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))/>
                </div>
                <div>
                    <label for="experiment-description">"Description (optional)"</label>
                    <input id="experiment-description" type="text" prop:value=move || description.get()
                        on:input=move |ev| description.set(event_target_value(&ev))/>
                </div>
            </div>
            <div class="editor-head">
                <label for="config-yaml">"Strategy (YAML)"</label>
                <button id="reload-yaml" type="button" class="secondary" on:click=reload>"Reload default YAML"</button>
            </div>
            <textarea id="config-yaml" class="code" rows="16" spellcheck="false"
                aria-invalid=move || yaml_error().is_some().to_string()
                aria-describedby="config-error"
                prop:value=move || yaml.get()
                on:input=move |ev| yaml.set(event_target_value(&ev))></textarea>
            {move || yaml_error().map(|e| view! {
                <p id="config-error" class="error" role="alert"
                    data-field=e.field.clone().unwrap_or_default()
                    data-line=e.line.map(|l| l.to_string()).unwrap_or_default()>
                    {e.line.map(|l| format!("Line {l}: ")).unwrap_or_default()}
                    {e.field.clone().map(|f| format!("`{f}`: ")).unwrap_or_default()}
                    {e.message.clone()}
                </p>
            })}
            {move || error.get().filter(|_| yaml_error().is_none()).map(|e| view! {
                <p id="setup-error" class="error" role="alert">{e.describe()}</p>
            })}
            <label class="check" for="calibrate">
                <input id="calibrate" type="checkbox" prop:checked=move || calibrate.get()
                    on:change=move |ev| calibrate.set(event_target_checked(&ev))/>
                "Start with style calibration (15 images, choose 5; can be skipped)"
            </label>
            <div class="actions">
                <button id="create-session" type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Creating…" } else { "Create session" }}
                </button>
            </div>
        </form>
    }
}
