//! The per-session HTML trace report, built from the event log on request.
//!
//! The page is self-contained: inline CSS, no scripts, every image embedded as a
//! `data:image/png;base64,…` URI read from the artifact store, so a saved copy (or the one in a
//! session bundle) renders offline. Every piece of user text (prompts, critiques, feedback
//! payloads, frontend details) is HTML-escaped.
//!
//! Sections follow the reference (§2.5), with its names: hero, metric tiles, Artifacts, Run
//! Summary, Runtime Diagnostics, one collapsible card per round (calibration round 0 included)
//! with candidates, User Preferences and the Update Summary, and an Event Timeline merging the
//! session's log events with its frontend events.

use std::collections::HashMap;
use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::Value;
use uuid::Uuid;

use super::frontend::{self, FrontendRecord};
use crate::services::history::{generation_params, iso, require_session};
use crate::services::{ServiceError, ServiceResult, Services};
use crate::store::envelope::Envelope;
use crate::store::events::Event;
use crate::store::projections::session::{RoundStatus, RoundView, SessionDetail};
use crate::store::StreamId;

/// Most log events read for one report's timeline.
const MAX_TIMELINE_EVENTS: usize = 20_000;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Pretty JSON text of a JSON-text field (or the text itself when it is not JSON), escaped.
fn pretty_json_text(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => esc(&serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string())),
        Err(_) => esc(text),
    }
}

fn pretty(v: &Value) -> String {
    esc(&serde_json::to_string_pretty(v).unwrap_or_default())
}

fn floats(z: &[f64]) -> String {
    esc(&serde_json::to_string(z).unwrap_or_default())
}

fn short(id: impl std::fmt::Display) -> String {
    id.to_string().chars().take(8).collect()
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    }
}

/// A session's log events, oldest first.
pub fn session_events(services: &Services, session_id: Uuid) -> ServiceResult<Vec<Envelope>> {
    let stream = StreamId::Session(session_id);
    let mut out = Vec::new();
    let mut from = 1;
    loop {
        let batch = services.store.stream_events(&stream, from, 4096)?;
        let Some(last) = batch.last() else { break };
        from = last.stream_version + 1;
        out.extend(batch);
        if out.len() >= MAX_TIMELINE_EVENTS {
            out.truncate(MAX_TIMELINE_EVENTS);
            break;
        }
    }
    Ok(out)
}

/// One short line about a log event.
pub fn summarize(event: &Event) -> String {
    match event {
        Event::ExperimentCreated(e) => format!("experiment \u{201c}{}\u{201d} created", e.name),
        Event::SessionCreated(e) => match &e.parent {
            Some(p) => format!(
                "session forked from {} at round {}",
                short(p.parent_session_id),
                p.parent_round
            ),
            None => format!("session created with model {}", e.model_ref),
        },
        Event::SessionForked(e) => format!(
            "forked into {} at round {}",
            short(e.child_session_id),
            e.round
        ),
        Event::CalibrationGenerated(e) => {
            format!("calibration round: {} candidates", e.candidates.len())
        }
        Event::CalibrationSubmitted(e) => format!(
            "calibration submitted: {} selected",
            e.selected_candidate_ids.len()
        ),
        Event::RoundRequested(e) => format!("round {} requested", e.round_index),
        Event::CandidatesProposed(e) => format!(
            "round {}: {} candidates proposed (trust radius {:.3}, seeds {})",
            e.round_index,
            e.candidates.len(),
            e.trust_radius,
            e.seed_policy
        ),
        Event::CandidateRendered(e) => format!(
            "candidate {} rendered {}×{} on {}",
            short(e.candidate_id),
            e.width,
            e.height,
            e.device
        ),
        Event::RoundReady(e) => format!("round {} ready", short(e.round_id)),
        Event::RoundFailed(e) => format!("round {} failed: {}", short(e.round_id), e.reason),
        Event::FeedbackSubmitted(e) => match &e.critique_text {
            Some(c) if !c.is_empty() => {
                format!(
                    "{} feedback: \u{201c}{}\u{201d}",
                    e.feedback_type,
                    truncate(c, 80)
                )
            }
            _ => format!("{} feedback", e.feedback_type),
        },
        Event::IncumbentUpdated(e) => {
            let winner = e
                .winner_candidate_id
                .map(short)
                .unwrap_or_else(|| "none".into());
            let converged = if e.converged { ", converged" } else { "" };
            format!("incumbent updated (winner {winner}){converged}")
        }
        Event::SessionDeleted(e) => format!("session deleted: {}", e.reason),
        Event::JobQueued(e) => format!("job {} queued ({})", short(e.job_id), e.kind),
        Event::JobStarted(e) => format!("job {} started", short(e.job_id)),
        Event::JobFinished(e) => format!("job {} finished", short(e.job_id)),
        Event::JobFailed(e) => format!("job {} failed: {}", short(e.job_id), e.reason),
        Event::JobCancelled(e) => format!("job {} cancelled: {}", short(e.job_id), e.reason),
        Event::BasisComputed(e) => format!(
            "steering basis computed on {} (recipe {})",
            e.device,
            &e.recipe_hash[..e.recipe_hash.len().min(12)]
        ),
        Event::SeedRenewed(e) => format!(
            "new seed {} (epoch {}) after round {}",
            e.seed, e.epoch, e.after_round
        ),
        Event::RequestCompleted(e) => format!("{} {} answered {}", e.method, e.path, e.status),
        Event::A1111OptionsSet(_) => "A1111 options set".to_string(),
        Event::EventRedacted(_) => "(purged)".to_string(),
        Event::TokenCreated(_) | Event::TokenRevoked(_) | Event::PasswordSet(_) => {
            "access changed".to_string()
        }
        Event::SessionOwned(o) => format!("owned by {}", o.user),
        Event::SessionPurged(e) => format!(
            "session purged: {} events redacted, {} images removed",
            e.events_redacted, e.artifacts_removed
        ),
    }
}

