//! Small cards of the session and replay pages: the convergence banner, the taste profile, the
//! export links and the lineage of a forked session.

use leptos::prelude::*;

use crate::api::{Convergence, Lineage, TasteProfile};

/// Converged, or how close: quiet streak against patience, last step against the threshold.
#[component]
pub fn ConvergenceBanner(report: Convergence) -> impl IntoView {
    let text = if report.converged {
        format!(
            "Converged after {} rounds: the last {} steps stayed under {:.3}.",
            report
                .rounds_to_convergence
                .map_or(report.rounds_completed as u32, |r| r),
            report.patience,
            report.threshold
        )
    } else if report.patience == 0 {
        "Convergence detection is off (convergence_patience: 0).".to_string()
    } else {
        format!(
            "Still moving: {} of {} quiet rounds; last step {} (threshold {:.3}).",
            report.quiet_streak,
            report.patience,
            report
                .latest_step
                .map_or_else(|| "–".to_string(), |s| format!("{s:.3}")),
            report.threshold
        )
    };
    let class = if report.converged {
        "banner converged"
    } else {
        "banner moving"
    };
    view! { <p id="convergence-banner" class=class role="status" data-converged=report.converged.to_string()>{text}</p> }
}

/// The taste profile (display only; it does not steer).
#[component]
pub fn TasteProfileCard(profile: TasteProfile) -> impl IntoView {
    view! {
        <section id="taste-profile" class="card" aria-labelledby="taste-title">
            <h2 id="taste-title">"Taste profile"</h2>
            <p class="muted">{format!("Confidence {}% from {} rated rounds.", profile.confidence, profile.rounds_used)}</p>
            <table class="compact">
                <thead><tr><th>"dimension"</th><th>"mean"</th><th>"signal"</th><th>"trend"</th><th>"samples"</th></tr></thead>
                <tbody>
                    {profile.dimensions.into_iter().map(|d| view! {
                        <tr>
                            <td>{d.name}</td>
                            <td>{format!("{:.2}", d.mean)}</td>
                            <td><meter min="0" max="100" value=d.signal_pct></meter>{format!(" {}%", d.signal_pct)}</td>
                            <td>{d.trend}</td>
                            <td>{d.sample_count}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {(!profile.negative_pins.is_empty()).then(|| view! {
                <p>"Pinned away: "{profile.negative_pins.into_iter().map(|p| format!("{} ×{}", p.term, p.count)).collect::<Vec<_>>().join(", ")}</p>
            })}
        </section>
    }
}

/// Export downloads and the trace report of a session.
#[component]
pub fn ExportLinks(session_id: String) -> impl IntoView {
    let link = |format: &str| format!("/api/sessions/{session_id}/export?format={format}");
    view! {
        <nav class="exports" aria-label="exports">
            <span class="muted">"Export: "</span>
            <a id="export-jsonl" href=link("jsonl") download="">"JSONL"</a>
            <a id="export-csv" href=link("csv") download="">"CSV"</a>
            <a id="export-parquet" href=link("parquet") download="">"Parquet"</a>
            <a id="export-bundle" href=link("bundle") download="">"Bundle (zip)"</a>
            <a id="trace-report" href=format!("/sessions/{session_id}/trace-report") target="_blank" rel="noopener">"Trace report"</a>
        </nav>
    }
}

/// Where a forked session came from and where it branched to.
#[component]
pub fn LineageNote(lineage: Lineage) -> impl IntoView {
    let parent = lineage.parent.map(|p| {
        view! {
            <p id="lineage-parent">
                "Forked from "
                <a href=format!("/sessions/{}/replay-view?round={}", p.session_id, p.round)>{format!("session {} at round {}", short_id(&p.session_id), p.round)}</a>
            </p>
        }
    });
    let children = (!lineage.children.is_empty()).then(|| {
        view! {
            <p id="lineage-children">
                "Branches: "
                {lineage.children.into_iter().map(|c| view! {
                    <a class="branch" href=format!("/sessions/{}/view", c.session_id)>{format!("{} (round {})", short_id(&c.session_id), c.round)}</a>" "
                }).collect_view()}
            </p>
        }
    });
    view! { <div class="lineage">{parent}{children}</div> }
}

/// The last 8 characters of an id (uuid v7s share their time prefix).
pub fn short_id(id: &str) -> String {
    id.chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

/// A status as a person reads it.
pub fn human_status(status: &str) -> &'static str {
    match status {
        "created" => "Not started yet",
        "awaiting_feedback" => "Waiting for your feedback",
        "generating" | "rendering" => "Rendering",
        "ready" | "active" => "Ready for the next round",
        "converged" => "Converged",
        "failed" => "Last render failed",
        "deleted" => "Deleted",
        _ => "In progress",
    }
}
