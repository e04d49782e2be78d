//! YAML rendering (a comment header listing every allowed value and the meaning of every key,
//! then the values) and parsing (syntax errors with their line, unknown keys with the closest
//! valid key, typed and range-checked values). Uses `serde_norway`.

use serde_json::{Map, Value};

use super::error::{ConfigError, ConfigErrorKind};
use super::keys::KEYS;
use super::parse::from_map;
use super::StrategyConfig;
use crate::steering::kinds::{
    Acquisition, BasisKind, FeedbackMode, SamplerKind, SeedPolicy, SteeringMode, Strategy,
    UpdaterKind,
};

fn header() -> String {
    let mut out = String::from(
        "# StableSteering per-session strategy configuration\n\
         # Edit any of these values before creating a new session; keys not listed here are rejected.\n\
         #\n\
         # Allowed values:\n",
    );
    for (key, names) in [
        ("strategy", Strategy::names()),
        ("basis", BasisKind::names()),
        ("acquisition", Acquisition::names()),
        ("sampler", SamplerKind::names()),
        ("updater", UpdaterKind::names()),
        ("feedback_mode", FeedbackMode::names()),
        ("seed_policy", SeedPolicy::names()),
        ("steering_mode", SteeringMode::names()),
    ] {
        out.push_str(&format!("#   {key}: {}\n", names.join(" | ")));
    }
    out.push_str("#\n# Keys:\n");
    for (key, meaning) in KEYS {
        out.push_str(&format!("#   {key}: {meaning}\n"));
    }
    out
}

/// Renders `config` as commented YAML (keys in reference order).
pub fn render_yaml(config: &StrategyConfig) -> String {
    let body = serde_norway::to_string(config).unwrap_or_default();
    format!("{}{}", header(), body)
}

/// 1-based line of the first top-level `key:` in `text`.
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let rest = line
                .strip_prefix(key)
                .or_else(|| line.strip_prefix(&format!("\"{key}\"")))
                .or_else(|| line.strip_prefix(&format!("'{key}'")));
            rest.is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map(|index| index + 1)
}

/// Parses and validates stored or reference YAML: a missing `strategy` means `classic`.
pub fn parse_yaml(text: &str) -> Result<StrategyConfig, ConfigError> {
    parse_yaml_with(text, Strategy::Classic, &Map::new())
}

/// Parses and validates the YAML of a new session: a missing `strategy` means `preference`,
/// and keys missing from the text take their value from `fallback` first (the server's own
/// defaults such as `image_size` and `model_name`), then the strategy's defaults.
pub fn parse_yaml_new(
    text: &str,
    fallback: &Map<String, Value>,
) -> Result<StrategyConfig, ConfigError> {
    parse_yaml_with(text, Strategy::Preference, fallback)
}

fn parse_yaml_with(
    text: &str,
    default_strategy: Strategy,
    fallback: &Map<String, Value>,
) -> Result<StrategyConfig, ConfigError> {
    let document: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        ConfigError::new(
            ConfigErrorKind::Syntax,
            None,
            format!("Invalid YAML configuration: {e}"),
        )
        .at_line(line)
    })?;
    let map: Map<String, Value> = match document {
        serde_norway::Value::Null => Map::new(),
        serde_norway::Value::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let Some(key) = key.as_str().map(str::to_string) else {
                    return Err(ConfigError::new(
                        ConfigErrorKind::WrongType,
                        None,
                        format!("config keys must be strings (got {key:?})"),
                    ));
                };
                let value = serde_json::to_value(&value).map_err(|_| {
                    ConfigError::new(
                        ConfigErrorKind::WrongType,
                        Some(&key),
                        format!("{key} has a value that is not plain YAML data"),
                    )
                    .at_line(line_of(text, &key))
                })?;
                map.insert(key, value);
            }
            map
        }
        _ => {
            return Err(ConfigError::new(
                ConfigErrorKind::NotAMapping,
                None,
                "Config YAML must define a mapping of key/value pairs.".into(),
            ))
        }
    };
    let mut map = map;
    for (key, value) in fallback {
        if !map.contains_key(key) {
            map.insert(key.clone(), value.clone());
        }
    }
    from_map(&map, default_strategy, &|key| line_of(text, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_lists_every_value_and_round_trips() {
        let config = StrategyConfig {
            sampler: SamplerKind::SphericalCover,
            seed_policy: SeedPolicy::FixedAcrossRounds,
            stagnation_trust_radius_scale: 2.0,
            ..StrategyConfig::default()
        };
        let text = render_yaml(&config);
        for name in SamplerKind::names()
            .into_iter()
            .chain(UpdaterKind::names())
            .chain(SeedPolicy::names())
        {
            assert!(text.contains(name), "{name}");
        }
        for (key, _) in KEYS {
            assert!(text.contains(&format!("#   {key}: ")), "{key}");
        }
        assert_eq!(parse_yaml(&text).ok(), Some(config));
    }

    #[test]
    fn unknown_key_names_line_and_suggestion() {
        let err = parse_yaml("sampler: line_search\n\ntrust_raduis: 0.9\n").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("trust_raduis"));
        assert_eq!(err.line, Some(3));
        assert!(
            err.message.contains("did you mean 'trust_radius'"),
            "{}",
            err.message
        );
    }

    #[test]
    fn syntax_and_shape_errors() {
        let err = parse_yaml("sampler: [unclosed\n").unwrap_err();
        assert_eq!(err.kind, ConfigErrorKind::Syntax);
        assert!(err.line.is_some());
        let err = parse_yaml("- a\n- b\n").unwrap_err();
        assert_eq!(err.kind, ConfigErrorKind::NotAMapping);
        assert_eq!(parse_yaml("").ok(), Some(StrategyConfig::default()));
        assert_eq!(
            parse_yaml("# only comments\n").ok(),
            Some(StrategyConfig::default())
        );
        let err = parse_yaml("image_size: banana\n").unwrap_err();
        assert_eq!(
            (err.field.as_deref(), err.line),
            (Some("image_size"), Some(1))
        );
        let err = parse_yaml("sampler: x\nsampler: y\n").unwrap_err();
        assert_eq!(err.kind, ConfigErrorKind::Syntax);
    }

    #[test]
    fn alias_bombs_are_refused_quickly() {
        // "Billion laughs": nine levels of nine aliases would expand to 9^9 strings.
        let mut text = String::from("a0: &a0 [\"lol\"]\n");
        for level in 1..10 {
            let refs = vec![format!("*a{}", level - 1); 9].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        text.push_str("sampler: *a9\n");
        let started = std::time::Instant::now();
        let err = parse_yaml(&text).unwrap_err();
        assert!(
            started.elapsed().as_secs_f64() < 1.0,
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(err.kind, ConfigErrorKind::Syntax, "{}", err.message);
        // Deep nesting, too.
        let deep = format!("sampler: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_yaml(&deep).is_err());
    }
}
