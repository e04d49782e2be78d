//! YAML config surface: the reference's default document parses to our defaults, our rendered
//! values match the reference's `yaml.safe_dump` lines, and validation errors name the key.

use crate::common::golden;
use stablesteering::steering::config::{parse_yaml, render_yaml, ConfigErrorKind, StrategyConfig};

#[test]
fn reference_default_yaml_parses_to_defaults() {
    let data = golden("misc");
    let text = data["default_config_yaml"].as_str().expect("yaml");
    assert_eq!(parse_yaml(text).ok(), Some(StrategyConfig::default()));
}

#[test]
fn rendered_values_match_reference_dump() {
    let data = golden("misc");
    let reference = data["default_config_yaml"].as_str().expect("yaml");
    let values = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    };
    let ours = render_yaml(&StrategyConfig::default());
    assert_eq!(values(&ours), values(reference));
    assert!(ours.starts_with("# StableSteering"));
}

#[test]
fn every_key_round_trips_through_yaml() {
    let text = "sampler: two_scale_cover\nupdater: plackett_luce_preference\nfeedback_mode: top_k\n\
                seed_policy: fixed-across-rounds\nsteering_mode: token_vector_field\nsteering_dimension: 16\n\
                candidate_count: 12\nimage_size: 768x512\ntrust_radius: 1\nstagnation_patience: 10\n\
                stagnation_trust_radius_scale: 3\nconvergence_patience: 0\nconvergence_min_delta: 1.0\n\
                anchor_strength: 2\nguidance_scale: 20\nnum_inference_steps: 100\nmodel_name: local-slug\n";
    let config = parse_yaml(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.steering_dimension, 16);
    assert_eq!(config.image_dimensions().ok(), Some((768, 512)));
    let again = parse_yaml(&render_yaml(&config)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, config);
}

#[test]
fn errors_name_the_field_and_line() {
    let cases = [
        (
            "trust_radius: 1.5\n",
            "trust_radius",
            ConfigErrorKind::OutOfRange,
        ),
        (
            "sampler: fast\n",
            "sampler",
            ConfigErrorKind::InvalidEnum { allowed: vec![] },
        ),
        (
            "image_size: banana\n",
            "image_size",
            ConfigErrorKind::InvalidImageSize,
        ),
        (
            "image_size: 500x500\n",
            "image_size",
            ConfigErrorKind::InvalidImageSize,
        ),
        (
            "candidate_count: 13\n",
            "candidate_count",
            ConfigErrorKind::OutOfRange,
        ),
        (
            "guidance_scale: 0\n",
            "guidance_scale",
            ConfigErrorKind::OutOfRange,
        ),
        (
            "stagnation_trust_radius_scale: 0.5\n",
            "stagnation_trust_radius_scale",
            ConfigErrorKind::OutOfRange,
        ),
        (
            "num_inference_steps: fast\n",
            "num_inference_steps",
            ConfigErrorKind::WrongType,
        ),
        (
            "samplr: line_search\n",
            "samplr",
            ConfigErrorKind::UnknownKey {
                suggestion: "sampler".into(),
            },
        ),
    ];
    for (text, field, kind) in cases {
        let err = parse_yaml(text).expect_err(text);
        assert_eq!(err.field.as_deref(), Some(field), "{text}");
        assert_eq!(err.line, Some(1), "{text}");
        assert!(err.message.contains(field), "{text}: {}", err.message);
        assert_eq!(
            std::mem::discriminant(&err.kind),
            std::mem::discriminant(&kind),
            "{text}"
        );
        assert_eq!(err.error_code(), "invalid_input");
    }
}
