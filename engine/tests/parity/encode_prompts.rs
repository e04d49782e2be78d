//! `Engine::encode_prompts` returns the text encoder's positive conditioning: the same values
//! transformers computed for the fixture prompts (last layer and clip skip 1), independent of
//! how the prompts are chunked, and exactly what encoding the tokenizer's ids gives.

use crate::fixtures::{assert_close, engine, get, reference};

const MODELS: [&str; 2] = ["tiny-sd1", "tiny-sd2"];

#[test]
fn encode_prompts_matches_the_text_encoder_fixture() {
    for model in MODELS {
        let e = engine(model);
        let r = reference(model);
        // The fixture's prompts, in its order (reference.json: text_encoder.prompts).
        let prompts = vec![
            "a photograph of an astronaut riding a horse".to_string(),
            String::new(),
        ];
        for (clip_skip, key) in [
            (0, "text_encoder.last_hidden_state"),
            (1, "text_encoder.clip_skip_1"),
        ] {
            let encoded = e.encode_prompts(&prompts, clip_skip).unwrap();
            assert_eq!(encoded.seq_len, 77, "{model}");
            assert_eq!(encoded.hidden, e.info().hidden_size, "{model}");
            assert_eq!(encoded.values.len(), 2, "{model}");
            let flat: Vec<f32> = encoded.values.concat();
            assert_close(
                &format!("{model} encode_prompts clip skip {clip_skip}"),
                &flat,
                &get(r, key).values,
                1e-4,
            );
        }
    }
}

#[test]
fn encode_prompts_is_independent_of_chunking_and_equals_encode_text() {
    let e = engine("tiny-sd1");
    // More than one chunk of eight.
    let prompts: Vec<String> = (0..11)
        .map(|k| format!("a cat, variant number {k}"))
        .collect();
    let all = e.encode_prompts(&prompts, 0).unwrap();
    assert_eq!(all.values.len(), prompts.len());
    for (k, prompt) in prompts.iter().enumerate() {
        let alone = e.encode_prompts(std::slice::from_ref(prompt), 0).unwrap();
        assert_close(
            &format!("prompt {k} batched vs alone"),
            &all.values[k],
            &alone.values[0],
            1e-5,
        );
        let direct = e.encode_text(&[e.tokenize(prompt)], 0).unwrap();
        assert_eq!(
            alone.values[0], direct,
            "prompt {k}: same path as encode_text"
        );
    }
    // Different prompts give different conditioning (the comparison above can fail).
    assert_ne!(all.values[0], all.values[1]);
    assert!(matches!(
        e.encode_prompts(&prompts, 5),
        Err(engine::EngineError::InvalidRequest { .. })
    ));
    assert!(e.encode_prompts(&[], 0).unwrap().values.is_empty());
}
