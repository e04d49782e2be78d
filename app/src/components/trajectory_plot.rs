//! A small SVG plot of the steering trajectory up to a round: ‖z‖ per round and the distance
//! z moved in that round, from the server's trajectory (the incumbent after each round).

use leptos::prelude::*;

use crate::api::TrajectoryPoint;

/// `(round, ‖z‖, ‖z_r − z_{r−1}‖)` per trajectory point (the first moves from z = 0).
pub fn trajectory_stats(points: &[TrajectoryPoint]) -> Vec<(u32, f64, f64)> {
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let mut previous: Vec<f64> = Vec::new();
    points
        .iter()
        .map(|p| {
            let moved = norm(
                &p.z.iter()
                    .enumerate()
                    .map(|(i, x)| x - previous.get(i).copied().unwrap_or(0.0))
                    .collect::<Vec<_>>(),
            );
            previous = p.z.clone();
            (p.round_index, norm(&p.z), moved)
        })
        .collect()
}

fn polyline(values: &[(f64, f64)], max_x: f64, max_y: f64) -> String {
    values
        .iter()
        .map(|(x, y)| {
            let px = 30.0 + 260.0 * if max_x > 0.0 { x / max_x } else { 0.0 };
            let py = 110.0 - 100.0 * if max_y > 0.0 { y / max_y } else { 0.0 };
            format!("{px:.1},{py:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The plot, with a data table for screen readers and tests.
#[component]
pub fn TrajectoryPlot(points: Vec<TrajectoryPoint>) -> impl IntoView {
    let stats = trajectory_stats(&points);
    let max_x = stats.iter().map(|s| f64::from(s.0)).fold(1.0, f64::max);
    let max_y = stats.iter().map(|s| s.1.max(s.2)).fold(1e-9, f64::max);
    let norms: Vec<(f64, f64)> = stats.iter().map(|s| (f64::from(s.0), s.1)).collect();
    let moves: Vec<(f64, f64)> = stats.iter().map(|s| (f64::from(s.0), s.2)).collect();
    view! {
        <figure class="trajectory" id="trajectory-plot">
            <svg viewBox="0 0 300 130" role="img" aria-label="norm of z and distance moved per round">
                <line x1="30" y1="110" x2="290" y2="110" class="axis"/>
                <line x1="30" y1="10" x2="30" y2="110" class="axis"/>
                <text x="2" y="14" class="tick">{format!("{max_y:.2}")}</text>
                <text x="2" y="112" class="tick">"0"</text>
                <text x="270" y="126" class="tick">{format!("r{}", max_x as u32)}</text>
                <polyline class="norm" points=polyline(&norms, max_x, max_y)/>
                <polyline class="moved" points=polyline(&moves, max_x, max_y)/>
            </svg>
            <figcaption>
                <span class="legend norm">"‖z‖"</span>" "
                <span class="legend moved">"distance moved"</span>
            </figcaption>
            <table class="compact" id="trajectory-table">
                <thead><tr><th>"round"</th><th>"‖z‖"</th><th>"moved"</th></tr></thead>
                <tbody>
                    {stats.into_iter().map(|(r, n, m)| view! {
                        <tr><td>{r}</td><td>{format!("{n:.3}")}</td><td>{format!("{m:.3}")}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </figure>
    }
}
