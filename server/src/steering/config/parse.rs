//! Typed extraction of a config from a JSON object: unknown keys first (with the closest valid
//! key), then each key's type, enum vocabulary and range.

use serde_json::{Map, Value};

use super::error::{ConfigError, ConfigErrorKind};
use super::keys::{closest_key, is_key};
use super::validate::validate;
use super::StrategyConfig;
use crate::steering::kinds::{
    Acquisition, BasisKind, FeedbackMode, SamplerKind, SeedPolicy, SteeringMode, Strategy,
    UpdaterKind,
};

/// Maps a key to its YAML line, when the input came from YAML.
pub(super) type LineOf<'a> = dyn Fn(&str) -> Option<usize> + 'a;

/// Parses `map`; `default_strategy` applies when the map has no `strategy` key.
pub(super) fn from_map(
    map: &Map<String, Value>,
    default_strategy: Strategy,
    line_of: &LineOf<'_>,
) -> Result<StrategyConfig, ConfigError> {
    for key in map.keys() {
        if !is_key(key) {
            let suggestion = closest_key(key);
            return Err(ConfigError::new(
                ConfigErrorKind::UnknownKey {
                    suggestion: suggestion.to_string(),
                },
                Some(key),
                format!("unknown config key '{key}'; did you mean '{suggestion}'?"),
            )
            .at_line(line_of(key)));
        }
    }
    let with_line = |e: ConfigError| {
        let line = e.field.as_deref().and_then(line_of);
        e.at_line(line)
    };
    let get = |key: &str| map.get(key);
    let strategy = match get("strategy") {
        Some(v) => {
            enum_value(v, "strategy", Strategy::parse, Strategy::names()).map_err(with_line)?
        }
        None => default_strategy,
    };
    let mut config = StrategyConfig::defaults_for(strategy);
    if let Some(v) = get("basis") {
        config.basis =
            enum_value(v, "basis", BasisKind::parse, BasisKind::names()).map_err(with_line)?;
    }
    if let Some(v) = get("acquisition") {
        config.acquisition = enum_value(v, "acquisition", Acquisition::parse, Acquisition::names())
            .map_err(with_line)?;
    }
    if let Some(v) = get("sampler") {
        config.sampler = enum_value(v, "sampler", SamplerKind::parse, SamplerKind::names())
            .map_err(with_line)?;
    }
    if let Some(v) = get("updater") {
        config.updater = enum_value(v, "updater", UpdaterKind::parse, UpdaterKind::names())
            .map_err(with_line)?;
    }
    if let Some(v) = get("feedback_mode") {
        config.feedback_mode = enum_value(
            v,
            "feedback_mode",
            FeedbackMode::parse,
            FeedbackMode::names(),
        )
        .map_err(with_line)?;
    }
    if let Some(v) = get("seed_policy") {
        config.seed_policy = enum_value(v, "seed_policy", SeedPolicy::parse, SeedPolicy::names())
            .map_err(with_line)?;
    }
    if let Some(v) = get("steering_mode") {
        config.steering_mode = enum_value(
            v,
            "steering_mode",
            SteeringMode::parse,
            SteeringMode::names(),
        )
        .map_err(with_line)?;
    }
    for (key, slot) in [
        ("steering_dimension", &mut config.steering_dimension),
        ("candidate_count", &mut config.candidate_count),
        ("stagnation_patience", &mut config.stagnation_patience),
        ("convergence_patience", &mut config.convergence_patience),
        ("seed_casting", &mut config.seed_casting),
        ("num_inference_steps", &mut config.num_inference_steps),
    ] {
        if let Some(v) = get(key) {
            *slot = int_value(v, key).map_err(with_line)?;
        }
    }
    for (key, slot) in [
        ("trust_radius", &mut config.trust_radius),
        ("prior_width", &mut config.prior_width),
        (
            "stagnation_trust_radius_scale",
            &mut config.stagnation_trust_radius_scale,
        ),
        ("convergence_min_delta", &mut config.convergence_min_delta),
        ("anchor_strength", &mut config.anchor_strength),
        ("guidance_scale", &mut config.guidance_scale),
    ] {
        if let Some(v) = get(key) {
            *slot = float_value(v, key).map_err(with_line)?;
        }
    }
    if let Some(v) = get("image_size") {
        config.image_size = string_value(v, "image_size").map_err(with_line)?;
    }
    if let Some(v) = get("model_name") {
        config.model_name = string_value(v, "model_name").map_err(with_line)?;
    }
    validate(&config).map_err(with_line)?;
    Ok(config)
}

