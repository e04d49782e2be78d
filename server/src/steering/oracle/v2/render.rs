//! The text report of oracle v2, part 1: the header and the main table (per d, per K, per
//! feedback mode, every strategy). Estimates print as `mean±half-width` of the bootstrap 95 %
//! interval; the JSON report has the exact bounds.

use std::fmt::Write;

use super::plan::Suite;
use super::render_suites;
use super::stats::Estimate;
use super::summary::{ContenderSummary, GroupSummary};
use super::V2Report;

/// `0.640±0.031`.
pub fn est(e: &Estimate) -> String {
    if e.value.is_finite() {
        format!("{:.3}±{:.3}", e.value, e.half_width())
    } else {
        "-".into()
    }
}

/// `+0.123 [+0.080,+0.160]`.
pub fn interval(e: &Estimate) -> String {
    if e.value.is_finite() {
        format!("{:+.3} [{:+.3},{:+.3}]", e.value, e.lo, e.hi)
    } else {
        "-".into()
    }
}

/// The median rounds to 50 %, `>B` when under half get there.
pub fn rounds_text(c: &ContenderSummary, rounds: usize) -> String {
    c.median_rounds_to_half
        .map(|m| format!("{m:.1}"))
        .unwrap_or_else(|| format!(">{rounds}"))
}

/// The groups of `suite`, in plan order.
pub fn of_suite(report: &V2Report, suite: Suite) -> Vec<&GroupSummary> {
    report
        .groups
        .iter()
        .filter(|g| g.suites.contains(&suite))
        .collect()
}

fn header(out: &mut String, report: &V2Report) {
    let o = &report.options;
    let _ = writeln!(
        out,
        "Oracle v2: {} configurations, {} sessions per strategy and configuration (paired: session i of every strategy meets the same user), {} sessions in {:.1} s on {} threads",
        report.groups.len(), o.sessions, report.sessions, report.wall_seconds, o.threads
    );
    let _ = writeln!(
        out,
        "Sessions of {} rounds (budgets B = {:?} are prefixes); R = 0.55; targets |t| in [0.2, 0.5] unless stated; user: Gumbel T = 0.05, 5 % lapses, +0.01 status quo on the pinned slot, absolute star/approval thresholds.",
        o.rounds, o.budgets
    );
    let _ = writeln!(
        out,
        "closure = (U(image) - U(start)) / dist(start), start = z = 0 at the start seed; best = best image shown so far, inc = the image the strategy keeps; r50 = median rounds until best closes 50 %;\n\
         succ = share within 0.12 of the target; values are mean±half-width of the bootstrap 95 % interval ({} resamples).",
        o.resamples
    );
    let _ = writeln!(
        out,
        "Basis ablation: not measured here (it needs a renderer and a user defined in embedding space; this oracle's user lives in z)."
    );
}

fn main_row(
    out: &mut String,
    g: &GroupSummary,
    c: &ContenderSummary,
    budgets: &[u32],
    rounds: usize,
) {
    let mut line = format!("  {:<28}", c.label);
    for b in budgets {
        let cell = c.at(*b).map(|f| est(&f.best)).unwrap_or_default();
        let _ = write!(line, " {cell:>12}");
    }
    for b in budgets {
        let cell = c.at(*b).map(|f| est(&f.incumbent)).unwrap_or_default();
        let _ = write!(line, " {cell:>13}");
    }
    let _ = write!(line, " {:>5}", rounds_text(c, rounds));
    for b in budgets.iter().skip(1) {
        let cell = c
            .at(*b)
            .map(|f| format!("{:.0}%", 100.0 * f.success.value))
            .unwrap_or_default();
        let _ = write!(line, " {cell:>6}");
    }
    let budget = budgets.get(1).or(budgets.first()).copied().unwrap_or(10);
    let versus = g
        .contender("preference")
        .filter(|_| c.label != "preference")
        .and_then(|p| p.versus(&c.label, budget))
        .map(|v| interval(&v.best_difference))
        .unwrap_or_default();
    let _ = writeln!(out, "{line}  {versus}");
}

fn main_table(out: &mut String, report: &V2Report) {
    let o = &report.options;
    let budgets = &o.budgets;
    let _ = writeln!(
        out,
        "\n== Main table: isotropic user, every feedback mode =="
    );
    let groups = of_suite(report, Suite::Main);
    let mut head = format!("  {:<28}", "strategy");
    for b in budgets {
        let _ = write!(head, " {:>12}", format!("best@{b}"));
    }
    for b in budgets {
        let _ = write!(head, " {:>13}", format!("inc@{b}"));
    }
    let _ = write!(head, " {:>5}", "r50");
    for b in budgets.iter().skip(1) {
        let _ = write!(head, " {:>6}", format!("succ{b}"));
    }
    let budget = budgets.get(1).or(budgets.first()).copied().unwrap_or(10);
    let _ = write!(head, "  preference - it, best@{budget} [95% CI]");
    for d in &o.dimensions {
        let _ = writeln!(out, "\n-- d = {d} --");
        for g in groups.iter().filter(|g| g.key.d == *d) {
            let _ = writeln!(out, "K = {}, {}:", g.key.k, g.key.mode);
            let _ = writeln!(out, "{head}");
            for c in g
                .contenders
                .iter()
                .filter(|c| main_labels().contains(&c.label.as_str()))
            {
                main_row(out, g, c, budgets, o.rounds as usize);
            }
        }
    }
}

/// Strategies shown in the main table.
pub fn main_labels() -> Vec<&'static str> {
    vec![
        "preference",
        "random_z",
        "es_1+lambda",
        "cma_es",
        "reference_default",
        "best_classic",
    ]
}

/// The whole text report.
pub fn render_v2(report: &V2Report) -> String {
    let mut out = String::new();
    header(&mut out, report);
    main_table(&mut out, report);
    render_suites::users(&mut out, report);
    render_suites::seeds(&mut out, report);
    render_suites::ablations(&mut out, report);
    render_suites::modes(&mut out, report);
    render_suites::targets(&mut out, report);
    render_suites::timing(&mut out, report);
    out
}
