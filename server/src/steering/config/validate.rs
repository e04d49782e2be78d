//! Range checks of every numeric key and the `image_size` parser (WxH, multiples of 8,
//! 64..=2048 per side).

use super::error::{ConfigError, ConfigErrorKind};
use super::StrategyConfig;
use crate::steering::kinds::{BasisKind, SteeringMode, Strategy};

/// Smallest accepted image side.
pub const IMAGE_SIDE_MIN: u32 = 64;
/// Largest accepted image side.
pub const IMAGE_SIDE_MAX: u32 = 2048;
const MODEL_NAME_MAX: usize = 256;

/// Parses `"WIDTHxHEIGHT"` (an `x` or `X`, digits only) and checks both sides.
pub fn parse_image_size(text: &str) -> Result<(u32, u32), ConfigError> {
    let bad = |message: String| {
        ConfigError::new(
            ConfigErrorKind::InvalidImageSize,
            Some("image_size"),
            message,
        )
    };
    let trimmed = text.trim();
    let parts: Vec<&str> = trimmed.split(['x', 'X']).collect();
    let parsed: Option<Vec<u32>> = (parts.len() == 2)
        .then(|| {
            parts
                .iter()
                .map(|p| {
                    (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| p.parse::<u32>().ok())
                        .flatten()
                })
                .collect()
        })
        .flatten();
    let Some(sides) = parsed else {
        return Err(bad(format!(
            "image_size must be WIDTHxHEIGHT, for example 512x512 (got {text:?})"
        )));
    };
    for (name, side) in [("width", sides[0]), ("height", sides[1])] {
        if !(IMAGE_SIDE_MIN..=IMAGE_SIDE_MAX).contains(&side) {
            return Err(bad(format!(
                "image_size {name} must be between {IMAGE_SIDE_MIN} and {IMAGE_SIDE_MAX} (got {side})"
            )));
        }
        if side % 8 != 0 {
            return Err(bad(format!(
                "image_size {name} must be a multiple of 8 (got {side})"
            )));
        }
    }
    Ok((sides[0], sides[1]))
}

fn out_of_range(key: &str, rule: &str, value: impl std::fmt::Display) -> ConfigError {
    ConfigError::new(
        ConfigErrorKind::OutOfRange,
        Some(key),
        format!("{key} must be {rule} (got {value})"),
    )
}

fn int_range(key: &str, value: u32, min: u32, max: u32) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(out_of_range(
            key,
            &format!("between {min} and {max}"),
            value,
        ))
    }
}

fn float_range(
    key: &str,
    value: f64,
    min: f64,
    min_inclusive: bool,
    max: f64,
) -> Result<(), ConfigError> {
    let above = if min_inclusive {
        value >= min
    } else {
        value > min
    };
    if value.is_finite() && above && value <= max {
        return Ok(());
    }
    let rule = if min_inclusive {
        format!("between {min} and {max}")
    } else {
        format!("greater than {min} and at most {max}")
    };
    Err(out_of_range(key, &rule, value))
}

/// The wave-2 keys' rules that involve other keys.
fn validate_wave2(config: &StrategyConfig) -> Result<(), ConfigError> {
    let casting = config.seed_casting;
    if casting != 0 && config.strategy != Strategy::Preference {
        return Err(out_of_range(
            "seed_casting",
            "0 unless strategy is preference",
            casting,
        ));
    }
    if casting != 0 && !(2..=12).contains(&casting) {
        return Err(out_of_range(
            "seed_casting",
            "0 (off) or between 2 and 12",
            casting,
        ));
    }
    if config.basis != BasisKind::Sinusoidal && config.steering_mode != SteeringMode::LowDimensional
    {
        return Err(ConfigError::new(
            ConfigErrorKind::OutOfRange,
            Some("steering_mode"),
            format!(
                "steering_mode {} shapes the sinusoidal basis only; with basis {} use low_dimensional (or basis: sinusoidal)",
                config.steering_mode, config.basis
            ),
        ));
    }
    Ok(())
}

/// Checks every key's range and the image size.
pub(super) fn validate(config: &StrategyConfig) -> Result<(), ConfigError> {
    int_range("steering_dimension", config.steering_dimension, 1, 16)?;
    int_range("candidate_count", config.candidate_count, 1, 12)?;
    parse_image_size(&config.image_size)?;
    float_range("trust_radius", config.trust_radius, 0.0, false, 1.0)?;
    float_range("prior_width", config.prior_width, 0.0, false, 2.0)?;
    validate_wave2(config)?;
    int_range("stagnation_patience", config.stagnation_patience, 0, 10)?;
    float_range(
        "stagnation_trust_radius_scale",
        config.stagnation_trust_radius_scale,
        1.0,
        true,
        3.0,
    )?;
    int_range("convergence_patience", config.convergence_patience, 0, 10)?;
    float_range(
        "convergence_min_delta",
        config.convergence_min_delta,
        0.0,
        true,
        1.0,
    )?;
    float_range("anchor_strength", config.anchor_strength, 0.0, true, 2.0)?;
    float_range("guidance_scale", config.guidance_scale, 0.0, false, 20.0)?;
    int_range("num_inference_steps", config.num_inference_steps, 1, 100)?;
    if config.model_name.len() > MODEL_NAME_MAX || config.model_name.chars().any(char::is_control) {
        return Err(out_of_range(
            "model_name",
            &format!("at most {MODEL_NAME_MAX} characters without control characters"),
            format!("{} characters", config.model_name.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_size_rules() {
        assert_eq!(parse_image_size("768x512").ok(), Some((768, 512)));
        assert_eq!(parse_image_size("64X2048").ok(), Some((64, 2048)));
        for bad in [
            "banana",
            "512",
            "512x",
            "x512",
            "512x512x8",
            "-512x512",
            "+512x512",
            "512 x 512",
        ] {
            let err = parse_image_size(bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("image_size"), "{bad}");
            assert!(
                err.message.contains("WIDTHxHEIGHT"),
                "{bad}: {}",
                err.message
            );
        }
        let err = parse_image_size("500x512").unwrap_err();
        assert!(err.message.contains("multiple of 8"));
        let err = parse_image_size("4096x512").unwrap_err();
        assert!(err.message.contains("between 64 and 2048"));
        let err = parse_image_size("512x56").unwrap_err();
        assert!(err.message.contains("height"));
    }
}