fn wrong_type(key: &str, expected: &str, value: &Value) -> ConfigError {
    ConfigError::new(
        ConfigErrorKind::WrongType,
        Some(key),
        format!("{key} must be {expected} (got {value})"),
    )
}

fn enum_value<T>(
    value: &Value,
    key: &str,
    parse: fn(&str) -> Option<T>,
    names: Vec<&'static str>,
) -> Result<T, ConfigError> {
    value.as_str().and_then(parse).ok_or_else(|| {
        ConfigError::new(
            ConfigErrorKind::InvalidEnum {
                allowed: names.iter().map(|n| n.to_string()).collect(),
            },
            Some(key),
            format!("{key} must be one of: {} (got {value})", names.join(", ")),
        )
    })
}

fn int_value(value: &Value, key: &str) -> Result<u32, ConfigError> {
    let integral = match value {
        Value::Number(n) => n
            .as_i64()
            .map(|v| v as f64)
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0)),
        _ => None,
    };
    let Some(number) = integral else {
        return Err(wrong_type(key, "an integer", value));
    };
    if !(0.0..=f64::from(u32::MAX)).contains(&number) {
        return Err(ConfigError::new(
            ConfigErrorKind::OutOfRange,
            Some(key),
            format!("{key} must not be negative (got {value})"),
        ));
    }
    Ok(number as u32)
}

fn float_value(value: &Value, key: &str) -> Result<f64, ConfigError> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| wrong_type(key, "a finite number", value)),
        _ => Err(wrong_type(key, "a number", value)),
    }
}

fn string_value(value: &Value, key: &str) -> Result<String, ConfigError> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| wrong_type(key, "a string", value))
}

#[cfg(test)]
mod tests {
    use super::super::StrategyConfig;
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<StrategyConfig, ConfigError> {
        StrategyConfig::from_json(&value)
    }

    #[test]
    fn enum_errors_list_every_valid_value() {
        let err = parse(json!({"sampler": "best_one"})).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("sampler"));
        assert!(err.message.contains("random_local") && err.message.contains("restart_bridge_mix"));
        match err.kind {
            ConfigErrorKind::InvalidEnum { allowed } => assert_eq!(allowed.len(), 13),
            other => panic!("{other:?}"),
        }
        let err = parse(json!({"seed_policy": "fixed"})).unwrap_err();
        assert!(err.message.contains("fixed-across-rounds"));
    }

    #[test]
    fn type_and_range_errors_name_the_field() {
        let err = parse(json!({"steering_dimension": "five"})).unwrap_err();
        assert_eq!(
            (err.kind.clone(), err.field.as_deref()),
            (ConfigErrorKind::WrongType, Some("steering_dimension"))
        );
        let err = parse(json!({"steering_dimension": 17})).unwrap_err();
        assert_eq!(
            (err.kind.clone(), err.field.as_deref()),
            (ConfigErrorKind::OutOfRange, Some("steering_dimension"))
        );
        let err = parse(json!({"trust_radius": 0})).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("trust_radius"));
        let err = parse(json!({"candidate_count": -1})).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("candidate_count"));
        assert!(parse(json!({"candidate_count": 3.0})).is_ok());
        assert!(parse(json!({"candidate_count": 3.5})).is_err());
        assert!(parse(json!({"trust_radius": 1})).is_ok());
    }

    #[test]
    fn unknown_key_is_an_error_with_suggestion() {
        let err = parse(json!({"trust_raduis": 0.9})).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("trust_raduis"));
        assert_eq!(
            err.kind,
            ConfigErrorKind::UnknownKey {
                suggestion: "trust_radius".into()
            }
        );
        assert_eq!(
            err.message,
            "unknown config key 'trust_raduis'; did you mean 'trust_radius'?"
        );
    }
}
