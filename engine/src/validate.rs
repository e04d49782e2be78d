//! Request validation: every field is checked before any tensor is touched, and the error
//! names the field, so the HTTP layer can answer 4xx and the CLI can print one line.

use crate::error::EngineError;
use crate::request::{RenderRequest, Steering, MAX_CANDIDATES, MAX_SIDE, MAX_STEPS};

/// Checks `req` for a model whose VAE scales by `scale` and whose latents have `channels`.
pub fn request(req: &RenderRequest, scale: usize, channels: usize) -> Result<(), EngineError> {
    if req.steps == 0 || req.steps > MAX_STEPS {
        return Err(EngineError::invalid(
            "steps",
            format!("must be between 1 and {MAX_STEPS}, got {}", req.steps),
        ));
    }
    if !req.guidance_scale.is_finite() || !(0.0..=50.0).contains(&req.guidance_scale) {
        return Err(EngineError::invalid(
            "guidance_scale",
            format!(
                "must be a number between 0 and 50, got {}",
                req.guidance_scale
            ),
        ));
    }
    for (field, side) in [("width", req.width), ("height", req.height)] {
        if side < scale || side > MAX_SIDE || side % scale != 0 {
            return Err(EngineError::invalid(
                field,
                format!("must be a multiple of {scale} between {scale} and {MAX_SIDE}, got {side}"),
            ));
        }
    }
    if req.candidates.is_empty() || req.candidates.len() > MAX_CANDIDATES {
        return Err(EngineError::invalid(
            "candidates",
            format!(
                "between 1 and {MAX_CANDIDATES} candidates per batch, got {}",
                req.candidates.len()
            ),
        ));
    }
    if req.clip_skip > 4 {
        return Err(EngineError::invalid(
            "clip_skip",
            format!("must be 0..=4, got {}", req.clip_skip),
        ));
    }
    let per = channels * (req.width / scale) * (req.height / scale);
    for (k, c) in req.candidates.iter().enumerate() {
        if let Some(latents) = &c.init_latents {
            if latents.len() != per {
                return Err(EngineError::invalid(
                    &format!("candidates[{k}].init_latents"),
                    format!(
                        "has {} values, {channels}×{}×{} needed",
                        latents.len(),
                        req.height / scale,
                        req.width / scale
                    ),
                ));
            }
            if latents.iter().any(|v| !v.is_finite()) {
                return Err(EngineError::invalid(
                    &format!("candidates[{k}].init_latents"),
                    "contains NaN or infinity",
                ));
            }
            if req.init_image.is_some() {
                return Err(EngineError::invalid(
                    &format!("candidates[{k}].init_latents"),
                    "cannot be combined with an init image",
                ));
            }
        }
        match &c.steering {
            Some(Steering::Vector {
                z, anchor_strength, ..
            }) if (z.iter().any(|v| !v.is_finite()) || !anchor_strength.is_finite()) => {
                return Err(EngineError::invalid(
                    &format!("candidates[{k}].steering"),
                    "z and anchor_strength must be finite",
                ));
            }
            Some(Steering::Offset(offset)) if offset.iter().any(|v| !v.is_finite()) => {
                return Err(EngineError::invalid(
                    &format!("candidates[{k}].steering"),
                    "offset contains NaN or infinity",
                ));
            }
            _ => {}
        }
    }
    if let Some(init) = &req.init_image {
        if !init.strength.is_finite() || init.strength <= 0.0 || init.strength > 1.0 {
            return Err(EngineError::invalid(
                "strength",
                format!("must be in (0, 1], got {}", init.strength),
            ));
        }
        // The same rule as the render (diffusers' get_timesteps): at least one step must stay.
        if ((req.steps as f64 * init.strength) as usize).min(req.steps) == 0 {
            return Err(EngineError::invalid(
                "strength",
                format!(
                    "strength {} with {} steps leaves no denoising step; raise steps or strength",
                    init.strength, req.steps
                ),
            ));
        }
        if init.image.width != req.width || init.image.height != req.height {
            return Err(EngineError::invalid(
                "init_image",
                format!(
                    "is {}×{}, the request is {}×{}",
                    init.image.width, init.image.height, req.width, req.height
                ),
            ));
        }
    }
    Ok(())
}
