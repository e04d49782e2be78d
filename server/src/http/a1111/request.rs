//! The `txt2img` / `img2img` request as A1111 defines it (`StableDiffusionProcessingTxt2Img`
//! and `...Img2Img` in `modules/api/models.py`): every field nullable, `null` meaning the
//! default, unknown keys ignored, type errors a 422 naming the field.
//!
//! The fields that change the image are read here. The A1111 fields this server does not
//! implement (hires fix, face restoration, variation seeds, styles, scripts, extensions, an
//! inpainting mask, …) are accepted only at their default, off value and otherwise refused
//! with a 422 naming them (`unimplemented.rs`); everything else is echoed.

use serde_json::{json, Map, Value};

use super::errors::{A1111Result, Fields};

/// Images per request at most (`batch_size * n_iter`).
pub const MAX_IMAGES: u32 = 64;

/// A parsed generation request with A1111's defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRequest {
    /// Positive prompt.
    pub prompt: String,
    /// Negative prompt.
    pub negative_prompt: String,
    /// Seed; -1 (or any negative) = random.
    pub seed: i64,
    /// Echoed only (variation seeds are not supported).
    pub subseed: i64,
    /// Echoed only: anything above 0 is refused (`unimplemented.rs`).
    pub subseed_strength: f64,
    /// Sampler name (`sampler_name`, else `sampler_index`, else "Euler").
    pub sampler_name: String,
    /// Schedule type (`None` = automatic).
    pub scheduler: Option<String>,
    /// Denoising steps.
    pub steps: u32,
    /// CFG scale.
    pub cfg_scale: f64,
    /// Width; `None` when the client sent null (img2img then adopts the init image's size).
    pub width: Option<u32>,
    /// Height, likewise.
    pub height: Option<u32>,
    /// Images per batch.
    pub batch_size: u32,
    /// Batches.
    pub n_iter: u32,
    /// img2img strength.
    pub denoising_strength: f64,
    /// img2img inputs (base64, with or without a data: prefix).
    pub init_images: Option<Vec<String>>,
    /// Whether to return the images.
    pub send_images: bool,
    /// `override_settings` (only `sd_model_checkpoint` and `CLIP_stop_at_last_layers` matter).
    pub override_settings: Map<String, Value>,
}

impl GenerationRequest {
    /// Reads `body`; `img2img` also reads the init images and the denoising strength.
    pub fn parse(body: &Map<String, Value>, img2img: bool) -> A1111Result<Self> {
        let mut f = Fields::new(body);
        let sampler_name = f.get::<String>("sampler_name", "str");
        let sampler_index = f.get::<String>("sampler_index", "str");
        let req = GenerationRequest {
            prompt: f.get("prompt", "str").unwrap_or_default(),
            negative_prompt: f.get("negative_prompt", "str").unwrap_or_default(),
            seed: f.get("seed", "integer").unwrap_or(-1),
            subseed: f.get("subseed", "integer").unwrap_or(-1),
            subseed_strength: f.get("subseed_strength", "float").unwrap_or(0.0),
            sampler_name: sampler_name
                .filter(|s| !s.trim().is_empty())
                .or(sampler_index.filter(|s| !s.trim().is_empty()))
                .unwrap_or_else(|| "Euler".into()),
            scheduler: f.get("scheduler", "str"),
            steps: f.get("steps", "integer").unwrap_or(50),
            cfg_scale: f.get("cfg_scale", "float").unwrap_or(7.0),
            width: f.get("width", "integer"),
            height: f.get("height", "integer"),
            batch_size: f.get("batch_size", "integer").unwrap_or(1),
            n_iter: f.get("n_iter", "integer").unwrap_or(1),
            denoising_strength: f.get("denoising_strength", "float").unwrap_or(0.75),
            init_images: if img2img {
                f.get("init_images", "list")
            } else {
                None
            },
            send_images: f.get("send_images", "bool").unwrap_or(true),
            override_settings: f
                .get::<Map<String, Value>>("override_settings", "dict")
                .unwrap_or_default(),
        };
        if req.steps == 0 && body.get("steps").is_some_and(|v| !v.is_null()) {
            f.reject("steps", "ensure this value is greater than 0");
        }
        if req.batch_size == 0 {
            f.reject("batch_size", "ensure this value is greater than 0");
        }
        if req.n_iter == 0 {
            f.reject("n_iter", "ensure this value is greater than 0");
        }
        if req.batch_size.saturating_mul(req.n_iter) > MAX_IMAGES {
            f.reject(
                "batch_size",
                format!("batch_size * n_iter may be at most {MAX_IMAGES} here"),
            );
        }
        if !req.cfg_scale.is_finite() {
            f.reject("cfg_scale", "must be a finite number");
        }
        if img2img && !(req.denoising_strength > 0.0 && req.denoising_strength <= 1.0) {
            f.reject("denoising_strength", "must be in (0, 1]");
        }
        super::unimplemented::refuse_unimplemented(&mut f, body, img2img);
        f.finish()?;
        Ok(req)
    }

