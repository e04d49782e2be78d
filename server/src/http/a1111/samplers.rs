//! A1111 sampler and schedule-type names mapped onto our schedulers, and the lists
//! `/sdapi/v1/samplers` and `/sdapi/v1/schedulers` serve, all derived from
//! [`SchedulerKind::ALL`] and [`a1111_sampler`] so they cannot drift from what the engine runs.
//!
//! A1111 splits "DPM++ 2M Karras" into sampler `DPM++ 2M` + scheduler `karras`; both the split
//! and the older combined names are accepted, as are the k-diffusion aliases (`k_euler_a`) and
//! our own wire names (`euler-a`). Only `automatic` and `karras` schedules exist here, and
//! `karras` only for `DPM++ 2M`: any other combination is refused rather than silently changed.

use engine::parameters::a1111_sampler;
use engine::schedulers::SchedulerKind;
use serde_json::{json, Value};

/// The k-diffusion style alias of an A1111 sampler name.
fn k_alias(name: &str) -> String {
    match name {
        "DDIM" => "ddim".into(),
        "PLMS" => "plms".into(),
        other => format!(
            "k_{}",
            other
                .to_ascii_lowercase()
                .replace("++", "pp")
                .replace([' ', '-'], "_")
        ),
    }
}

fn normalize(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// Distinct A1111 sampler names with the scheduler each means under the automatic schedule.
fn automatic_samplers() -> Vec<(&'static str, SchedulerKind)> {
    SchedulerKind::ALL
        .into_iter()
        .filter(|k| a1111_sampler(*k).1 == "Automatic")
        .map(|k| (a1111_sampler(k).0, k))
        .collect()
}

/// Resolves a sampler name and an optional schedule type to our scheduler; the error is the
/// A1111 `detail` text.
pub fn resolve(sampler: &str, schedule: Option<&str>) -> Result<SchedulerKind, String> {
    let wanted = normalize(sampler);
    let karras_suffix = wanted.strip_suffix(" karras").map(str::to_string);
    let base = karras_suffix.clone().unwrap_or_else(|| wanted.clone());
    let found = automatic_samplers().into_iter().find(|(name, kind)| {
        normalize(name) == base || k_alias(name) == base || kind.name() == base
    });
    let kind = match found {
        Some((_, kind)) => kind,
        None => match wanted.parse::<SchedulerKind>() {
            Ok(kind) => return check_schedule(kind, schedule, sampler),
            Err(_) => return Err(format!("Sampler not found: {sampler}")),
        },
    };
    let schedule = if karras_suffix.is_some() {
        Some("karras")
    } else {
        schedule
    };
    check_schedule(kind, schedule, sampler)
}

fn check_schedule(
    kind: SchedulerKind,
    schedule: Option<&str>,
    sampler: &str,
) -> Result<SchedulerKind, String> {
    let schedule = schedule.map(normalize).unwrap_or_default();
    match schedule.as_str() {
        "" | "automatic" => Ok(kind),
        "karras" => match kind {
            SchedulerKind::DpmSolverMultistep | SchedulerKind::DpmSolverMultistepKarras => {
                Ok(SchedulerKind::DpmSolverMultistepKarras)
            }
            _ => Err(format!(
                "Scheduler `Karras` is not available for sampler `{sampler}` here (only DPM++ 2M)"
            )),
        },
        other => Err(format!(
            "Scheduler not found: {other} (available: automatic, karras)"
        )),
    }
}

/// `GET /sdapi/v1/samplers`.
pub fn sampler_list() -> Value {
    let mut items: Vec<Value> = automatic_samplers()
        .into_iter()
        .map(|(name, kind)| {
            json!({
                "name": name,
                "aliases": [k_alias(name), kind.name()],
                "options": {},
            })
        })
        .collect();
    // A1111 lists DPM++ 2M first.
    items.sort_by_key(|v| v["name"] != "DPM++ 2M");
    Value::Array(items)
}

/// `GET /sdapi/v1/schedulers`.
pub fn scheduler_list() -> Value {
    json!([
        {"name": "automatic", "label": "Automatic", "aliases": null, "default_rho": -1, "need_inner_model": false},
        {"name": "karras", "label": "Karras", "aliases": null, "default_rho": 7.0, "need_inner_model": false},
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_like_a1111() {
        assert_eq!(resolve("Euler", None), Ok(SchedulerKind::Euler));
        assert_eq!(
            resolve("Euler a", Some("automatic")),
            Ok(SchedulerKind::EulerAncestral)
        );
        assert_eq!(
            resolve("k_euler_a", None),
            Ok(SchedulerKind::EulerAncestral)
        );
        assert_eq!(
            resolve("DPM++ 2M", Some("Karras")),
            Ok(SchedulerKind::DpmSolverMultistepKarras)
        );
        assert_eq!(
            resolve("DPM++ 2M Karras", None),
            Ok(SchedulerKind::DpmSolverMultistepKarras)
        );
        assert_eq!(
            resolve("dpmpp-2m", None),
            Ok(SchedulerKind::DpmSolverMultistep)
        );
        assert_eq!(resolve("PLMS", None), Ok(SchedulerKind::Pndm));
        assert_eq!(resolve("LMS", Some("")), Ok(SchedulerKind::Lms));
        assert!(resolve("Heun", None).is_err());
        assert!(resolve("Euler", Some("karras")).is_err());
        assert!(resolve("Euler", Some("exponential")).is_err());
    }

    #[test]
    fn every_listed_sampler_resolves() {
        for item in sampler_list().as_array().unwrap() {
            let name = item["name"].as_str().unwrap();
            assert!(resolve(name, None).is_ok(), "{name}");
        }
        assert_eq!(sampler_list()[0]["name"], "DPM++ 2M");
    }
}