/// Everything the report reads, gathered up front.
struct Inputs {
    detail: SessionDetail,
    experiment_name: Option<String>,
    config: Value,
    events: Vec<Envelope>,
    frontend: Vec<FrontendRecord>,
}

fn gather(services: &Services, session_id: Uuid) -> ServiceResult<Inputs> {
    let detail = require_session(&services.store, session_id)?;
    let experiment_name = detail.experiment_id.and_then(|exp| {
        services
            .store
            .with_projections(|p| p.experiments.get(&exp).map(|e| e.name.clone()))
    });
    let config = serde_json::from_str(&detail.config_json).unwrap_or(Value::Null);
    let events = session_events(services, session_id)?;
    let frontend = frontend::read_session(services.store.data_dir(), session_id);
    Ok(Inputs {
        detail,
        experiment_name,
        config,
        events,
        frontend,
    })
}

/// The report of one session (404 for an unknown or deleted session). Blocking: reads the
/// log and the artifact files.
pub fn session_report_html(services: &Services, session_id: Uuid) -> ServiceResult<String> {
    let inputs = gather(services, session_id)?;
    let mut html = String::with_capacity(64 * 1024);
    render(services, &inputs, &mut html)
        .map_err(|e| ServiceError::internal(format!("report rendering failed: {e}")))?;
    Ok(html)
}

