//! "What the model believes", for `preference` sessions: one row per labelled steering axis
//! with the model's estimate of where the wanted image lies (the mean, a marker) and its
//! uncertainty (a ±1 sd band) on a fixed −S…+S scale, the numbers as text, how many rounds the
//! model used, who drives the next round (a notice when the evolution-strategy fallback does)
//! and the shared seed's renewals. [`BeliefPlot`] draws how each axis' mean moved over rounds.
//!
//! Everything is text as well as graphics (readable without colour and by screen readers), and
//! every row and line has a reserved height, so a new round changes numbers, not the layout.

use leptos::prelude::*;

use crate::api::{Belief, BeliefPoint, RoundInfo};

/// The candidate of `round` the model recommends (the pick itself or its pinned copy).
pub fn recommended_in(belief: Option<&Belief>, round: &RoundInfo) -> Option<String> {
    let belief = belief?;
    round
        .candidates
        .iter()
        .find(|c| belief.recommends(c))
        .map(|c| c.id.clone())
}

/// The half-width of the axis scale: two trust radii, widened to keep every mean ± sd in view.
pub fn scale_of(belief: &Belief) -> f64 {
    let radius = belief
        .trust_radius
        .filter(|r| r.is_finite() && *r > 0.0)
        .or(belief.prior_sd.filter(|s| s.is_finite() && *s > 0.0))
        .unwrap_or(0.5);
    belief
        .axes
        .iter()
        .map(|a| a.mean.abs() + a.sd.abs())
        .filter(|x| x.is_finite())
        .fold(2.0 * radius, f64::max)
}

/// An estimate as a person reads it: `+0.12 ± 0.08`.
pub fn estimate_text(mean: f64, sd: f64) -> String {
    // `-0.00` reads as a direction; show a plain zero.
    let mean = if mean.abs() < 0.005 { 0.0 } else { mean };
    format!("{mean:+.2} ± {sd:.2}")
}

/// Where a value falls on a `[-scale, +scale]` track drawn from x = 4 to x = 196.
fn x_of(value: f64, scale: f64) -> f64 {
    let t = if scale > 0.0 { value / scale } else { 0.0 };
    100.0 + 96.0 * t.clamp(-1.0, 1.0)
}

