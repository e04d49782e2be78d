//! The text report of oracle v2, part 2: the user-type suite, the seed suite, the ablations,
//! the feedback-mode comparison, the targets checklist and the step cost.

use std::fmt::Write;

use super::plan::Suite;
use super::render::{est, interval, of_suite};
use super::summary::GroupSummary;
use super::V2Report;

fn mid(report: &V2Report) -> u32 {
    let b = &report.options.budgets;
    b.get(1).or(b.first()).copied().unwrap_or(10)
}

fn best(g: &GroupSummary, label: &str, b: u32) -> String {
    g.contender(label)
        .and_then(|c| c.at(b))
        .map(|f| est(&f.best))
        .unwrap_or_else(|| "-".into())
}

fn incumbent(g: &GroupSummary, label: &str, b: u32) -> String {
    g.contender(label)
        .and_then(|c| c.at(b))
        .map(|f| est(&f.incumbent))
        .unwrap_or_else(|| "-".into())
}

fn versus(g: &GroupSummary, label: &str, other: &str, b: u32) -> String {
    g.contender(label)
        .and_then(|c| c.versus(other, b))
        .map(|v| interval(&v.best_difference))
        .unwrap_or_else(|| "-".into())
}

fn ratio(g: &GroupSummary, label: &str, other: &str, b: u32) -> String {
    g.contender(label)
        .and_then(|c| c.versus(other, b))
        .map(|v| {
            format!(
                "{:.2} [{:.2},{:.2}]",
                v.best_ratio.value, v.best_ratio.lo, v.best_ratio.hi
            )
        })
        .unwrap_or_else(|| "-".into())
}

fn dims(groups: &[&GroupSummary]) -> Vec<usize> {
    let mut d: Vec<usize> = groups.iter().map(|g| g.key.d).collect();
    d.sort_unstable();
    d.dedup();
    d
}

/// User types and temperatures.
pub fn users(out: &mut String, report: &V2Report) {
    let b = mid(report);
    let groups = of_suite(report, Suite::Users);
    let _ = writeln!(
        out,
        "\n== User types (mode {}; best@{b} unless stated) ==",
        modes_of(&groups)
    );
    let last = report.options.budgets.last().copied().unwrap_or(b);
    let head = format!(
        "  {:<26} {:>2} {:>12} {:>13} {:>12} {:>12} {:>12} {:>12} {:>12}  preference - ES [95% CI]",
        "user",
        "K",
        "pref best",
        "pref inc",
        format!("pref best@{last}"),
        "random_z",
        "es_1+lambda",
        "cma_es",
        "best_classic"
    );
    for d in dims(&groups) {
        let _ = writeln!(out, "\n-- d = {d} --\n{head}");
        for g in groups.iter().filter(|g| g.key.d == d) {
            let _ = writeln!(
                out,
                "  {:<26} {:>2} {:>12} {:>13} {:>12} {:>12} {:>12} {:>12} {:>12}  {}",
                g.key.user.label(),
                g.key.k,
                best(g, "preference", b),
                incumbent(g, "preference", b),
                best(g, "preference", last),
                best(g, "random_z", b),
                best(g, "es_1+lambda", b),
                best(g, "cma_es", b),
                best(g, "best_classic", b),
                versus(g, "preference", "es_1+lambda", b),
            );
        }
    }
}

fn modes_of(groups: &[&GroupSummary]) -> String {
    let mut m: Vec<String> = groups.iter().map(|g| g.key.mode.to_string()).collect();
    m.sort();
    m.dedup();
    m.join(", ")
}

/// The seed effect σ_s.
pub fn seeds(out: &mut String, report: &V2Report) {
    let b = mid(report);
    let groups = of_suite(report, Suite::Seeds);
    let _ = writeln!(
        out,
        "\n== Seed effect (isotropic user, U = -|z - t| + s*g(seed), mode {}; best@{b}) ==",
        modes_of(&groups)
    );
    let labels = [
        "preference",
        "pref cast=12",
        "pref seeds=fixed-per-candidate",
        "seed_best_of_n",
        "random_z",
        "best_classic",
    ];
    let mut head = format!("  {:<5} {:>2}", "s", "K");
    for l in labels {
        let _ = write!(head, " {:>12}", short(l));
    }
    let _ = write!(head, "  cast/best-of-N [95% CI]  plain/best-of-N");
    for d in dims(&groups) {
        let _ = writeln!(out, "\n-- d = {d} --\n{head}");
        for g in groups.iter().filter(|g| g.key.d == d) {
            let mut line = format!("  {:<5} {:>2}", g.key.user.seed_sigma, g.key.k);
            for l in labels {
                let _ = write!(line, " {:>12}", best(g, l, b));
            }
            let cast = ratio(g, "pref cast=12", "seed_best_of_n", b);
            let plain = ratio(g, "preference", "seed_best_of_n", b);
            let _ = writeln!(out, "{line}  {cast:<23}  {plain}");
        }
    }
}