    /// How many images the request makes.
    pub fn image_count(&self) -> u32 {
        self.batch_size * self.n_iter
    }

    /// The seeds of every image: the base seed (random when negative) then +1 per image, as
    /// A1111 does.
    pub fn seeds(&self) -> Vec<u64> {
        let base = if self.seed < 0 {
            u64::from(random_u32())
        } else {
            self.seed as u64
        };
        (0..u64::from(self.image_count()))
            .map(|i| base.wrapping_add(i))
            .collect()
    }

    /// The request as echoed in `parameters`: the client's body with the defaults filled in,
    /// and the (large) init images left out (see [`includes_init_images`]).
    /// `size` is the size rendered (the model's own when the client left it out).
    pub fn echo(
        &self,
        body: &Map<String, Value>,
        img2img: bool,
        size: (usize, usize),
    ) -> Map<String, Value> {
        let mut out = body.clone();
        let mut fill = |k: &str, v: Value| {
            if out.get(k).is_none_or(Value::is_null) {
                out.insert(k.to_string(), v);
            }
        };
        fill("prompt", json!(self.prompt));
        fill("negative_prompt", json!(self.negative_prompt));
        fill("seed", json!(self.seed));
        fill("subseed", json!(self.subseed));
        fill("subseed_strength", json!(self.subseed_strength));
        fill("sampler_name", json!(self.sampler_name));
        fill("steps", json!(self.steps));
        fill("cfg_scale", json!(self.cfg_scale));
        fill("width", json!(size.0));
        fill("height", json!(size.1));
        fill("batch_size", json!(self.batch_size));
        fill("n_iter", json!(self.n_iter));
        fill("send_images", json!(self.send_images));
        fill("save_images", json!(false));
        if img2img {
            fill("denoising_strength", json!(self.denoising_strength));
            // Never kept here, even with `include_init_images`: this echo is stored in the
            // job's snapshot (a 512x512 image is ~1 MB of base64, over the log's record limit)
            // and the image is already an artifact; the response adds it back when asked.
            out.insert("init_images".into(), Value::Null);
            if out.contains_key("mask") {
                out.insert("mask".into(), Value::Null);
            }
        }
        out
    }
}

/// Whether the client asked for its init images back in `parameters` (A1111's
/// `include_init_images`).
pub fn includes_init_images(body: &Map<String, Value>) -> bool {
    body.get("include_init_images")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// A random u32 (A1111 draws seeds below 2^32 - 1).
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (hasher.finish() % u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::super::errors::A1111Error;
    use super::*;

    fn parse(text: &str, img2img: bool) -> A1111Result<GenerationRequest> {
        let Value::Object(map) = serde_json::from_str(text).unwrap() else {
            panic!()
        };
        GenerationRequest::parse(&map, img2img)
    }

    #[test]
    fn nulls_are_defaults_and_unknown_keys_are_ignored() {
        let r = parse(
            r#"{"prompt": null, "steps": null, "hr_upscaler": "x", "sampler_index": "LMS"}"#,
            false,
        )
        .unwrap();
        assert_eq!(r.prompt, "");
        assert_eq!(r.steps, 50);
        assert_eq!(r.sampler_name, "LMS");
        assert_eq!(r.width, None);
        assert_eq!(r.image_count(), 1);
    }

    #[test]
    fn seeds_follow_a1111() {
        let r = parse(r#"{"seed": 7, "batch_size": 2, "n_iter": 2}"#, false).unwrap();
        assert_eq!(r.seeds(), vec![7, 8, 9, 10]);
        let r = parse(r#"{"seed": -1}"#, false).unwrap();
        assert!(r.seeds()[0] < u64::from(u32::MAX));
    }

    #[test]
    fn wrong_types_are_422() {
        assert!(matches!(
            parse(r#"{"steps": "many"}"#, false),
            Err(A1111Error::Validation(_))
        ));
        assert!(matches!(
            parse(r#"{"batch_size": 0}"#, false),
            Err(A1111Error::Validation(_))
        ));
    }
}
