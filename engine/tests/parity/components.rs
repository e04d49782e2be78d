//! Text encoder, UNet and VAE outputs match diffusers/transformers to ~1e-4 for both tiny
//! models (f16, bf16 and f32 checkpoints, both VAE key spellings, with and without the
//! `text_model.` prefix).

use crate::fixtures::{assert_close, engine, get, reference};

const MODELS: [&str; 2] = ["tiny-sd1", "tiny-sd2"];

#[test]
fn text_encoder_matches_transformers() {
    for model in MODELS {
        let e = engine(model);
        let r = reference(model);
        let ids: Vec<Vec<u32>> = get(r, "text_encoder.input_ids")
            .values
            .chunks(77)
            .map(|row| row.iter().map(|&v| v as u32).collect())
            .collect();
        let out = e.encode_text(&ids, 0).unwrap();
        assert_close(
            &format!("{model} last_hidden_state"),
            &out,
            &get(r, "text_encoder.last_hidden_state").values,
            1e-4,
        );
        let skipped = e.encode_text(&ids, 1).unwrap();
        assert_close(
            &format!("{model} clip skip 1"),
            &skipped,
            &get(r, "text_encoder.clip_skip_1").values,
            1e-4,
        );
        // Our tokenizer gives the ids transformers gave.
        assert_eq!(
            e.tokenize("a photograph of an astronaut riding a horse"),
            ids[0]
        );
    }
}

#[test]
fn unet_forward_matches_diffusers() {
    for model in MODELS {
        let e = engine(model);
        let r = reference(model);
        let sample = get(r, "unet.sample");
        let shape: [usize; 4] = sample.shape.clone().try_into().unwrap();
        let timesteps: Vec<f64> = get(r, "unet.timesteps")
            .values
            .iter()
            .map(|&t| f64::from(t))
            .collect();
        let out = e
            .unet_forward(
                &sample.values,
                shape,
                &timesteps,
                &get(r, "unet.encoder_hidden_states").values,
            )
            .unwrap();
        assert_close(
            &format!("{model} unet"),
            &out,
            &get(r, "unet.out").values,
            2e-4,
        );
    }
}

#[test]
fn vae_decode_and_encode_match_diffusers() {
    for model in MODELS {
        let e = engine(model);
        let r = reference(model);
        let latents = get(r, "vae.decode.latents");
        let out = e
            .vae_decode(&latents.values, latents.shape.clone().try_into().unwrap())
            .unwrap();
        assert_close(
            &format!("{model} vae decode"),
            &out,
            &get(r, "vae.decode.out").values,
            2e-4,
        );
        let image = get(r, "vae.encode.image");
        let (mean, std) = e
            .vae_encode(&image.values, image.shape.clone().try_into().unwrap())
            .unwrap();
        assert_close(
            &format!("{model} vae encode mean"),
            &mean,
            &get(r, "vae.encode.mean").values,
            2e-4,
        );
        assert_close(
            &format!("{model} vae encode std"),
            &std,
            &get(r, "vae.encode.std").values,
            2e-4,
        );
    }
}
