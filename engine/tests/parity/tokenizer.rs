//! Token ids equal transformers' `CLIPTokenizer` for every fixture prompt, both pad styles.

use engine::stable_diffusion::tokenizer::ClipTokenizer;

use crate::fixtures::{json, model_dir};

fn ids(value: &serde_json::Value) -> Vec<u32> {
    value
        .as_array()
        .expect("id list")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect()
}

#[test]
fn token_ids_match_transformers() {
    let fixture = json("tokenizer.json");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 30);
    for model in ["tiny-sd1", "tiny-sd2"] {
        let tokenizer =
            ClipTokenizer::from_dir(&model_dir(model).join("tokenizer")).expect("tokenizer loads");
        assert_eq!(tokenizer.vocab_size(), 49408);
        for case in cases {
            let text = case["text"].as_str().expect("text");
            assert_eq!(
                tokenizer.encode(text),
                ids(&case["ids"][model]),
                "{model}: padded ids of {text:?}"
            );
            assert_eq!(
                tokenizer.encode_unpadded(text),
                ids(&case["unpadded_ids"][model]),
                "{model}: unpadded ids of {text:?}"
            );
        }
    }
}

#[test]
fn pad_tokens_follow_the_folder() {
    let sd1 = ClipTokenizer::from_dir(&model_dir("tiny-sd1").join("tokenizer")).unwrap();
    let sd2 = ClipTokenizer::from_dir(&model_dir("tiny-sd2").join("tokenizer")).unwrap();
    assert_eq!(sd1.pad_id(), 49407);
    assert_eq!(sd2.pad_id(), 0);
    assert_eq!(sd1.model_max_length(), 77);
}

#[test]
fn missing_or_broken_files_are_errors() {
    let dir = tempdir();
    let err = ClipTokenizer::from_dir(&dir)
        .err()
        .expect("empty folder fails")
        .to_string();
    assert!(err.contains("vocab.json"), "{err}");
    let source = model_dir("tiny-sd1").join("tokenizer");
    std::fs::copy(source.join("merges.txt"), dir.join("merges.txt")).unwrap();
    std::fs::write(dir.join("vocab.json"), "[1, 2, 3]").unwrap();
    let err = ClipTokenizer::from_dir(&dir)
        .err()
        .expect("bad vocab fails")
        .to_string();
    assert!(err.contains("vocab.json"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ss-tok-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
