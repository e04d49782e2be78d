//! One candidate image: the picture at a fixed aspect ratio (no layout jump when it loads),
//! incumbent/baseline badges and the preference model's pick, role, seed, id and the model's
//! predicted score on demand, and a larger view on click.

use leptos::prelude::*;

use crate::api::CandidateInfo;

/// A short badge for roles a person should notice.
pub fn role_badge(candidate: &CandidateInfo) -> Option<(&'static str, &'static str)> {
    if candidate.is_incumbent() {
        Some(("incumbent", "current best"))
    } else if candidate.is_baseline() {
        Some(("baseline", "unsteered baseline"))
    } else {
        None
    }
}

/// The image with its badges; `position` is 1-based (the number key that picks it). Extra
/// controls go in `children`.
#[component]
pub fn CandidateFigure(
    candidate: CandidateInfo,
    position: usize,
    /// Class names the caller adds (`winner`, `selected`, `focused`...).
    #[prop(into, default = Signal::stored(String::new()))]
    extra_class: Signal<String>,
    /// The preference model recommends this image (its belief's pick).
    #[prop(optional)]
    recommended: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let zoomed = RwSignal::new(false);
    let show_details = RwSignal::new(false);
    let badge = role_badge(&candidate);
    let alt = format!(
        "candidate {position} ({}, seed {})",
        candidate.sampler_role, candidate.seed
    );
    let src = candidate.image_path.clone();
    let zoom_src = src.clone();
    let zoom_alt = alt.clone();
    let id = candidate.id.clone();
    let role = candidate.sampler_role.clone();
    let (detail_role, detail_id, seed) = (role.clone(), id.clone(), candidate.seed);
    let predicted = candidate.predicted_score.map(|score| {
        let sd = candidate.predicted_uncertainty.unwrap_or(0.0);
        format!("{score:+.2} ± {sd:.2}")
    });
    view! {
        <figure class=move || format!("candidate {}", extra_class.get())
            data-candidate-id=id
            data-role=role.clone()
            data-position=position
            data-recommended=recommended.then_some("true")>
            <div class="frame">
                {match src {
                    Some(src) => view! {
                        <button type="button" class="image-button" tabindex="-1"
                            aria-label=format!("enlarge image {position}")
                            on:click=move |_| zoomed.set(true)>
                            <img src=src alt=alt.clone() loading="lazy" width="512" height="512"/>
                        </button>
                    }.into_any(),
                    None => view! { <div class="missing" role="img" aria-label=alt.clone()>"not rendered"</div> }.into_any(),
                }}
                <span class="position" aria-hidden="true">{position}</span>
                <span class="badges">
                    {badge.map(|(class, text)| view! { <span class=format!("badge {class}")>{text}</span> })}
                    {recommended.then(|| view! { <span class="badge recommended" title="the image the model believes you want most">"model's pick"</span> })}
                </span>
            </div>
            <figcaption>
                <button type="button" class="link details-toggle"
                    aria-expanded=move || show_details.get().to_string()
                    on:click=move |_| show_details.update(|s| *s = !*s)>
                    {format!("#{position} · {role}")}
                </button>
                <Show when=move || show_details.get()>
                    <dl class="candidate-details">
                        <dt>"role"</dt><dd>{detail_role.clone()}</dd>
                        <dt>"seed"</dt><dd class="seed">{seed}</dd>
                        <dt>"id"</dt><dd><code>{detail_id.clone()}</code></dd>
                        {predicted.clone().map(|p| view! { <dt>"predicted score"</dt><dd class="predicted">{p}</dd> })}
                    </dl>
                </Show>
                {children.map(|c| c())}
            </figcaption>
            <Show when=move || zoomed.get()>
                <div class="lightbox" role="dialog" aria-modal="true" aria-label="enlarged image"
                    on:click=move |_| zoomed.set(false)>
                    {zoom_src.clone().map(|s| view! { <img src=s alt=zoom_alt.clone()/> })}
                    <button type="button" class="close" autofocus=true
                        on:click=move |_| zoomed.set(false)>"Close"</button>
                </div>
            </Show>
        </figure>
     }
    .into_any()
}

/// A read-only grid of a round's candidates, marking the winner and the model's pick.
#[component]
pub fn CandidateGrid(
    candidates: Vec<CandidateInfo>,
    winner: Option<String>,
    /// Id of the candidate the preference model recommends, when it is in this grid.
    #[prop(default = None)]
    recommended: Option<String>,
) -> impl IntoView {
    view! {
        <div class="candidate-grid">
            {candidates.into_iter().enumerate().map(|(i, c)| {
                let class = if winner.as_deref() == Some(c.id.as_str()) { "winner" } else { "" };
                let recommended = recommended.as_deref() == Some(c.id.as_str());
                view! { <CandidateFigure candidate=c position=i + 1 extra_class=class.to_string() recommended/> }
            }).collect_view()}
        </div>
    }
}