const STYLE: &str = r#"
:root{--bg:#f6f7f9;--card:#fff;--ink:#1d2330;--muted:#5d6677;--line:#dde1e8;--accent:#3856d6}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
main{max-width:1200px;margin:0 auto;padding:24px}
header.hero{background:linear-gradient(135deg,#27306b,#3856d6);color:#fff;border-radius:12px;padding:24px;margin-bottom:16px}
header.hero h1{margin:0 0 8px;font-size:22px;word-break:break-word}
header.hero p{margin:2px 0;opacity:.9}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 20px;margin:16px 0}
h2{font-size:18px;margin:0 0 12px}
h3{font-size:15px;margin:14px 0 8px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px}
.tile .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.tile .v{font-size:18px;font-weight:600;word-break:break-word}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
th{color:var(--muted);font-weight:600;white-space:nowrap}
td{word-break:break-word}
pre{background:#f0f2f6;border-radius:8px;padding:10px;overflow:auto;max-height:320px;margin:4px 0;font-size:12px;white-space:pre-wrap;word-break:break-word}
details.round{border:1px solid var(--line);border-radius:10px;margin:10px 0;padding:0 14px}
details.round>summary{cursor:pointer;padding:10px 0;font-weight:600}
.cands{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px}
.cand{border:1px solid var(--line);border-radius:10px;padding:10px}
.cand.winner{border-color:var(--accent);box-shadow:0 0 0 2px var(--accent) inset}
.cand img{width:100%;height:auto;border-radius:6px;image-rendering:pixelated;background:#ddd}
.cand dl{display:grid;grid-template-columns:auto 1fr;gap:2px 8px;margin:6px 0;font-size:12px}
.cand dt{color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;background:#e7ebfb;color:#27306b;font-size:12px;margin-left:6px}
.badge.failed{background:#fde2e2;color:#8a1c1c}
.muted{color:var(--muted)}
.src-frontend td:nth-child(2){color:#7a4b00}
"#;

fn tile(out: &mut String, key: &str, value: &str) -> std::fmt::Result {
    write!(
        out,
        r#"<div class="tile"><div class="k">{}</div><div class="v">{}</div></div>"#,
        esc(key),
        esc(value)
    )
}

fn row(out: &mut String, key: &str, value_html: &str) -> std::fmt::Result {
    write!(out, "<tr><th>{}</th><td>{value_html}</td></tr>", esc(key))
}

fn config_str(config: &Value, key: &str) -> String {
    match config.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "—".into(),
        Some(v) => v.to_string(),
    }
}

fn render(services: &Services, inputs: &Inputs, out: &mut String) -> std::fmt::Result {
    let d = &inputs.detail;
    let model = services.runner.model();
    let generated_at = super::now_iso();
    let rounds = d.rounds.iter().filter(|r| !r.calibration).count();
    let images = d
        .rounds
        .iter()
        .flat_map(|r| r.candidates.iter())
        .filter(|c| c.render.is_some())
        .count();
    let feedback = d.rounds.iter().filter(|r| r.feedback.is_some()).count()
        + d.rounds
            .iter()
            .filter(|r| r.calibration && !r.selected_candidate_ids.is_empty())
            .count();

    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Trace report · {}</title><style>{STYLE}</style></head><body><main>",
        esc(&truncate(&d.prompt, 80))
    )?;

    // Hero.
    write!(
        out,
        "<header class=\"hero\"><h1>{}</h1><p>Session <code>{}</code></p><p>Experiment: {}</p>\
         <p>Generated at {} by StableSteering {}</p></header>",
        esc(&d.prompt),
        d.session_id,
        esc(inputs
            .experiment_name
            .as_deref()
            .unwrap_or("(ad hoc session)")),
        esc(&generated_at),
        esc(crate::VERSION),
    )?;

    // Metric tiles.
    out.push_str("<div class=\"tiles\">");
    tile(out, "Status", d.status.as_str())?;
    tile(out, "Rounds", &rounds.to_string())?;
    tile(out, "Images", &images.to_string())?;
    tile(out, "Feedback events", &feedback.to_string())?;
    tile(out, "Device", &model.device.to_string())?;
    tile(out, "Model", &d.model_ref)?;
    out.push_str("</div>");

    // The logs the report is built from (the reference's "Artifacts").
    write!(
        out,
        "<section id=\"artifacts\"><h2>Artifacts</h2><ul><li><code>traces/backend-events.jsonl\
         </code></li><li><code>traces/frontend-events.jsonl</code></li><li><code>traces/sessions/\
         {}/frontend-events.jsonl</code></li><li>the event log ({} events of this session)</li>\
         </ul></section>",
        d.session_id, d.version
    )?;

    // Run summary.
    out.push_str("<section id=\"run-summary\"><h2>Run Summary</h2><table>");
    row(out, "Prompt", &esc(&d.prompt))?;
    let negative = if d.negative_prompt.is_empty() {
        "<span class=\"muted\">(none)</span>".to_string()
    } else {
        esc(&d.negative_prompt)
    };
    row(out, "Negative prompt", &negative)?;
    row(out, "Model", &esc(&d.model_ref))?;
    row(
        out,
        "Feedback mode",
        &esc(&config_str(&inputs.config, "feedback_mode")),
    )?;
    row(out, "Sampler", &esc(&config_str(&inputs.config, "sampler")))?;
    row(out, "Updater", &esc(&config_str(&inputs.config, "updater")))?;
    row(out, "Current round", &d.current_round.to_string())?;
    row(
        out,
        "Current z",
        &format!("<pre>{}</pre>", floats(&d.current_z)),
    )?;
    let converged = match (d.converged, d.rounds_to_convergence) {
        (true, Some(n)) => format!("yes, after {n} rounds"),
        (true, None) => "yes".to_string(),
        (false, _) => "no".to_string(),
    };
    row(out, "Converged", &esc(&converged))?;
    if let Some(p) = &d.lineage.parent {
        row(
            out,
            "Forked from",
            &format!("<code>{}</code> at round {}", p.session_id, p.round),
        )?;
    }
    for child in &d.lineage.children {
        row(
            out,
            "Fork",
            &format!("<code>{}</code> at round {}", child.session_id, child.round),
        )?;
    }
    row(out, "Created", &esc(&iso(d.created_at_us)))?;
    row(out, "Updated", &esc(&iso(d.updated_at_us)))?;
    row(
        out,
        "Config",
        &format!("<pre>{}</pre>", pretty(&inputs.config)),
    )?;
    if let Some(conv) = &d.convergence_json {
        row(
            out,
            "Convergence",
            &format!("<pre>{}</pre>", pretty_json_text(conv)),
        )?;
    }
    out.push_str("</table></section>");

    // Diagnostics.
    out.push_str("<section id=\"diagnostics\"><h2>Runtime Diagnostics</h2><table>");
    row(out, "Device", &esc(&model.device.to_string()))?;
    row(out, "Model", &esc(&model.name))?;
    row(out, "Precision", &esc(&model.unet_dtype))?;
    row(
        out,
        "Weights",
        if model.random_weights {
            "random (benchmark)"
        } else {
            "loaded"
        },
    )?;
    if let Some(notice) = services.model_notice() {
        row(out, "Notice", &esc(notice))?;
    }
    row(out, "Server version", &esc(crate::VERSION))?;
    row(out, "Engine version", &esc(engine::ENGINE_VERSION))?;
    row(out, "Burn version", &esc(engine::BURN_VERSION))?;
    row(
        out,
        "CUDA compiled",
        if engine::CUDA_COMPILED { "yes" } else { "no" },
    )?;
    row(
        out,
        "Store event count",
        &services.store.head_seq().to_string(),
    )?;
    row(out, "Session events", &d.version.to_string())?;
    row(out, "Projection anomalies", &d.anomalies.to_string())?;
    out.push_str("</table></section>");

    // Rounds.
    out.push_str("<section id=\"rounds\"><h2>Rounds</h2>");
    if d.rounds.is_empty() {
        out.push_str("<p class=\"muted\">No rounds yet.</p>");
    }
    let mut images_cache: HashMap<String, Option<String>> = HashMap::new();
    let last = d.rounds.len().saturating_sub(1);
    for (i, round) in d.rounds.iter().enumerate() {
        render_round(services, round, i == last, &mut images_cache, out)?;
    }
    out.push_str("</section>");

    // Timeline.
    render_timeline(inputs, out)?;

    out.push_str("</main></body></html>\n");
    Ok(())
}

fn image_uri(
    services: &Services,
    cache: &mut HashMap<String, Option<String>>,
    hash: &str,
) -> Option<String> {
    cache
        .entry(hash.to_string())
        .or_insert_with(|| {
            services.runner.artifacts().get(hash).map(|bytes| {
                format!(
                    "data:image/png;base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                )
            })
        })
        .clone()
}

fn render_round(
    services: &Services,
    round: &RoundView,
    open: bool,
    cache: &mut HashMap<String, Option<String>>,
    out: &mut String,
) -> std::fmt::Result {
    let title = if round.calibration {
        "Round 0 · calibration".to_string()
    } else {
        format!("Round {}", round.index)
    };
    let status_class = if matches!(round.status, RoundStatus::Failed(_)) {
        "badge failed"
    } else {
        "badge"
    };
    write!(
        out,
        "<details class=\"round\" id=\"round-{}\"{}><summary>{} <span class=\"{status_class}\">{}</span>\
         <span class=\"badge\">{} candidates</span></summary>",
        round.round_id,
        if open { " open" } else { "" },
        esc(&title),
        esc(round.status.as_str()),
        round.candidates.len(),
    )?;
    out.push_str("<table>");
    row(out, "Round id", &format!("<code>{}</code>", round.round_id))?;
    let mut status = round.status.as_str().to_string();
    if let RoundStatus::Failed(reason) = &round.status {
        status = format!("failed: {reason}");
    }
    row(out, "Status", &esc(&status))?;
    row(out, "Requested", &esc(&iso(round.requested_at_us)))?;
    let latency = match round.ready_at_us {
        Some(ready) => format!(
            "{:.1} ms (requested → ready)",
            (ready - round.requested_at_us) as f64 / 1000.0
        ),
        None => "not ready".to_string(),
    };
    row(out, "Latency", &esc(&latency))?;
    if !round.calibration {
        row(out, "Trust radius", &format!("{:.4}", round.trust_radius))?;
        row(out, "Seed policy", &esc(&round.seed_policy))?;
        row(
            out,
            "Incumbent z",
            &format!("<pre>{}</pre>", floats(&round.incumbent_z)),
        )?;
    }
    if let Some(job) = round.job_id {
        row(out, "Job", &format!("<code>{job}</code>"))?;
    }
    out.push_str("</table>");

    let winner = round
        .update
        .as_ref()
        .and_then(|u| u.update.winner_candidate_id.map(|w| w.0));
    out.push_str("<h3>Candidates</h3><div class=\"cands\">");
    for c in &round.candidates {
        let cand = &c.candidate;
        let id = cand.candidate_id.0;
        let selected = winner == Some(id) || round.selected_candidate_ids.contains(&id);
        write!(
            out,
            "<div class=\"cand{}\" id=\"cand-{id}\">",
            if selected { " winner" } else { "" }
        )?;
        match &c.render {
            Some(r) => match image_uri(services, cache, &r.artifact_hash) {
                Some(uri) => write!(
                    out,
                    "<img src=\"{uri}\" width=\"{}\" height=\"{}\" alt=\"candidate {}\">",
                    r.width, r.height, cand.index
                )?,
                None => write!(
                    out,
                    "<p class=\"muted\">image {} is missing from the artifact store</p>",
                    esc(&r.artifact_hash)
                )?,
            },
            None => out.push_str("<p class=\"muted\">not rendered</p>"),
        }
        let params = generation_params(cand);
        out.push_str("<dl>");
        write!(out, "<dt>index</dt><dd>{}</dd>", cand.index)?;
        write!(out, "<dt>id</dt><dd><code>{id}</code></dd>")?;
        write!(out, "<dt>role</dt><dd>{}</dd>", esc(&cand.role))?;
        write!(out, "<dt>seed</dt><dd>{}</dd>", cand.seed)?;
        if selected {
            out.push_str("<dt>selected</dt><dd>yes</dd>");
        }
        for key in ["predicted_score", "predicted_uncertainty"] {
            if let Some(v) = params.get(key).and_then(Value::as_f64) {
                write!(out, "<dt>{}</dt><dd>{v:.4}</dd>", esc(key))?;
            }
        }
        if let Some(r) = &c.render {
            write!(
                out,
                "<dt>image</dt><dd>{}×{} on {}</dd>",
                r.width,
                r.height,
                esc(&r.device)
            )?;
            let total: f64 = r.timings.iter().map(|(_, ms)| ms).sum();
            write!(out, "<dt>render</dt><dd>{total:.1} ms</dd>")?;
        }
        out.push_str("</dl>");
        write!(
            out,
            "<div class=\"muted\">z</div><pre>{}</pre>",
            floats(&cand.z)
        )?;
        if !params.is_empty() {
            write!(
                out,
                "<details><summary class=\"muted\">generation params</summary><pre>{}</pre></details>",
                pretty(&Value::Object(params))
            )?;
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");

    out.push_str("<h3>User Preferences</h3>");
    if round.calibration {
        if round.selected_candidate_ids.is_empty() {
            out.push_str("<p class=\"muted\">No calibration selection yet.</p>");
        } else {
            out.push_str("<table>");
            row(out, "Type", "calibration selection")?;
            let ids: Vec<String> = round
                .selected_candidate_ids
                .iter()
                .map(|i| format!("<code>{i}</code>"))
                .collect();
            row(out, "Selected", &ids.join(", "))?;
            out.push_str("</table>");
        }
    }
    match &round.feedback {
        Some(fb) => {
            let f = &fb.feedback;
            out.push_str("<table>");
            row(out, "Type", &esc(&f.feedback_type))?;
            row(out, "Time", &esc(&iso(fb.submitted_at_us)))?;
            row(
                out,
                "Normalized payload",
                &format!("<pre>{}</pre>", pretty_json_text(&f.normalized_json)),
            )?;
            row(
                out,
                "Raw payload",
                &format!("<pre>{}</pre>", pretty_json_text(&f.raw_json)),
            )?;
            let critique = match &f.critique_text {
                Some(c) if !c.is_empty() => esc(c),
                _ => "<span class=\"muted\">(none)</span>".to_string(),
            };
            row(out, "Critique", &critique)?;
            for t in &f.critique_tags {
                row(
                    out,
                    &format!("Tags {}", short(t.candidate_id)),
                    &esc(&t.tags.join(", ")),
                )?;
            }
            for r in &f.dimension_ratings {
                let vals: Vec<String> = r
                    .values
                    .iter()
                    .map(|v| format!("{}={}", v.dimension, v.value))
                    .collect();
                row(
                    out,
                    &format!("Ratings {}", short(r.candidate_id)),
                    &esc(&vals.join(", ")),
                )?;
            }
            for r in &f.dimension_priorities {
                let vals: Vec<String> = r
                    .values
                    .iter()
                    .map(|v| format!("{}={}", v.dimension, v.value))
                    .collect();
                row(
                    out,
                    &format!("Priorities {}", short(r.candidate_id)),
                    &esc(&vals.join(", ")),
                )?;
            }
            for p in &f.negative_pins {
                row(
                    out,
                    &format!("Negative pins {}", short(p.candidate_id)),
                    &esc(&p.tags.join(", ")),
                )?;
            }
            out.push_str("</table>");
        }
        None if !round.calibration => {
            out.push_str("<p class=\"muted\">No feedback yet.</p>");
        }
        None => {}
    }

    out.push_str("<h3>Update Summary</h3>");
    match &round.update {
        Some(u) => {
            out.push_str("<table>");
            row(out, "Time", &esc(&iso(u.updated_at_us)))?;
            let w = u
                .update
                .winner_candidate_id
                .map(|w| format!("<code>{w}</code>"))
                .unwrap_or_else(|| "none".into());
            row(out, "Winner", &w)?;
            row(
                out,
                "Next z",
                &format!("<pre>{}</pre>", floats(&u.update.next_z)),
            )?;
            row(
                out,
                "Converged",
                if u.update.converged { "yes" } else { "no" },
            )?;
            row(
                out,
                "Summary",
                &format!(
                    "<pre>{}</pre>",
                    pretty_json_text(&u.update.update_summary_json)
                ),
            )?;
            out.push_str("</table>");
        }
        None => out.push_str("<p class=\"muted\">No update yet.</p>"),
    }
    out.push_str("</details>");
    Ok(())
}

fn render_timeline(inputs: &Inputs, out: &mut String) -> std::fmt::Result {
    // (time, source, type, summary)
    let mut rows: Vec<(String, &'static str, String, String)> = Vec::new();
    for e in &inputs.events {
        rows.push((
            iso(e.recorded_at_us),
            "backend",
            e.event.event_type().name().to_string(),
            summarize(&e.event),
        ));
    }
    for f in &inputs.frontend {
        let mut summary = String::new();
        if !f.page.is_empty() {
            summary.push_str(&format!("page {}", f.page));
        }
        if let Some(r) = f.round_id {
            summary.push_str(&format!(" · round {}", short(r)));
        }
        if f.details.as_object().is_some_and(|m| !m.is_empty()) {
            summary.push_str(&format!(" · {}", truncate(&f.details.to_string(), 200)));
        }
        rows.push((f.timestamp.clone(), "frontend", f.event.clone(), summary));
    }
    // The timestamps are fixed-width RFC 3339 UTC text, so they sort as strings; the sort is
    // stable, keeping log order for equal times.
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    write!(
        out,
        "<section id=\"timeline\"><h2>Event Timeline</h2><p class=\"muted\">{} log events, {} frontend events.</p>\
         <table><thead><tr><th>Time</th><th>Source</th><th>Type</th><th>Summary</th></tr></thead><tbody>",
        inputs.events.len(),
        inputs.frontend.len()
    )?;
    for (time, source, ty, summary) in &rows {
        write!(
            out,
            "<tr class=\"src-{source}\"><td><code>{}</code></td><td>{source}</td><td>{}</td><td>{}</td></tr>",
            esc(time),
            esc(ty),
            esc(summary)
        )?;
    }
    out.push_str("</tbody></table></section>");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(pretty_json_text("<b>"), "&lt;b&gt;");
    }
}