fn short(label: &str) -> &str {
    match label {
        "pref seeds=fixed-per-candidate" => "pref fpc",
        "seed_best_of_n" => "best-of-N",
        other => other,
    }
}

/// Preference variants against the default.
pub fn ablations(out: &mut String, report: &V2Report) {
    let budgets = &report.options.budgets;
    let b = mid(report);
    let groups = of_suite(report, Suite::Ablations);
    let _ = writeln!(
        out,
        "\n== Ablations of the preference strategy (isotropic user, mode {}) ==",
        modes_of(&groups)
    );
    let mut head = format!("  {:<22} {:>2}", "variant", "K");
    for x in budgets {
        let _ = write!(head, " {:>12}", format!("best@{x}"));
    }
    let _ = write!(
        head,
        " {:>13}  variant - preference, best@{b} [95% CI]",
        format!("inc@{b}")
    );
    let mut variants = vec!["preference".to_string()];
    variants.extend(report.options.ablations.iter().map(|v| v.label()));
    for d in dims(&groups) {
        let _ = writeln!(out, "\n-- d = {d} --\n{head}");
        for v in &variants {
            for g in groups.iter().filter(|g| g.key.d == d) {
                let mut line = format!("  {v:<22} {:>2}", g.key.k);
                for x in budgets {
                    let _ = write!(line, " {:>12}", best(g, v, *x));
                }
                let diff = if v == "preference" {
                    String::new()
                } else {
                    versus(g, v, "preference", b)
                };
                let _ = writeln!(out, "{line} {:>13}  {diff}", incumbent(g, v, b));
            }
        }
    }
    let _ = writeln!(
        out,
        "(seed policy shared vs fixed-per-candidate: see the seed effect table.)"
    );
}

/// The six feedback modes of the preference strategy, from the main grid.
pub fn modes(out: &mut String, report: &V2Report) {
    let b = mid(report);
    let groups = of_suite(report, Suite::Main);
    let _ = writeln!(
        out,
        "\n== Feedback mode (preference, isotropic user; best@{b} / inc@{b}) =="
    );
    for d in dims(&groups) {
        let _ = writeln!(out, "-- d = {d} --");
        for g in groups.iter().filter(|g| g.key.d == d) {
            let _ = writeln!(
                out,
                "  K={} {:<16} best {:>12}  inc {:>13}  vs best_classic {}",
                g.key.k,
                g.key.mode.as_str(),
                best(g, "preference", b),
                incumbent(g, "preference", b),
                versus(g, "preference", "best_classic", b)
            );
        }
    }
}

/// The targets checklist.
pub fn targets(out: &mut String, report: &V2Report) {
    let met = report.targets.iter().filter(|t| t.met).count();
    let _ = writeln!(
        out,
        "\n== Targets (B = 10; met = point estimate meets it, clear = the whole 95 % interval does): {met}/{} met ==",
        report.targets.len()
    );
    let mut names: Vec<&str> = Vec::new();
    for t in &report.targets {
        if !names.contains(&t.target.as_str()) {
            names.push(&t.target);
        }
    }
    for name in names {
        let _ = writeln!(out, "{name}:");
        for t in report.targets.iter().filter(|t| t.target == name) {
            let mark = match (t.met, t.clear) {
                (true, true) => "met (clear)",
                (true, false) => "met",
                _ => "NOT met",
            };
            let e = &t.measured;
            let value = if e.lo == e.hi {
                format!("{:.3}", e.value)
            } else {
                format!("{:.3} [{:.3}, {:.3}]", e.value, e.lo, e.hi)
            };
            let _ = writeln!(out, "  {:<34} {:<24} {mark}", t.setting, value);
        }
    }
}

/// The step cost.
pub fn timing(out: &mut String, report: &V2Report) {
    let _ = writeln!(
        out,
        "\n== Step cost: next_round + apply_feedback per round, preference, one thread =="
    );
    for t in &report.timing {
        let _ = writeln!(
            out,
            "  d={} K={} {} rounds {:<16} n={:<5} p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            t.d,
            t.k,
            t.rounds,
            t.mode.as_str(),
            t.samples,
            t.p50_ms,
            t.p99_ms,
            t.max_ms
        );
    }
}
