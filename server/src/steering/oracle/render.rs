//! Human-readable tables of an `OracleReport`.

use std::fmt::Write;

use super::metrics::CellMetrics;
use super::OracleReport;

fn baseline<'a>(
    report: &'a OracleReport,
    cell: &CellMetrics,
    name: &str,
) -> Option<&'a CellMetrics> {
    report
        .baselines
        .iter()
        .find(|b| b.sampler == cell.sampler && b.mode == cell.mode && b.updater == name)
}

fn delta_auc(report: &OracleReport, cell: &CellMetrics) -> f64 {
    baseline(report, cell, "no_update")
        .map(|b| cell.auc - b.auc)
        .unwrap_or(f64::NAN)
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    sum / count.max(1) as f64
}

fn median_text(value: Option<f64>) -> String {
    value
        .map(|v| format!("{v:.1}"))
        .unwrap_or_else(|| "-".into())
}

fn header(out: &mut String, first: &str) {
    let _ = writeln!(
        out,
        "{first:<48} {:>7} {:>5} {:>6} {:>7} {:>7} {:>9} {:>8}",
        "success", "med", "AUC", "best@B", "state@B", "dAUC/noup", "us/round"
    );
}

struct Row {
    success: f64,
    med: String,
    auc: f64,
    best: f64,
    state: f64,
    delta: f64,
    cpu: f64,
}

fn row(out: &mut String, label: &str, r: Row) {
    let Row {
        success,
        med,
        auc,
        best,
        state,
        delta,
        cpu,
    } = r;
    let _ = writeln!(
        out,
        "{label:<48} {:>6.0}% {med:>5} {auc:>6.3} {best:>7.3} {state:>7.3} {delta:>+9.3} {cpu:>8.1}",
        success * 100.0
    );
}

fn cell_row(out: &mut String, report: &OracleReport, label: &str, cell: &CellMetrics) {
    row(
        out,
        label,
        Row {
            success: cell.success_rate,
            med: median_text(cell.median_rounds_to_target),
            auc: cell.auc,
            best: cell.final_best_ratio,
            state: cell.final_state_ratio,
            delta: delta_auc(report, cell),
            cpu: cell.cpu_us_median,
        },
    );
}

fn group_rows(
    out: &mut String,
    report: &OracleReport,
    title: &str,
    key: fn(&CellMetrics) -> &str,
    names: Vec<String>,
) {
    let _ = writeln!(out, "\n{title}");
    header(out, "");
    for name in names {
        let group: Vec<&CellMetrics> = report.cells.iter().filter(|c| key(c) == name).collect();
        if group.is_empty() {
            continue;
        }
        row(
            out,
            &name,
            Row {
                success: mean(group.iter().map(|c| c.success_rate)),
                med: String::new(),
                auc: mean(group.iter().map(|c| c.auc)),
                best: mean(group.iter().map(|c| c.final_best_ratio)),
                state: mean(group.iter().map(|c| c.final_state_ratio)),
                delta: mean(group.iter().map(|c| delta_auc(report, c))),
                cpu: mean(group.iter().map(|c| c.cpu_us_median)),
            },
        );
    }
}