/// The belief panel; `children` (the "new seed" control on the session page) go in its footer.
#[component]
pub fn BeliefPanel(
    belief: Belief,
    /// The panel's title (default "What the model believes").
    #[prop(optional, into)]
    heading: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let heading = heading.unwrap_or_else(|| "What the model believes".to_string());
    let scale = scale_of(&belief);
    let radius = belief.trust_radius.unwrap_or(0.0);
    let es = belief.es_driven();
    let driver_text = if es {
        "The model could not explain your recent choices: the next round explores around your latest pick."
    } else {
        "The model chooses the next round's images from this estimate."
    };
    let rounds = match belief.rounds_used {
        0 => "No feedback yet: the bands are the prior.".to_string(),
        1 => "From 1 round of feedback.".to_string(),
        n => format!("From {n} rounds of feedback."),
    };
    let shared = belief.seed_policy == "shared";
    let renewals = belief.seed_renewals;
    let rows = belief
        .axes
        .into_iter()
        .enumerate()
        .map(|(k, axis)| {
            let text = estimate_text(axis.mean, axis.sd);
            let (lo, hi) = (
                x_of(axis.mean - axis.sd, scale),
                x_of(axis.mean + axis.sd, scale),
            );
            let x = x_of(axis.mean, scale);
            let label_id = format!("belief-axis-{k}");
            view! {
                <li class="belief-axis" data-label=axis.label.clone() data-mean=format!("{:.4}", axis.mean)>
                    <span class="axis-label" id=label_id title=axis.label.clone()>{axis.label.clone()}</span>
                    <svg class="axis-scale" viewBox="0 0 200 20" preserveAspectRatio="none" role="img"
                        aria-label=format!("{}: {text}", axis.label)>
                        <line class="track" x1="4" y1="10" x2="196" y2="10"/>
                        <line class="zero" x1="100" y1="3" x2="100" y2="17"/>
                        <rect class="band" x=format!("{lo:.1}") y="5" width=format!("{:.1}", (hi - lo).max(1.0)) height="10" rx="2"/>
                        <line class="mean" x1=format!("{x:.1}") y1="1" x2=format!("{x:.1}") y2="19"/>
                    </svg>
                    <span class="axis-value">{text}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <section id="belief-panel" class="card belief" aria-labelledby="belief-title"
            data-driver=belief.driver.clone() data-rounds-used=belief.rounds_used>
            <h2 id="belief-title">{heading}</h2>
            <p class="muted">
                "Where the model thinks the image you want lies, along directions named after prompt modifiers; the band is its uncertainty (±1 sd)."
            </p>
            <p class="belief-meta">
                <span id="belief-rounds">{rounds}</span>" "
                <span class="muted" id="belief-scale">{format!("Scale −{scale:.2} … +{scale:.2} (trust radius {radius:.2}).")}</span>
            </p>
            <ul class="belief-axes" aria-label="estimate per direction">{rows}</ul>
            <p id="belief-driver" class={if es { "driver notice" } else { "driver" }} role="status">
                {es.then(|| view! { <strong>"Exploring: "</strong> })}
                {driver_text}
            </p>
            <div class="belief-foot">
                {shared.then(|| view! {
                    <span id="seed-renewals" data-count=renewals>
                        {match renewals {
                            0 => "Shared seed, never renewed.".to_string(),
                            1 => "Shared seed, renewed once.".to_string(),
                            n => format!("Shared seed, renewed {n} times."),
                        }}
                    </span>
                })}
                {children.map(|c| c())}
            </div>
        </section>
    }
}

/// `(round, means)` from the prior (round 0, all zero) through every round up to `until`.
pub fn mean_series(history: &[BeliefPoint], axes: usize, until: u32) -> Vec<(u32, Vec<f64>)> {
    let mut out = vec![(0, vec![0.0; axes])];
    out.extend(
        history
            .iter()
            .filter(|p| p.round <= until && p.mean.len() == axes)
            .map(|p| (p.round, p.mean.clone())),
    );
    out
}

/// Line styles per axis: a stroke class (colour) and a dash pattern, so lines differ without
/// colour too.
const DASHES: [&str; 6] = ["", "6 3", "2 2", "8 3 2 3", "1 3", "10 4"];

/// How each axis' mean moved over rounds up to `until` (the belief's history), with a table of
/// the numbers for screen readers and tests.
#[component]
pub fn BeliefPlot(belief: Belief, until: u32) -> impl IntoView {
    let labels: Vec<String> = belief.axes.iter().map(|a| a.label.clone()).collect();
    let series = mean_series(&belief.history, labels.len(), until);
    let max_x = series.iter().map(|s| f64::from(s.0)).fold(1.0, f64::max);
    let max_y = series
        .iter()
        .flat_map(|s| s.1.iter().map(|v| v.abs()))
        .filter(|v| v.is_finite())
        .fold(1e-6, f64::max);
    let point = |round: u32, value: f64| {
        let px = 34.0 + 256.0 * f64::from(round) / max_x;
        let py = 60.0 - 50.0 * (value / max_y).clamp(-1.0, 1.0);
        format!("{px:.1},{py:.1}")
    };
    let lines = (0..labels.len())
        .map(|k| {
            let points = series
                .iter()
                .map(|(r, m)| point(*r, m[k]))
                .collect::<Vec<_>>()
                .join(" ");
            view! {
                <polyline class=format!("series s{}", k % 6) stroke-dasharray={DASHES[k % 6]} points=points/>
            }
        })
        .collect_view();
    let legend = labels
        .iter()
        .enumerate()
        .map(|(k, label)| {
            view! {
                <li>
                    <svg viewBox="0 0 24 6" width="24" height="6" aria-hidden="true">
                        <line class=format!("series s{}", k % 6) stroke-dasharray={DASHES[k % 6]} x1="0" y1="3" x2="24" y2="3"/>
                    </svg>
                    " " {label.clone()}
                </li>
            }
        })
        .collect_view();
    let head = labels
        .iter()
        .map(|l| view! { <th scope="col">{l.clone()}</th> })
        .collect_view();
    let rows = series
        .iter()
        .map(|(r, m)| {
            view! {
                <tr data-round=*r>
                    <th scope="row">{if *r == 0 { "prior".to_string() } else { r.to_string() }}</th>
                    {m.iter().map(|v| view! { <td>{format!("{v:+.3}")}</td> }).collect_view()}
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure class="belief-plot" id="belief-plot">
            <svg viewBox="0 0 300 130" role="img"
                aria-label=format!("the model's estimate per direction over rounds 0 to {}", max_x as u32)>
                <line x1="34" y1="10" x2="34" y2="110" class="axis"/>
                <line x1="34" y1="60" x2="290" y2="60" class="axis zero"/>
                <text x="2" y="14" class="tick">{format!("{max_y:+.2}")}</text>
                <text x="2" y="63" class="tick">"0"</text>
                <text x="2" y="112" class="tick">{format!("{:+.2}", -max_y)}</text>
                <text x="30" y="124" class="tick">"r0"</text>
                <text x="270" y="124" class="tick">{format!("r{}", max_x as u32)}</text>
                {lines}
            </svg>
            <figcaption><ul class="legend-list">{legend}</ul></figcaption>
            <table class="compact" id="belief-table">
                <thead><tr><th scope="col">"round"</th>{head}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </figure>
    }
}