/// The summary: settings, baselines, per-updater / per-sampler / per-mode means, the best cells
/// and the reference default.
pub fn render_table(report: &OracleReport) -> String {
    let o = &report.options;
    let mut out = String::new();
    let runs = o.dimensions.len() * o.targets_per_dimension * o.seeds.len();
    let _ = writeln!(
        out,
        "Simulated-user benchmark: {} samplers x {} updaters x {} modes; d in {:?}; {} targets x {} seeds per d = {runs} sessions per cell",
        o.samplers.len(), o.updaters.len(), o.modes.len(), o.dimensions, o.targets_per_dimension, o.seeds.len()
    );
    let _ = writeln!(
        out,
        "B = {} rounds, tau = {}, temperature = {}, n = {}, R = {}, |t| in [{}, {}], seeds {}; {} sessions in {:.1} s",
        o.rounds, o.tolerance, o.temperature, o.candidate_count, o.trust_radius, o.target_radius.0, o.target_radius.1,
        o.seed_policy, report.sessions, report.wall_seconds
    );
    let _ = writeln!(
        out,
        "success: best shown candidate within tau by round B; med: median rounds to tau (- when under half succeed);\n\
         AUC: mean over rounds of best-so-far/start (lower is better); best@B, state@B: best shown and state distance / start at B;\n\
         dAUC/noup: AUC minus the no-update baseline's (same sampler and mode; negative = better than resampling)."
    );

    let _ = writeln!(
        out,
        "\nBaselines at equal image budget (mean over samplers and modes)"
    );
    header(&mut out, "");
    for name in ["no_update", "winner_copy"] {
        let group: Vec<&CellMetrics> = report
            .baselines
            .iter()
            .filter(|b| b.updater == name)
            .collect();
        row(
            &mut out,
            name,
            Row {
                success: mean(group.iter().map(|c| c.success_rate)),
                med: "".into(),
                auc: mean(group.iter().map(|c| c.auc)),
                best: mean(group.iter().map(|c| c.final_best_ratio)),
                state: mean(group.iter().map(|c| c.final_state_ratio)),
                delta: f64::NAN,
                cpu: mean(group.iter().map(|c| c.cpu_us_median)),
            },
        );
    }
    let names = |f: fn(&CellMetrics) -> &str, cells: &[CellMetrics]| {
        let mut seen: Vec<String> = Vec::new();
        for c in cells {
            if !seen.iter().any(|s| s == f(c)) {
                seen.push(f(c).to_string());
            }
        }
        seen
    };
    group_rows(
        &mut out,
        report,
        "By updater (mean over samplers and modes)",
        |c| &c.updater,
        names(|c| &c.updater, &report.cells),
    );
    group_rows(
        &mut out,
        report,
        "By sampler (mean over updaters and modes)",
        |c| &c.sampler,
        names(|c| &c.sampler, &report.cells),
    );
    group_rows(
        &mut out,
        report,
        "By feedback mode (mean over samplers and updaters)",
        |c| &c.mode,
        names(|c| &c.mode, &report.cells),
    );

    let mut ranked: Vec<&CellMetrics> = report.cells.iter().collect();
    ranked.sort_by(|a, b| a.auc.total_cmp(&b.auc));
    let _ = writeln!(out, "\nBest cells by AUC");
    header(&mut out, "sampler / updater / mode");
    for cell in ranked.iter().take(12) {
        cell_row(
            &mut out,
            report,
            &format!(
                "{}/{}/{}",
                short(&cell.sampler),
                short(&cell.updater),
                short(&cell.mode)
            ),
            cell,
        );
    }
    if let Some(default) = report.cells.iter().find(|c| {
        c.sampler == "exploit_orthogonal"
            && c.updater == "winner_average"
            && c.mode == "scalar_rating"
    }) {
        let _ = writeln!(out, "\nReference default (exploit_orthogonal + winner_average + scalar_rating) and its baselines");
        header(&mut out, "");
        cell_row(&mut out, report, "default", default);
        for name in ["no_update", "winner_copy"] {
            if let Some(b) = baseline(report, default, name) {
                cell_row(&mut out, report, name, b);
            }
        }
    }
    let _ = writeln!(
        out,
        "\nBy dimension (success / AUC, mean over all cells; baselines for comparison)"
    );
    let mut dims: Vec<usize> = report
        .cells
        .iter()
        .flat_map(|c| c.by_dimension.iter().map(|d| d.0))
        .collect();
    dims.sort_unstable();
    dims.dedup();
    for d in dims {
        let pick = |cells: &mut dyn Iterator<Item = &CellMetrics>| {
            let entries: Vec<(f64, f64)> = cells
                .flat_map(|c| {
                    c.by_dimension
                        .iter()
                        .filter(|e| e.0 == d)
                        .map(|e| (e.1, e.2))
                })
                .collect();
            (
                mean(entries.iter().map(|e| e.0)),
                mean(entries.iter().map(|e| e.1)),
            )
        };
        let (s_all, a_all) = pick(&mut report.cells.iter());
        let (s_no, a_no) = pick(&mut report.baselines.iter().filter(|b| b.updater == "no_update"));
        let (s_wc, a_wc) = pick(
            &mut report
                .baselines
                .iter()
                .filter(|b| b.updater == "winner_copy"),
        );
        let _ = writeln!(
            out,
            "  d = {d:>2}: steering {:>3.0}% / {a_all:.3}   no_update {:>3.0}% / {a_no:.3}   winner_copy {:>3.0}% / {a_wc:.3}",
            s_all * 100.0,
            s_no * 100.0,
            s_wc * 100.0
        );
    }
    let mut cpu: Vec<f64> = report.cells.iter().map(|c| c.cpu_us_median).collect();
    cpu.sort_by(f64::total_cmp);
    if let (Some(lo), Some(hi)) = (cpu.first(), cpu.last()) {
        let heaviest = report
            .cells
            .iter()
            .max_by(|a, b| a.cpu_us_median.total_cmp(&b.cpu_us_median));
        let _ = writeln!(
            out,
            "\nCPU per round (propose + normalize + update, median per cell): {lo:.1} .. {hi:.1} us; median cell {:.1} us{}",
            cpu[cpu.len() / 2],
            heaviest.map(|h| format!(" (heaviest: {} + {} + {})", h.sampler, h.updater, h.mode)).unwrap_or_default()
        );
    }
    let _ = writeln!(out, "\nBare step cost (median of many calls; the reference's Python default step is about 90 us):");
    for cost in &report.step_costs {
        let _ = writeln!(
            out,
            "  {:<64} propose {:>7.2} us   normalize+update {:>7.2} us",
            cost.label, cost.propose_us, cost.update_us
        );
    }
    out
}

fn short(name: &str) -> String {
    name.replace("_preference", "")
        .replace("quality_diversity", "qd")
}

/// Every cell and baseline, one line each.
pub fn render_full_table(report: &OracleReport) -> String {
    let mut out = String::new();
    header(&mut out, "sampler / updater / mode");
    for cell in report.cells.iter().chain(&report.baselines) {
        cell_row(
            &mut out,
            report,
            &format!(
                "{}/{}/{}",
                short(&cell.sampler),
                short(&cell.updater),
                short(&cell.mode)
            ),
            cell,
        );
    }
    out
}
